/*
 * Carrying out a checked request with libcurl, one hop at a time: curl never follows redirects
 * itself, so every hop's URL goes through the policy first, and the operator's headers are
 * worked out again for every hop's host.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "plugin_io.h"

#include "fetch_internal.h"

/* As the Fetch Standard; browsers and Node stop at the same count. */
#define MAX_REDIRECTS 20

typedef struct {
  fetch_state *state;
  const fetch_settings *settings;
  mcpv8_call *call;
  /* Set once the run that asked for the request has ended, or at shutdown. */
  const atomic_bool *cancelled;
  plugin_connection_guard guard;
  /* The response, as it arrives: header lines and body bytes both count towards the size limit. */
  char *status_text;
  fetch_header_list headers;
  unsigned char *body;
  size_t body_length, body_capacity;
  size_t received;
  bool body_started, too_large;
  /* The body did not fit in the run's memory for buffers (host->claim_bytes refused it). */
  bool beyond_run_memory;
  char curl_error[CURL_ERROR_SIZE];
} hop;

static void hop_free(hop *response) {
  free(response->status_text);
  fetch_header_list_free(&response->headers);
  free(response->body);
}

/* ---- reading the response ---- */

/* Header bytes are Latin-1 to HTTP (and to Headers in browsers); JSON needs UTF-8. */
static char *utf8_from_latin1(const char *bytes, size_t length) {
  char *text = malloc(2 * length + 1), *out = text;
  if (!text) return NULL;
  for (size_t i = 0; i < length; i++) {
    unsigned char byte = (unsigned char)bytes[i];
    if (byte < 0x80) {
      *out++ = (char)byte;
    } else {
      *out++ = (char)(0xc0 | byte >> 6);
      *out++ = (char)(0x80 | (byte & 0x3f));
    }
  }
  *out = '\0';
  return text;
}

static bool count_received(hop *response, size_t length) {
  response->received += length;
  response->too_large = response->received > response->settings->max_response_bytes;
  return !response->too_large;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* "HTTP/1.1 404 Not Found" gives "Not Found"; HTTP/2 has no reason phrase. */
static bool read_status_line(hop *response, const char *line, size_t length) {
  size_t at = 0;
  while (at < length && !is_blank(line[at])) at++;
  while (at < length && is_blank(line[at])) at++;
  while (at < length && !is_blank(line[at])) at++;
  if (at < length) at++;
  fetch_header_list_free(&response->headers);
  free(response->status_text);
  response->status_text = utf8_from_latin1(line + at, length - at);
  return response->status_text != NULL;
}

static bool read_header_line(hop *response, const char *line, size_t length) {
  if (memchr(line, '\0', length)) return true;
  if (is_blank(line[0])) {
    /* An obsolete folded line continues the header before it. */
    if (response->headers.count == 0) return true;
    fetch_header *last = &response->headers.items[response->headers.count - 1];
    while (length && is_blank(*line)) line++, length--;
    char *continuation = utf8_from_latin1(line, length);
    char *joined = continuation ? plugin_format("%s %s", last->value, continuation) : NULL;
    free(continuation);
    if (!joined) return false;
    free(last->value);
    last->value = joined;
    return true;
  }
  const char *colon = memchr(line, ':', length);
  if (!colon) return true;
  char *name = strndup(line, (size_t)(colon - line));
  const char *value = colon + 1, *end = line + length;
  while (value < end && is_blank(*value)) value++;
  while (end > value && is_blank(end[-1])) end--;
  char *utf8_value = utf8_from_latin1(value, (size_t)(end - value));
  /* Headers the guest's Headers object would refuse are dropped, as browsers do. */
  bool valid_name = name && *name && strcspn(name, " \t\"(),/:;<=>?@[\\]{}") == strlen(name);
  bool kept = name && utf8_value && (!valid_name || fetch_header_list_add(&response->headers, name, utf8_value));
  free(name);
  free(utf8_value);
  return kept;
}

static size_t on_header_line(char *buffer, size_t size, size_t count, void *data) {
  hop *response = data;
  size_t length = size * count, line_length = length;
  if (!count_received(response, length)) return 0;
  /* Trailers after the body are not headers of the response. */
  if (response->body_started) return length;
  while (line_length && (buffer[line_length - 1] == '\r' || buffer[line_length - 1] == '\n')) line_length--;
  if (line_length == 0) return length;
  bool read = line_length > 5 && memcmp(buffer, "HTTP/", 5) == 0 ? read_status_line(response, buffer, line_length)
                                                                  : read_header_line(response, buffer, line_length);
  return read ? length : 0;
}

static size_t on_body_bytes(char *bytes, size_t size, size_t count, void *data) {
  hop *response = data;
  size_t length = size * count;
  response->body_started = true;
  if (!count_received(response, length)) return 0;
  response->beyond_run_memory = !plugin_claim_bytes(response->state->host, response->call, length);
  if (response->beyond_run_memory) return 0;
  return plugin_append_bytes(&response->body, &response->body_length, &response->body_capacity, bytes, length)
             ? length
             : 0;
}

static int stop_when_shutting_down(void *data, curl_off_t download_total, curl_off_t downloaded,
                                   curl_off_t upload_total, curl_off_t uploaded) {
  (void)download_total, (void)downloaded, (void)upload_total, (void)uploaded;
  const hop *response = data;
  return atomic_load(&response->state->stopping) || atomic_load(response->cancelled);
}

/* ---- one hop ---- */

static bool append_line(struct curl_slist **lines, const char *line) {
  struct curl_slist *longer = line ? curl_slist_append(*lines, line) : NULL;
  if (longer) *lines = longer;
  return longer != NULL;
}

static bool append_header_lines(struct curl_slist **lines, const fetch_header_list *headers) {
  for (size_t i = 0; i < headers->count; i++) {
    const fetch_header *header = &headers->items[i];
    /* "Name:" would tell curl to drop the header; "Name;" sends it empty. */
    char *line = *header->value ? plugin_format("%s: %s", header->name, header->value)
                                : plugin_format("%s;", header->name);
    bool appended = append_line(lines, line);
    free(line);
    if (!appended) return false;
  }
  return true;
}

static bool sends_body(const fetch_request *request, size_t body_length) {
  /* The Fetch Standard sends "Content-Length: 0" for a POST or PUT without a body. */
  return body_length > 0 || strcmp(request->method, "POST") == 0 || strcmp(request->method, "PUT") == 0;
}

/* Sets `easy` up for `request` (timeout_ms at most) and runs it; the response lands in `response`. */
static CURLcode perform_hop(CURL *easy, const fetch_request *request, const unsigned char *body, size_t body_length,
                            long timeout_ms, hop *response) {
  fetch_header_list injected;
  if (!fetch_injected_headers(response->settings, request, &injected)) return CURLE_OUT_OF_MEMORY;
  bool with_body = sends_body(request, body_length);
  struct curl_slist *lines = NULL;
  /* "Expect:" and "Content-Type:" stop curl adding "Expect: 100-continue", and a form content type
   * to a body. */
  bool built = append_header_lines(&lines, &request->headers) && append_header_lines(&lines, &injected) &&
               append_line(&lines, "Expect:") &&
               (!with_body || fetch_header_list_find(&request->headers, "content-type") ||
                append_line(&lines, "Content-Type:"));
  fetch_header_list_free(&injected);
  if (!built) {
    curl_slist_free_all(lines);
    return CURLE_OUT_OF_MEMORY;
  }
  curl_easy_reset(easy);
  curl_easy_setopt(easy, CURLOPT_URL, request->url.href);
  plugin_curl_restrict(easy, &response->guard);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, lines);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, response->curl_error);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header_line);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, response);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body_bytes);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, response);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, stop_when_shutting_down);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, response);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  if (strcmp(request->method, "HEAD") == 0) {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (strcmp(request->method, "GET") != 0) {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request->method);
  }
  if (with_body) {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
  }
  CURLcode code = curl_easy_perform(easy);
  curl_slist_free_all(lines);
  return code;
}

/* ---- redirects ---- */

static bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static bool same_origin(const plugin_url *a, const plugin_url *b) {
  return strcmp(a->scheme, b->scheme) == 0 && strcmp(a->host, b->host) == 0 && a->port == b->port;
}

/* Headers that describe a body, dropped with it (Fetch Standard, HTTP-redirect fetch). */
static const char *const body_headers[] = {"content-encoding", "content-language", "content-location",
                                           "content-type"};

/* Ends `call` with `message` (malloc'd, taken; NULL means the allocation failed). */
static void fail_call(fetch_state *state, mcpv8_call *call, const char *error_code, char *message) {
  state->host->fail(call, error_code, message ? message : "fetch: out of memory");
  free(message);
}

/* Turns `request` into the request for the redirect to `location` after a `status` answer and
 * asks the policy about it. Returns whether to go on; when not, it has ended `call`. */
static bool follow_redirect(mcpv8_call *call, fetch_state *state, fetch_request *request, long status,
                            const char *location, size_t *body_length) {
  plugin_url next;
  char *error = NULL;
  if (plugin_url_parse(location, request->url.href, "", FETCH_CREDENTIALS_ADVICE, &next, &error) != 0) {
    fail_call(state, call, NULL,
              error ? plugin_format("fetch: %s redirected to a URL that cannot be followed: %s", request->url.href,
                                    error)
                    : NULL);
    free(error);
    return false;
  }
  bool post = strcmp(request->method, "POST") == 0;
  bool get_or_head = strcmp(request->method, "GET") == 0 || strcmp(request->method, "HEAD") == 0;
  if ((status == 303 && !get_or_head) || ((status == 301 || status == 302) && post)) {
    char *get = strdup("GET");
    if (!get) {
      plugin_url_free(&next);
      fail_call(state, call, NULL, NULL);
      return false;
    }
    free(request->method);
    request->method = get;
    *body_length = 0;
    for (size_t i = 0; i < sizeof body_headers / sizeof *body_headers; i++) {
      fetch_header_list_remove(&request->headers, body_headers[i]);
    }
  }
  /* The guest's credentials were meant for the origin it named (Fetch Standard). */
  if (!same_origin(&request->url, &next)) fetch_header_list_remove(&request->headers, "authorization");
  plugin_url_free(&request->url);
  request->url = next;

  char *input = fetch_policy_input(request);
  if (!input) {
    fail_call(state, call, NULL, NULL);
    return false;
  }
  char *reason = NULL;
  mcpv8_policy_decision decision = state->host->check_policy(call, input, strlen(input), &reason);
  free(input);
  if (decision != MCPV8_POLICY_ALLOW) {
    fail_call(state, call, "EACCES",
              plugin_format("fetch: the redirect to %s was denied by policy%s%s", request->url.href,
                           reason ? ": " : "", reason ? reason : ""));
  }
  state->host->release(reason);
  return decision == MCPV8_POLICY_ALLOW;
}

/* ---- the whole request ---- */

static long milliseconds_until(const struct timespec *deadline) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static void fail_hop(fetch_state *state, const fetch_settings *settings, mcpv8_call *call, const fetch_request *request, CURLcode code,
                     const hop *response) {
  const char *curl_reason = *response->curl_error ? response->curl_error : curl_easy_strerror(code);
  const char *error_code = NULL;
  char *message;
  if (*response->guard.refused_address) {
    error_code = "EACCES";
    message = plugin_format("fetch: refused to connect to %s for %s: link-local and cloud metadata addresses are "
                           "only reachable when the URL names the address itself", response->guard.refused_address,
                           request->url.href);
    state->host->log(FETCH_PLUGIN_NAME, MCPV8_LOG_WARNING, message);
  } else if (response->too_large) {
    error_code = "EFBIG";
    message = plugin_format("fetch: the response from %s is larger than the limit of %zu bytes (raise it with "
                           "--plugin-config fetch.max_response_bytes=N)", request->url.href,
                           settings->max_response_bytes);
  } else if (response->beyond_run_memory) {
    error_code = "ERR_BUFFER_LIMIT";
    message = plugin_format("fetch: the response from %s does not fit in this run's memory for buffers (its heap "
                           "limit, heap_memory_max_mb, shared with its ArrayBuffers and the answers of its other "
                           "calls)", request->url.href);
  } else if (atomic_load(&state->stopping)) {
    error_code = "ECANCELED";
    message = strdup("fetch: the server is shutting down");
  } else if (atomic_load(response->cancelled)) {
    error_code = "ECANCELED";
    message = strdup("fetch: the run that asked for it ended");
  } else if (code == CURLE_OPERATION_TIMEDOUT) {
    error_code = "ETIMEDOUT";
    message = plugin_format("fetch: %s %s did not finish within the limit of %ld ms (raise it with "
                           "--plugin-config fetch.timeout_ms=N)", request->method, request->url.href,
                           settings->timeout_ms);
  } else {
    error_code = code == CURLE_COULDNT_RESOLVE_HOST ? "ENOTFOUND" : code == CURLE_COULDNT_CONNECT ? "ECONNREFUSED"
                                                                                                 : NULL;
    message = plugin_format("fetch: %s %s failed: %s", request->method, request->url.href, curl_reason);
  }
  fail_call(state, call, error_code, message);
}

static char *completion_value(long status, const hop *response, const fetch_request *request, bool redirected) {
  cJSON *value = cJSON_CreateObject();
  cJSON *headers = cJSON_AddArrayToObject(value, "headers");
  bool built = cJSON_AddNumberToObject(value, "status", (double)status) &&
               cJSON_AddStringToObject(value, "statusText", response->status_text ? response->status_text : "") &&
               cJSON_AddStringToObject(value, "url", request->url.href) &&
               cJSON_AddBoolToObject(value, "redirected", redirected) && headers;
  for (size_t i = 0; built && i < response->headers.count; i++) {
    const char *pair[2] = {response->headers.items[i].name, response->headers.items[i].value};
    cJSON *item = cJSON_CreateStringArray(pair, 2);
    built = item && cJSON_AddItemToArray(headers, item);
  }
  char *text = built ? cJSON_PrintUnformatted(value) : NULL;
  cJSON_Delete(value);
  return text;
}

void fetch_transfer_run(fetch_state *state, const fetch_settings *settings, mcpv8_call *call, fetch_request *request,
                        const unsigned char *body, size_t body_length, const atomic_bool *cancelled) {
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += settings->timeout_ms / 1000;
  deadline.tv_nsec += settings->timeout_ms % 1000 * 1000000;
  if (deadline.tv_nsec >= 1000000000) deadline.tv_sec++, deadline.tv_nsec -= 1000000000;
  CURL *easy = curl_easy_init();
  if (!easy) {
    state->host->fail(call, NULL, "fetch: could not start a transfer (curl_easy_init failed)");
    return;
  }
  for (int redirects = 0;; redirects++) {
    hop response = {.state = state, .settings = settings, .call = call, .cancelled = cancelled, .guard = {.url = &request->url}};
    long remaining = milliseconds_until(&deadline);
    CURLcode code = remaining > 0 ? perform_hop(easy, request, body, body_length, remaining, &response)
                                  : CURLE_OPERATION_TIMEDOUT;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    const fetch_header *location = is_redirect(status) ? fetch_header_list_find(&response.headers, "location") : NULL;
    bool next_hop = false;
    if (code != CURLE_OK) {
      fail_hop(state, settings, call, request, code, &response);
    } else if (!location) {
      char *value = completion_value(status, &response, request, redirects > 0);
      if (value) state->host->complete(call, value, strlen(value), response.body, response.body_length);
      else fail_call(state, call, NULL, NULL);
      free(value);
    } else if (redirects == MAX_REDIRECTS) {
      fail_call(state, call, NULL,
                plugin_format("fetch: %s redirected more than %d times; giving up", request->url.href, MAX_REDIRECTS));
    } else {
      next_hop = follow_redirect(call, state, request, status, location->value, &body_length);
    }
    hop_free(&response);
    if (!next_hop) break;
  }
  curl_easy_cleanup(easy);
}
