#include "mcpv8_docs.h"

// #embed paths are relative to the package folder (--embed-dir in Package.swift).
static const char readme[] = {
#embed "README.md"
    , 0};
static const char policies[] = {
#embed "docs/policies.md"
    , 0};
static const char configuration[] = {
#embed "docs/configuration.md"
    , 0};

const char *mcpv8_doc_readme(void) { return readme; }
const char *mcpv8_doc_policies(void) { return policies; }
const char *mcpv8_doc_configuration(void) { return configuration; }
