/* Compiles the ABI header as plain C11 and pins what the ABI promises about layout: every struct
 * starts with its size, so a reader can tell how much of it its maker knew. */
#include <stddef.h>

#include "mcpv8_capability.h"

_Static_assert(offsetof(mcpv8_host_api, size) == 0, "mcpv8_host_api must begin with its size");
_Static_assert(offsetof(mcpv8_operation, size) == 0, "mcpv8_operation must begin with its size");
_Static_assert(offsetof(mcpv8_plugin, size) == 0, "mcpv8_plugin must begin with its size");
