#include "build_info.h"

// Release builds look for the file scripts/stamp-commit writes into the git-ignored .build/release-info
// (Package.swift adds that folder to the #embed path for release only). It changes only with the commit,
// so an unchanged commit rebuilds nothing; a debug build, or one without git, says "unknown".
#if __has_embed("git-commit") == __STDC_EMBED_FOUND__
static const char commit[] = {
#embed "git-commit"
    , 0};
#else
static const char commit[] = "unknown";
#endif

const char *mcpv8_git_commit(void) { return commit; }
