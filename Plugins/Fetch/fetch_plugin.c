/*
 * The Fetch capability plugin: gives guests `fetch`, `Headers` and `Response`, gated by the
 * "fetch" policy category.
 *
 * Operation "request" (the prelude's host.call("request", request, body)):
 *   request    {"url": "https://api.example.com/x", "method": "GET", "headers": [["name", "value"], ...]}
 *   bytes      the request body, when there is one
 *   policy     {"operation": "fetch", "url": "<normalised URL>", "method": "GET",
 *              "headers": {"lowercased-name": "value", ...} (the guest's own, repeats joined with ", "),
 *              "url_parsed": {"scheme", "host", "port", "path", "query" (without '?', "" when none)}}
 *              and, for each redirect, the same document for the next hop (host->check_policy)
 *   completion {"status": 200, "statusText": "OK", "url": "<final URL>", "redirected": false,
 *              "headers": [["name", "value"], ...]} and the response body as bytes
 *
 * Settings (--plugin-config fetch.KEY=VALUE), per capability set (ABI 1.1 `open_set`: each tenant its own):
 *   max_response_bytes  most bytes of response headers and body per hop (default 10485760, at most 1 GiB)
 *   timeout_ms          most time for the whole request, redirects included (default 30000, at most a day)
 *   header_rules        headers the operator adds for some hosts, kept out of policy input, logs
 *                       and errors: [{"host": "api.example.com" | "*.example.com",
 *                       "methods": ["GET", ...] (optional), "headers": {"Name": "value"}}]
 *                       (the server builds it from --fetch-header and --fetch-header-config)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "fetch_internal.h"
#include "plugin_jobs.h"

static const char prelude[] = {
#embed "fetch_prelude.js"
    , 0};

#define DEFAULT_MAX_RESPONSE_BYTES 10485760
#define MOST_MAX_RESPONSE_BYTES 1073741824 /* a response is held in memory, then copied into the isolate */
#define DEFAULT_TIMEOUT_MS 30000
#define MOST_TIMEOUT_MS 86400000

/* ---- requests ---- */

static int request_policy_input(void *plugin_state, const char *request_json, size_t request_length, char **input,
                                 char **error) {
  (void)plugin_state;
  fetch_request request;
  *input = NULL;
  if (fetch_request_parse(request_json, request_length, &request, error) != 0) return 1;
  *input = fetch_policy_input(&request);
  fetch_request_free(&request);
  if (*input) return 0;
  *error = strdup("fetch: out of memory");
  return 1;
}

typedef struct {
  plugin_job base; /* first: the registry casts it back */
  fetch_state *state;
  const fetch_settings *settings; /* of the run's capability set */
  fetch_request request;
  unsigned char *body;
  size_t body_length;
} transfer_job;

/* Transfers take seconds, so each runs on a thread of its own and `start` returns at once. */
static plugin_jobs transfers = PLUGIN_JOBS_INITIALIZER;

static void free_transfer(plugin_job *base) {
  transfer_job *job = (transfer_job *)base;
  fetch_request_free(&job->request);
  free(job->body);
  free(job);
}

static void run_transfer(plugin_job *base) {
  transfer_job *job = (transfer_job *)base;
  fetch_transfer_run(job->state, job->settings, base->call, &job->request, job->body, job->body_length, &base->cancelled);
}

/* The run that asked for `call` ended: its transfer stops at curl's next progress check. */
static void request_cancel(void *plugin_state, mcpv8_call *call) {
  (void)plugin_state;
  plugin_jobs_cancel(&transfers, call);
}

static void request_start(void *plugin_state, mcpv8_call *call, const char *request_json, size_t request_length,
                          const uint8_t *bytes, size_t bytes_length) {
  fetch_state *state = plugin_state;
  plugin_jobs_join_finished(&transfers);
  transfer_job *job = calloc(1, sizeof *job);
  if (!job) {
    state->host->fail(call, NULL, "fetch: out of memory");
    return;
  }
  *job = (transfer_job){.base = {.call = call, .run = run_transfer, .destroy = free_transfer},
                        .state = state,
                        .settings = state->host->call_set_state(call),
                        .body_length = bytes_length};
  char *error = NULL;
  const char *error_code = NULL;
  bool parsed = fetch_request_parse(request_json, request_length, &job->request, &error) == 0;
  if (parsed && bytes_length > 0 &&
      (strcmp(job->request.method, "GET") == 0 || strcmp(job->request.method, "HEAD") == 0)) {
    error = plugin_format("fetch: a %s request cannot have a body", job->request.method);
    error_code = "EINVAL";
  } else if (parsed && (bytes_length == 0 || (job->body = malloc(bytes_length)))) {
    if (bytes_length > 0) memcpy(job->body, bytes, bytes_length);
    int started = plugin_jobs_start(&transfers, &job->base);
    if (started == 0) return;
    error = plugin_format("fetch: could not start the transfer: %s", strerror(started));
  }
  state->host->fail(call, error_code, error ? error : "fetch: out of memory");
  free(error);
  free_transfer(&job->base);
}

static const mcpv8_operation operations[] = {
    {.size = sizeof(mcpv8_operation),
     .name = "request",
     .policy_input = request_policy_input,
     .start = request_start,
     .cancel = request_cancel},
};

/* ---- the plugin ---- */

static const char *const globals[] = {"fetch", "Headers", "Response"};

static fetch_state plugin_state;

static void release(void *plugin_owned) { free(plugin_owned); }

/* Stops transfers in flight (they fail with "shutting down") and waits for their threads. */
static void shutdown_plugin(void *state_pointer) {
  fetch_state *state = state_pointer;
  atomic_store(&state->stopping, true);
  plugin_jobs_stop(&transfers);
  curl_global_cleanup();
}

/* Each capability set (a tenant's) has its own limits and header rules, read and checked here once;
 * they live as long as the process. */
static int open_set(void *state_pointer, const mcpv8_set *set, void **set_state, char *error, size_t error_capacity) {
  const mcpv8_host_api *host = ((fetch_state *)state_pointer)->host;
  unsigned long long max_response_bytes, timeout_ms;
  if (!plugin_read_setting(host, set, FETCH_PLUGIN_NAME, "max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES,
                           MOST_MAX_RESPONSE_BYTES, &max_response_bytes, error, error_capacity) ||
      !plugin_read_setting(host, set, FETCH_PLUGIN_NAME, "timeout_ms", DEFAULT_TIMEOUT_MS, MOST_TIMEOUT_MS,
                           &timeout_ms, error, error_capacity)) {
    return 1;
  }
  fetch_settings *settings = calloc(1, sizeof *settings);
  if (!settings) {
    snprintf(error, error_capacity, "fetch: out of memory");
    return 1;
  }
  *settings = (fetch_settings){.max_response_bytes = (size_t)max_response_bytes, .timeout_ms = (long)timeout_ms};
  char *rules_json = host->set_config_host_owned(set, "header_rules");
  char *rules_error = NULL;
  int rules_read = rules_json ? fetch_header_rules_parse(rules_json, &settings->header_rules,
                                                         &settings->header_rule_count, &rules_error)
                              : 0;
  host->release(rules_json);
  if (rules_read != 0) {
    snprintf(error, error_capacity, "%s", rules_error);
    free(rules_error);
    free(settings);
    return 1;
  }
  *set_state = settings;
  return 0;
}

static const mcpv8_plugin descriptor = {
    .size = sizeof(mcpv8_plugin),
    .abi_major = MCPV8_ABI_MAJOR,
    .abi_minor = MCPV8_ABI_MINOR,
    .name = FETCH_PLUGIN_NAME,
    .version = "1.0.0",
    .category = "fetch",
    .globals = globals,
    .global_count = sizeof globals / sizeof *globals,
    .prelude_js = prelude,
    .operations = operations,
    .operation_count = sizeof operations / sizeof *operations,
    .state = &plugin_state,
    .release = release,
    .shutdown = shutdown_plugin,
    .usage = "fetch(url, {method, headers, body}?) -> Promise<Response> (status, ok, headers.get(name), text(), json(), "
             "arrayBuffer()), redirects followed; Headers and Response as in browsers",
    .open_set = open_set,
};

const mcpv8_plugin *mcpv8_plugin_entry(const mcpv8_host_api *host, char *error, size_t error_capacity) {
  if (!plugin_host_is_complete(host, FETCH_PLUGIN_NAME, error, error_capacity) ||
      !plugin_host_has_sets(host, FETCH_PLUGIN_NAME, error, error_capacity)) {
    return NULL;
  }
  plugin_state = (fetch_state){.host = host};
  CURLcode initialised = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (initialised != CURLE_OK) {
    snprintf(error, error_capacity, "fetch: libcurl could not start: %s", curl_easy_strerror(initialised));
    return NULL;
  }
  return &descriptor;
}
