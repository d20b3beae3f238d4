/* URLs as libcurl will use them, and transfers held to them: what the Fetch and Modules plugins
 * share. A URL is parsed and rewritten with libcurl's own URL API, so the host, port and path a
 * policy judges are the ones curl connects to and asks for: `http://2130706433/` and
 * `http://0x7f.1/` reach the policy as 127.0.0.1. */
#ifndef MCPV8_PLUGIN_URL_H
#define MCPV8_PLUGIN_URL_H

#include <arpa/inet.h>
#include <stdbool.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

/* A URL as curl will use it: http or https, no credentials, no fragment, lowercase host, IPv4 in
 * any notation and IPv4-mapped IPv6 written as dotted IPv4, dot segments removed. */
typedef struct {
  char *href;
  char *scheme;
  char *host; /* IPv6 without brackets */
  long port;
  char *path;
  char *query; /* without '?'; "" when none */
} plugin_url;

/* Parses `text`, relative to `base_href` when that is not NULL (RFC 3986). Returns 0, or non-zero
 * and a malloc'd message in *error that starts with `error_prefix` ("fetch: ") and, when it
 * refuses a user name or password in the URL, ends with `credentials_advice` (may be ""). */
int plugin_url_parse(const char *text, const char *base_href, const char *error_prefix, const char *credentials_advice,
                     plugin_url *url, char **error);
void plugin_url_free(plugin_url *url);

/* A host name or address as plugin_url's `host` has it (lowercase; IPv6 canonical and without
 * brackets, IPv4-mapped IPv6 as IPv4; no trailing dot), for comparing configured hosts with
 * URLs. Malloc'd; NULL when out of memory. */
char *plugin_url_canonical_host(const char *host);

/* The "url_parsed" object of policy input documents: {"scheme", "host", "port", "path",
 * "query"}. NULL when out of memory. */
cJSON *plugin_url_parsed_json(const plugin_url *url);

/* Where a transfer's connections may lead. Link-local addresses and cloud metadata services are
 * what server-side request forgery aims at: one is only connected to when the URL names it
 * literally, since then the policy saw it. */
typedef struct {
  const plugin_url *url; /* the URL being fetched */
  char refused_address[INET6_ADDRSTRLEN]; /* set when a connection was refused */
} plugin_connection_guard;

/* Holds `easy` (after curl_easy_reset) to what the policy judged: http and https only, no proxy
 * from the environment (the address checked would not be the one connected to), every
 * connection checked by `guard`; and no signals, as plugins run on the host's threads. */
void plugin_curl_restrict(CURL *easy, plugin_connection_guard *guard);

#endif
