#ifndef MCPV8_DOCS_H
#define MCPV8_DOCS_H

// The documents the server hands agents as MCP resources (docs://...), compiled into the binary
// so a server installed without the repository still has them. Each is NUL-terminated UTF-8.
const char *mcpv8_doc_readme(void);
const char *mcpv8_doc_policies(void);
const char *mcpv8_doc_configuration(void);

#endif
