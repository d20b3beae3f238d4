/*
 * What the Fetch plugin's three files share: fetch_request.c turns the prelude's request into
 * something checked and canonical (and into the policy input), fetch_transfer.c carries it out
 * with libcurl, fetch_plugin.c ties both to the host.
 */
#ifndef FETCH_INTERNAL_H
#define FETCH_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "mcpv8_capability.h"
#include "plugin_support.h"
#include "plugin_url.h"

#define FETCH_PLUGIN_NAME "fetch"

/* A header name is lowercased; values never hold CR, LF or NUL. */
typedef struct {
  char *name;
  char *value;
} fetch_header;

typedef struct {
  fetch_header *items;
  size_t count;
} fetch_header_list;

typedef struct {
  plugin_url url;
  char *method;
  fetch_header_list headers; /* the guest's own, in its order */
} fetch_request;

/* Operator-configured headers added to requests for matching hosts (config key header_rules). */
typedef struct {
  char *host_pattern; /* "api.example.com", or "*.example.com" for it and its subdomains */
  char **methods;     /* uppercase; none means every method */
  size_t method_count;
  fetch_header_list headers;
} fetch_header_rule;

/* The settings of one capability set (one per tenant), read by `open_set`; a call finds its run's
 * with host->call_set_state. */
typedef struct {
  fetch_header_rule *header_rules;
  size_t header_rule_count;
  size_t max_response_bytes;
  long timeout_ms;
} fetch_settings;

typedef struct {
  const mcpv8_host_api *host;
  /* Set by shutdown before it cancels the transfers in flight: they fail as shutting down. */
  atomic_bool stopping;
} fetch_state;

/* What fetch's refusals of a URL with a user name or password add. */
#define FETCH_CREDENTIALS_ADVICE "; send credentials in an Authorization header"

/* Each returns 0, or non-zero and a malloc'd message for the guest in *error. */
int fetch_request_parse(const char *json, size_t length, fetch_request *request, char **error);
int fetch_header_rules_parse(const char *json, fetch_header_rule **rules, size_t *count, char **error);

void fetch_request_free(fetch_request *request);
void fetch_header_rules_free(fetch_header_rule *rules, size_t count);
void fetch_header_list_free(fetch_header_list *list);

/* Adds a copy of name and value; false when out of memory. */
bool fetch_header_list_add(fetch_header_list *list, const char *name, const char *value);
/* The first header called `name` (lowercase), or NULL. */
const fetch_header *fetch_header_list_find(const fetch_header_list *list, const char *name);
void fetch_header_list_remove(fetch_header_list *list, const char *name);

/* The policy input document for `request` (malloc'd JSON text), NULL when out of memory. */
char *fetch_policy_input(const fetch_request *request);

/* The headers the operator's rules add to `request`: those of every rule matching its host and
 * method, except ones the guest set itself. */
bool fetch_injected_headers(const fetch_settings *settings, const fetch_request *request, fetch_header_list *injected);


/* Runs the request (following redirects, each one checked by the policy) and ends `call`; it
 * stops early, failing with ECANCELED, once `cancelled` is set. */
void fetch_transfer_run(fetch_state *state, const fetch_settings *settings, mcpv8_call *call, fetch_request *request,
                        const unsigned char *body, size_t body_length, const atomic_bool *cancelled);

#endif
