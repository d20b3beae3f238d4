/* Helpers the bundled plugins share (linked into each). A third-party plugin needs none of this:
 * mcpv8_capability.h alone is the ABI. */
#ifndef MCPV8_PLUGIN_SUPPORT_H
#define MCPV8_PLUGIN_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "mcpv8_capability.h"

/* Like asprintf; NULL when out of memory. */
char *plugin_format(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Lowercases ASCII letters in place. */
void plugin_lowercase(char *text);

/* Whether `text` is plain ASCII. */
bool plugin_is_ascii(const char *text);

/* False, with a message in `error`, when the host's API table is older than the ABI 1.0 this
 * plugin was built against (it lacks allowed_input). */
bool plugin_host_is_complete(const mcpv8_host_api *host, const char *plugin, char *error, size_t error_capacity);

/* Claims `length` bytes of the run's memory for buffers for `call`'s answer (host->claim_bytes,
 * since ABI 1.1); true when they fit, or when the host is older and counts answers as they end. */
bool plugin_claim_bytes(const mcpv8_host_api *host, mcpv8_call *call, size_t length);

/* False, with a message in `error`, when the host's API table lacks what `open_set` needs
 * (set_config_host_owned and call_set_state, since ABI 1.1). */
bool plugin_host_has_sets(const mcpv8_host_api *host, const char *plugin, char *error, size_t error_capacity);

/* Reads the operator's setting `key` (--plugin-config PLUGIN.KEY=N) as a whole number from 1 to
 * `maximum`, `fallback` when unset; false with a message in `error` when it is something else.
 * From capability set `set` in `open_set`; with `set` NULL, the process-wide one at the entry. */
bool plugin_read_setting(const mcpv8_host_api *host, const mcpv8_set *set, const char *plugin, const char *key,
                         unsigned long long fallback, unsigned long long maximum, unsigned long long *value,
                         char *error, size_t error_capacity);

#endif
