/*
 * Resolving an import's specifier to the URL it is fetched from, and the policy input document.
 * The resolved URL is canonicalised as Fetch's are (plugin_url.h), so the policy judges what curl
 * will ask for.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "modules_internal.h"

#define ALLOWED_FORMS                                                                                                 \
  "use npm:name@version, jsr:@scope/name@version, an http:// or https:// URL, or a path relative to the importing " \
  "module ('./', '../' or '/')"

static bool starts_with(const char *text, const char *prefix) { return strncmp(text, prefix, strlen(prefix)) == 0; }

/* The path of a package on the CDN must stay within it: its segments (up to a query) are neither
 * empty nor dot segments, since the URL's canonical form would remove those and reach another
 * package than the specifier names; '\\', '%2f', '%5c' and '%2e' (which canonicalisation may read
 * as '/' and '.') are refused anywhere in it. */
static bool is_package_path(const char *path) {
  size_t length = strcspn(path, "?#");
  for (size_t at = 0; at < length; at++) {
    bool encoded = at + 3 <= length && (strncasecmp(path + at, "%2e", 3) == 0 || strncasecmp(path + at, "%2f", 3) == 0 ||
                                        strncasecmp(path + at, "%5c", 3) == 0);
    if (path[at] == '\\' || encoded) return false;
  }
  for (size_t start = 0; start <= length;) {
    size_t end = start;
    while (end < length && path[end] != '/') end++;
    size_t size = end - start;
    if (size == 0 || (path[start] == '.' && (size == 1 || (size == 2 && path[start + 1] == '.')))) return false;
    start = end + 1;
  }
  return true;
}

/* A jsr package is always scoped: "@scope/name", then an optional version and path. */
static bool is_scoped_package_path(const char *path) {
  size_t length = strcspn(path, "?#");
  const char *slash = memchr(path, '/', length);
  return path[0] == '@' && slash && slash > path + 1 && slash + 1 < path + length;
}

/* The URL the specifier names before canonicalisation, with the base it is relative to (or
 * NULL). Returns the malloc'd URL text, or NULL with a message in *error (NULL alone when out of
 * memory). */
static char *url_text(const modules_state *state, const char *specifier, const char *referrer, const char *prefix,
                      const char **specifier_type, plugin_url *base, char **error) {
  *specifier_type = "url";
  if (starts_with(specifier, "npm:")) {
    *specifier_type = "npm";
    const char *path = specifier + strlen("npm:");
    if (is_package_path(path)) return plugin_format("%s/%s", state->cdn_url, path);
    *error = plugin_format("%san npm: specifier names a package and a path within it, as npm:name@version/path, "
                           "without empty, '.' or '..' segments", prefix);
    return NULL;
  }
  if (starts_with(specifier, "jsr:")) {
    *specifier_type = "jsr";
    const char *path = specifier + strlen("jsr:");
    if (is_scoped_package_path(path) && is_package_path(path)) return plugin_format("%s/jsr/%s", state->cdn_url, path);
    *error = plugin_format("%sa jsr: specifier names a scoped package, as jsr:@scope/name@version/path, without "
                           "empty, '.' or '..' segments", prefix);
    return NULL;
  }
  if (strncasecmp(specifier, "http://", 7) == 0 || strncasecmp(specifier, "https://", 8) == 0) {
    return strdup(specifier);
  }
  if (!starts_with(specifier, "./") && !starts_with(specifier, "../") && !starts_with(specifier, "/")) {
    *error = plugin_format("%s%s", prefix, ALLOWED_FORMS);
    return NULL;
  }
  if (!referrer) {
    *error = plugin_format("%sa relative import needs an importing module with a URL, and the main program has none",
                           prefix);
    return NULL;
  }
  char *referrer_prefix = plugin_format("%sthe importing module's URL ", prefix);
  if (!referrer_prefix) return NULL;
  bool valid_base = plugin_url_parse(referrer, NULL, referrer_prefix, "", base, error) == 0;
  free(referrer_prefix);
  return valid_base ? strdup(specifier) : NULL;
}

void modules_request_free(modules_request *request) {
  free(request->specifier);
  plugin_url_free(&request->url);
  *request = (modules_request){0};
}

int modules_request_parse(const modules_state *state, const char *json, size_t length, modules_request *request,
                          char **error) {
  *request = (modules_request){0};
  *error = NULL;
  cJSON *root = cJSON_ParseWithLength(json, length);
  const cJSON *specifier = cJSON_GetObjectItemCaseSensitive(root, "specifier");
  const cJSON *referrer = cJSON_GetObjectItemCaseSensitive(root, "referrer");
  if (!cJSON_IsObject(root) || !cJSON_IsString(specifier) || (referrer && !cJSON_IsNull(referrer) &&
                                                              !cJSON_IsString(referrer))) {
    cJSON_Delete(root);
    *error = strdup("modules: the request must be {\"specifier\": string, \"referrer\": string or null}");
    return 1;
  }
  request->specifier = strdup(specifier->valuestring);
  char *prefix = plugin_format("cannot import '%s': ", specifier->valuestring);
  plugin_url base = {0};
  char *text = request->specifier && prefix ? url_text(state, request->specifier, cJSON_GetStringValue(referrer),
                                                       prefix, &request->specifier_type, &base, error)
                                            : NULL;
  bool resolved = text && plugin_url_parse(text, base.href, prefix, "", &request->url, error) == 0;
  free(text);
  plugin_url_free(&base);
  free(prefix);
  cJSON_Delete(root);
  if (!resolved && !*error) *error = strdup("modules: out of memory");
  return resolved ? 0 : 1;
}

char *modules_policy_input(const char *specifier, const char *specifier_type, const plugin_url *url) {
  cJSON *input = cJSON_CreateObject();
  cJSON *parsed = plugin_url_parsed_json(url);
  bool built = input && parsed && cJSON_AddStringToObject(input, "operation", "import") &&
               cJSON_AddStringToObject(input, "specifier", specifier) &&
               cJSON_AddStringToObject(input, "specifier_type", specifier_type) &&
               cJSON_AddStringToObject(input, "resolved_url", url->href) &&
               cJSON_AddItemToObject(input, "url_parsed", parsed);
  if (!built) cJSON_Delete(parsed);
  char *text = built ? cJSON_PrintUnformatted(input) : NULL;
  cJSON_Delete(input);
  return text;
}
