/*
 * Checking and canonicalising what the guest asked for (URLs with plugin_url.h), and the policy
 * input document.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "fetch_internal.h"

/* RFC 9110 token: what header names and methods are made of. */
static bool is_token(const char *text) {
  if (!*text) return false;
  for (; *text; text++) {
    if (!isalnum((unsigned char)*text) && !strchr("!#$%&'*+-.^_`|~", *text)) return false;
  }
  return true;
}

static bool is_header_value(const char *value) { return !strpbrk(value, "\r\n"); }

/* Framing and routing belong to curl and the URL: a script-set Host would reach another virtual
 * host than the one the policy judged, a Content-Length or Transfer-Encoding could smuggle requests. */
static const char *const managed_headers[] = {
    "connection", "content-length", "expect", "host", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
};

static bool is_managed_header(const char *name) {
  for (size_t i = 0; i < sizeof managed_headers / sizeof *managed_headers; i++) {
    if (strcmp(name, managed_headers[i]) == 0) return true;
  }
  return strncmp(name, "proxy-", 6) == 0;
}

/* ---- header lists ---- */

bool fetch_header_list_add(fetch_header_list *list, const char *name, const char *value) {
  fetch_header *items = realloc(list->items, (list->count + 1) * sizeof *items);
  if (!items) return false;
  list->items = items;
  char *name_copy = strdup(name), *value_copy = strdup(value);
  if (!name_copy || !value_copy) {
    free(name_copy);
    free(value_copy);
    return false;
  }
  plugin_lowercase(name_copy);
  items[list->count++] = (fetch_header){name_copy, value_copy};
  return true;
}

const fetch_header *fetch_header_list_find(const fetch_header_list *list, const char *name) {
  for (size_t i = 0; i < list->count; i++) {
    if (strcmp(list->items[i].name, name) == 0) return &list->items[i];
  }
  return NULL;
}

void fetch_header_list_remove(fetch_header_list *list, const char *name) {
  size_t kept = 0;
  for (size_t i = 0; i < list->count; i++) {
    if (strcmp(list->items[i].name, name) == 0) {
      free(list->items[i].name);
      free(list->items[i].value);
    } else {
      list->items[kept++] = list->items[i];
    }
  }
  list->count = kept;
}

void fetch_header_list_free(fetch_header_list *list) {
  for (size_t i = 0; i < list->count; i++) {
    free(list->items[i].name);
    free(list->items[i].value);
  }
  free(list->items);
  *list = (fetch_header_list){0};
}

/* ---- requests ---- */

/* The Fetch Standard's normalised methods (and PATCH, which servers expect uppercase too) are
 * uppercased; others are sent as written. */
static const char *const normalised_methods[] = {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"};
static const char *const forbidden_methods[] = {"CONNECT", "TRACE", "TRACK"};

static char *checked_method(const char *method, char **error) {
  if (!is_token(method)) {
    *error = plugin_format("fetch: \"%s\" is not a valid HTTP method; a method is a token such as GET, POST or "
                          "PATCH", method);
    return NULL;
  }
  for (size_t i = 0; i < sizeof forbidden_methods / sizeof *forbidden_methods; i++) {
    if (strcasecmp(method, forbidden_methods[i]) == 0) {
      *error = plugin_format("fetch: the %s method is not allowed", forbidden_methods[i]);
      return NULL;
    }
  }
  for (size_t i = 0; i < sizeof normalised_methods / sizeof *normalised_methods; i++) {
    if (strcasecmp(method, normalised_methods[i]) == 0) return strdup(normalised_methods[i]);
  }
  return strdup(method);
}

static char *header_error(const char *name, const char *value) {
  if (!is_token(name)) return plugin_format("fetch: \"%s\" is not a valid header name; a name is a token such as "
                                           "X-Api-Key", name);
  if (!is_header_value(value)) return plugin_format("fetch: the value of header \"%s\" contains CR, LF or NUL, "
                                                   "which header values may not", name);
  return NULL;
}

static bool read_guest_headers(const cJSON *json, fetch_header_list *headers, char **error) {
  if (!json) return true;
  if (!cJSON_IsArray(json)) {
    *error = strdup("fetch: request.headers must be an array of [name, value] pairs");
    return false;
  }
  const cJSON *pair;
  cJSON_ArrayForEach(pair, json) {
    const cJSON *name = cJSON_GetArrayItem(pair, 0), *value = cJSON_GetArrayItem(pair, 1);
    if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 || !cJSON_IsString(name) || !cJSON_IsString(value)) {
      *error = strdup("fetch: request.headers must be an array of [name, value] pairs of strings");
      return false;
    }
    if ((*error = header_error(name->valuestring, value->valuestring))) return false;
    if (!fetch_header_list_add(headers, name->valuestring, value->valuestring)) return false;
    const char *added = headers->items[headers->count - 1].name;
    if (is_managed_header(added)) {
      *error = plugin_format("fetch: the header \"%s\" cannot be set: the HTTP client derives it from the URL and "
                            "body (nor can Connection, Content-Length, Expect, Keep-Alive, TE, Trailer, "
                            "Transfer-Encoding, Upgrade or Proxy-*)", added);
      return false;
    }
  }
  return true;
}

void fetch_request_free(fetch_request *request) {
  plugin_url_free(&request->url);
  free(request->method);
  fetch_header_list_free(&request->headers);
  *request = (fetch_request){0};
}

int fetch_request_parse(const char *json, size_t length, fetch_request *request, char **error) {
  *request = (fetch_request){0};
  *error = NULL;
  cJSON *root = cJSON_ParseWithLength(json, length);
  const cJSON *url = cJSON_GetObjectItemCaseSensitive(root, "url");
  const cJSON *method = cJSON_GetObjectItemCaseSensitive(root, "method");
  bool parsed = false;
  if (!cJSON_IsObject(root) || !cJSON_IsString(url) || (method && !cJSON_IsString(method))) {
    *error = strdup("fetch: the request must be {\"url\": string, \"method\": string, \"headers\": [[name, value], "
                    "...]}");
  } else if (plugin_url_parse(url->valuestring, NULL, "fetch: ", FETCH_CREDENTIALS_ADVICE, &request->url, error) == 0) {
    request->method = method ? checked_method(method->valuestring, error) : strdup("GET");
    parsed = request->method &&
             read_guest_headers(cJSON_GetObjectItemCaseSensitive(root, "headers"), &request->headers, error);
  }
  cJSON_Delete(root);
  if (!parsed) {
    fetch_request_free(request);
    if (!*error) *error = strdup("fetch: out of memory");
  }
  return parsed ? 0 : 1;
}

/* ---- policy input ---- */

char *fetch_policy_input(const fetch_request *request) {
  cJSON *input = cJSON_CreateObject();
  cJSON *headers = cJSON_AddObjectToObject(input, "headers");
  cJSON *parsed = plugin_url_parsed_json(&request->url);
  bool parsed_added = parsed && cJSON_AddItemToObject(input, "url_parsed", parsed);
  if (!parsed_added) cJSON_Delete(parsed);
  char *text = NULL;
  bool built = cJSON_AddStringToObject(input, "operation", "fetch") &&
               cJSON_AddStringToObject(input, "url", request->url.href) &&
               cJSON_AddStringToObject(input, "method", request->method) && headers && parsed_added;
  /* Repeated headers are joined with ", " as HTTP allows and Headers.get shows them. */
  for (size_t i = 0; built && i < request->headers.count; i++) {
    const fetch_header *header = &request->headers.items[i];
    cJSON *earlier = cJSON_GetObjectItemCaseSensitive(headers, header->name);
    char *joined = earlier ? plugin_format("%s, %s", earlier->valuestring, header->value) : NULL;
    const char *value = earlier ? joined : header->value;
    cJSON *item = value ? cJSON_CreateString(value) : NULL;
    built = item && (earlier ? cJSON_ReplaceItemInObjectCaseSensitive(headers, header->name, item)
                             : cJSON_AddItemToObject(headers, header->name, item));
    if (!built) cJSON_Delete(item);
    free(joined);
  }
  if (built) text = cJSON_PrintUnformatted(input);
  cJSON_Delete(input);
  return text;
}

/* ---- operator header rules ---- */

void fetch_header_rules_free(fetch_header_rule *rules, size_t count) {
  for (size_t i = 0; i < count; i++) {
    free(rules[i].host_pattern);
    for (size_t m = 0; m < rules[i].method_count; m++) free(rules[i].methods[m]);
    free(rules[i].methods);
    fetch_header_list_free(&rules[i].headers);
  }
  free(rules);
}

/* Reads rule `index` into `rule`. On failure *error is a message that never quotes a header value
 * (they are secrets), or NULL when out of memory. */
static bool read_header_rule(const cJSON *json, size_t index, fetch_header_rule *rule, char **error) {
  const cJSON *host = cJSON_GetObjectItemCaseSensitive(json, "host");
  const cJSON *methods = cJSON_GetObjectItemCaseSensitive(json, "methods");
  const cJSON *headers = cJSON_GetObjectItemCaseSensitive(json, "headers");
  if (!cJSON_IsObject(json) || !cJSON_IsString(host) || !*host->valuestring || !cJSON_IsObject(headers) ||
      (methods && !cJSON_IsArray(methods))) {
    *error = plugin_format("fetch: header rule %zu must be {\"host\": \"api.example.com\" or \"*.example.com\", "
                          "\"methods\": [\"GET\", ...] (optional), \"headers\": {\"Name\": \"value\"}}", index + 1);
    return false;
  }
  if (!plugin_is_ascii(host->valuestring)) {
    *error = plugin_format("fetch: header rule %zu has host \"%s\"; write host names in ASCII (xn-- for "
                          "international ones)", index + 1, host->valuestring);
    return false;
  }
  rule->host_pattern = plugin_url_canonical_host(host->valuestring);
  if (!rule->host_pattern) return false;
  rule->methods = calloc((size_t)cJSON_GetArraySize(methods) + 1, sizeof *rule->methods);
  if (!rule->methods) return false;
  const cJSON *method;
  cJSON_ArrayForEach(method, methods) {
    if (!cJSON_IsString(method) || !is_token(method->valuestring)) {
      *error = plugin_format("fetch: header rule %zu: methods must be HTTP method names such as \"GET\"", index + 1);
      return false;
    }
    char *upper = strdup(method->valuestring);
    if (!upper) return false;
    for (char *c = upper; *c; c++) *c = (char)toupper((unsigned char)*c);
    rule->methods[rule->method_count++] = upper;
  }
  const cJSON *header;
  cJSON_ArrayForEach(header, headers) {
    if (!cJSON_IsString(header) || !is_token(header->string) || !is_header_value(header->valuestring)) {
      *error = plugin_format("fetch: header rule %zu: header \"%s\" needs a token name and a string value without "
                            "CR or LF", index + 1, header->string);
      return false;
    }
    if (!fetch_header_list_add(&rule->headers, header->string, header->valuestring)) return false;
  }
  return true;
}

int fetch_header_rules_parse(const char *json, fetch_header_rule **rules, size_t *count, char **error) {
  *rules = NULL;
  *count = 0;
  *error = NULL;
  cJSON *root = cJSON_Parse(json);
  if (!cJSON_IsArray(root)) {
    cJSON_Delete(root);
    *error = strdup("fetch: header_rules must be a JSON array of {\"host\", \"methods\", \"headers\"} rules");
    return 1;
  }
  *rules = calloc((size_t)cJSON_GetArraySize(root) + 1, sizeof **rules);
  bool complete = *rules != NULL;
  const cJSON *rule;
  cJSON_ArrayForEach(rule, root) {
    if (!complete) break;
    complete = read_header_rule(rule, *count, &(*rules)[*count], error);
    (*count)++;
  }
  cJSON_Delete(root);
  if (!complete) {
    fetch_header_rules_free(*rules, *count);
    *rules = NULL;
    *count = 0;
    if (!*error) *error = strdup("fetch: out of memory reading header_rules");
  }
  return complete ? 0 : 1;
}

static bool host_matches(const char *pattern, const char *host) {
  if (strncmp(pattern, "*.", 2) != 0) return strcmp(pattern, host) == 0;
  const char *domain = pattern + 2;
  size_t host_length = strlen(host), domain_length = strlen(domain);
  if (host_length == domain_length) return strcmp(host, domain) == 0;
  return host_length > domain_length && host[host_length - domain_length - 1] == '.' &&
         strcmp(host + host_length - domain_length, domain) == 0;
}

static bool method_matches(const fetch_header_rule *rule, const char *method) {
  if (rule->method_count == 0) return true;
  for (size_t i = 0; i < rule->method_count; i++) {
    if (strcasecmp(rule->methods[i], method) == 0) return true;
  }
  return false;
}

bool fetch_injected_headers(const fetch_settings *settings, const fetch_request *request, fetch_header_list *injected) {
  *injected = (fetch_header_list){0};
  for (size_t r = 0; r < settings->header_rule_count; r++) {
    const fetch_header_rule *rule = &settings->header_rules[r];
    if (!host_matches(rule->host_pattern, request->url.host) || !method_matches(rule, request->method)) continue;
    for (size_t h = 0; h < rule->headers.count; h++) {
      const fetch_header *header = &rule->headers.items[h];
      if (fetch_header_list_find(&request->headers, header->name) || fetch_header_list_find(injected, header->name)) {
        continue;
      }
      if (!fetch_header_list_add(injected, header->name, header->value)) {
        fetch_header_list_free(injected);
        return false;
      }
    }
  }
  return true;
}
