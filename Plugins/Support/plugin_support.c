#define _GNU_SOURCE
#include "plugin_support.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

char *plugin_format(const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  char *text = NULL;
  if (vasprintf(&text, format, arguments) < 0) text = NULL;
  va_end(arguments);
  return text;
}

void plugin_lowercase(char *text) {
  for (; *text; text++) *text = (char)tolower((unsigned char)*text);
}

bool plugin_is_ascii(const char *text) {
  for (; *text; text++) {
    if ((unsigned char)*text >= 0x80) return false;
  }
  return true;
}

bool plugin_host_is_complete(const mcpv8_host_api *host, const char *plugin, char *error, size_t error_capacity) {
  const size_t needed = offsetof(mcpv8_host_api, allowed_input) + sizeof host->allowed_input;
  if (host->size >= needed) return true;
  snprintf(error, error_capacity, "%s: the host's API table has %zu bytes, this plugin needs the %zu of ABI %d.%d",
           plugin, host->size, needed, MCPV8_ABI_MAJOR, MCPV8_ABI_MINOR);
  return false;
}

bool plugin_claim_bytes(const mcpv8_host_api *host, mcpv8_call *call, size_t length) {
  bool offered = host->size >= offsetof(mcpv8_host_api, claim_bytes) + sizeof host->claim_bytes && host->claim_bytes;
  return !offered || host->claim_bytes(call, length) == 0;
}

bool plugin_host_has_sets(const mcpv8_host_api *host, const char *plugin, char *error, size_t error_capacity) {
  const size_t needed = offsetof(mcpv8_host_api, call_set_state) + sizeof host->call_set_state;
  if (host->size >= needed && host->set_config_host_owned && host->call_set_state) return true;
  snprintf(error, error_capacity, "%s: the host's API table has %zu bytes, this plugin needs the %zu of ABI 1.1 "
           "(capability sets)", plugin, host->size, needed);
  return false;
}

bool plugin_read_setting(const mcpv8_host_api *host, const mcpv8_set *set, const char *plugin, const char *key,
                         unsigned long long fallback, unsigned long long maximum, unsigned long long *value,
                         char *error, size_t error_capacity) {
  char *text = set ? host->set_config_host_owned(set, key) : host->config_host_owned(plugin, key);
  *value = fallback;
  if (!text) return true;
  char *end = NULL;
  errno = 0;
  unsigned long long parsed = strtoull(text, &end, 10);
  bool valid = *text >= '0' && *text <= '9' && *end == '\0' && errno == 0 && parsed >= 1 && parsed <= maximum;
  if (valid) {
    *value = parsed;
  } else {
    snprintf(error, error_capacity, "%s: --plugin-config %s.%s must be a whole number from 1 to %llu, not \"%s\"",
             plugin, plugin, key, maximum, text);
  }
  host->release(text);
  return valid;
}
