#ifndef MCPV8_BUILD_INFO_H
#define MCPV8_BUILD_INFO_H

/// The git commit a release build was made from (scripts/stamp-commit), or "unknown".
const char *mcpv8_git_commit(void);

#endif
