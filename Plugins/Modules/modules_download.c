/*
 * Downloading a module with libcurl, one hop at a time: curl never follows redirects itself, so
 * every hop's URL goes through the policy first.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "plugin_io.h"

#include "modules_internal.h"

/* Fewer than a browser's 20: a CDN redirects once or twice (to a version, to a build). */
#define MAX_REDIRECTS 10

typedef struct {
  modules_import *import;
  plugin_connection_guard guard;
  /* Header lines and body bytes both count towards max_module_bytes: curl keeps the headers too. */
  size_t received;
  bool too_large;
  char *reason; /* the status line's reason phrase, printable ASCII only; HTTP/2 has none */
  unsigned char *body;
  size_t body_length, body_capacity;
  char curl_error[CURL_ERROR_SIZE];
} hop;

static void hop_free(hop *response) {
  free(response->reason);
  free(response->body);
}

/* ---- reading the response ---- */

static bool count_received(hop *response, size_t length) {
  response->received += length;
  response->too_large = response->received > response->import->state->max_module_bytes;
  return !response->too_large;
}

/* "HTTP/1.1 404 Not Found" gives "Not Found", for errors: bytes other than printable ASCII become '?'. */
static char *reason_phrase(const char *line, size_t length) {
  while (length > 0 && (line[length - 1] == '\r' || line[length - 1] == '\n')) length--;
  const char *version_end = memchr(line, ' ', length);
  const char *status_end = version_end ? memchr(version_end + 1, ' ', length - (size_t)(version_end + 1 - line)) : NULL;
  if (!status_end) return NULL;
  char *reason = strndup(status_end + 1, length - (size_t)(status_end + 1 - line));
  for (char *c = reason; c && *c; c++) {
    if (*c < ' ' || *c > '~') *c = '?';
  }
  return reason;
}

static size_t on_header_line(char *line, size_t size, size_t count, void *data) {
  hop *response = data;
  size_t length = size * count;
  if (!count_received(response, length)) return 0;
  if (length > 5 && memcmp(line, "HTTP/", 5) == 0) {
    free(response->reason);
    response->reason = reason_phrase(line, length);
  }
  return length;
}

static size_t on_body_bytes(char *bytes, size_t size, size_t count, void *data) {
  hop *response = data;
  size_t length = size * count;
  if (!count_received(response, length)) return 0;
  return plugin_append_bytes(&response->body, &response->body_length, &response->body_capacity, bytes, length)
             ? length
             : 0;
}

static int stop_when_cancelled(void *data, curl_off_t download_total, curl_off_t downloaded, curl_off_t upload_total,
                               curl_off_t uploaded) {
  (void)download_total, (void)downloaded, (void)upload_total, (void)uploaded;
  const hop *response = data;
  return atomic_load(&response->import->state->stopping) || atomic_load(&response->import->base.cancelled);
}

/* ---- one hop ---- */

static CURLcode perform_hop(CURL *easy, const plugin_url *url, long timeout_ms, hop *response) {
  curl_easy_reset(easy);
  curl_easy_setopt(easy, CURLOPT_URL, url->href);
  plugin_curl_restrict(easy, &response->guard);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "mcp-v8");
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, response->curl_error);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header_line);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, response);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body_bytes);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, response);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, stop_when_cancelled);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, response);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  return curl_easy_perform(easy);
}

static void fail_hop(modules_import *import, CURLcode code, const hop *response) {
  const char *url = import->request.url.href;
  if (*response->guard.refused_address) {
    char *note = plugin_format("refused to connect to %s for %s, imported as '%s'", response->guard.refused_address,
                               url, import->request.specifier);
    if (note) import->state->host->log(MODULES_PLUGIN_NAME, MCPV8_LOG_WARNING, note);
    free(note);
    modules_fail(import, "ERR_MODULE_DENIED",
                 "refused to connect to %s for %s: link-local and cloud metadata addresses are only reachable when "
                 "the URL names the address itself",
                 response->guard.refused_address, url);
  } else if (response->too_large) {
    modules_fail_too_large(import);
  } else if (!modules_fail_if_cancelled(import)) {
    if (code == CURLE_OPERATION_TIMEDOUT) {
      modules_fail_timeout(import);
    } else {
      modules_fail(import, "ERR_MODULE_FETCH_FAILED", "fetching %s failed: %s", url,
                   *response->curl_error ? response->curl_error : curl_easy_strerror(code));
    }
  }
}

/* ---- redirects ---- */

static bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

bool modules_allow_redirect(const modules_import *import, const plugin_url *target) {
  const mcpv8_host_api *host = import->state->host;
  char *input = modules_policy_input(import->request.specifier, "url", target);
  if (!input) {
    modules_fail(import, NULL, "out of memory");
    return false;
  }
  char *reason = NULL;
  mcpv8_policy_decision decision = host->check_policy(import->base.call, input, strlen(input), &reason);
  free(input);
  if (decision != MCPV8_POLICY_ALLOW) {
    modules_fail(import, "ERR_MODULE_DENIED", "the redirect from %s to %s was denied by policy%s%s",
                 import->request.url.href, target->href, reason ? ": " : "", reason ? reason : "");
  }
  host->release(reason);
  return decision == MCPV8_POLICY_ALLOW;
}

/* Moves the import on to `location` (relative to its URL) if the policy allows. Returns whether
 * to go on; when not, the call has ended. */
static bool follow_redirect(modules_import *import, const char *location) {
  plugin_url next;
  char *error = NULL;
  if (plugin_url_parse(location, import->request.url.href, "", "", &next, &error) != 0) {
    modules_fail(import, "ERR_MODULE_FETCH_FAILED", "%s redirected to a URL that cannot be followed: %s",
                 import->request.url.href, error ? error : "out of memory");
    free(error);
    return false;
  }
  bool allowed = modules_allow_redirect(import, &next);
  if (allowed) {
    plugin_url_free(&import->request.url);
    import->request.url = next;
  } else {
    plugin_url_free(&next);
  }
  return allowed;
}

/* ---- the whole download ---- */

/* Moves the 2xx response's body and Content-Type into `source`; false after ending the call. */
static bool take_response(modules_import *import, CURL *easy, hop *response, modules_source *source) {
  char *content_type = NULL;
  curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &content_type);
  if (content_type && !(source->content_type = strdup(content_type))) {
    modules_fail(import, NULL, "out of memory");
    return false;
  }
  source->bytes = response->body;
  source->length = response->body_length;
  response->body = NULL;
  return true;
}

bool modules_download(modules_import *import, modules_source *source) {
  CURL *easy = curl_easy_init();
  if (!easy) {
    modules_fail(import, "ERR_MODULE_FETCH_FAILED", "could not start a transfer (curl_easy_init failed)");
    return false;
  }
  bool downloaded = false;
  for (int redirects = 0;; redirects++) {
    hop response = {.import = import, .guard = {.url = &import->request.url}};
    long remaining = modules_milliseconds_until(&import->deadline);
    CURLcode code = remaining > 0 ? perform_hop(easy, &import->request.url, remaining, &response)
                                  : CURLE_OPERATION_TIMEDOUT;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    struct curl_header *location = NULL;
    if (code != CURLE_OK || !is_redirect(status) ||
        curl_easy_header(easy, "Location", 0, CURLH_HEADER, -1, &location) != CURLHE_OK) {
      location = NULL;
    }
    bool next_hop = false;
    if (code != CURLE_OK) {
      fail_hop(import, code, &response);
    } else if (location && redirects == MAX_REDIRECTS) {
      modules_fail(import, "ERR_MODULE_FETCH_FAILED", "%s redirected more than %d times; giving up",
                   import->request.url.href, MAX_REDIRECTS);
    } else if (location) {
      next_hop = follow_redirect(import, location->value);
    } else if (status < 200 || status > 299) {
      modules_fail(import, "ERR_MODULE_NOT_FOUND", "%s answered %ld%s%s", import->request.url.href, status,
                   response.reason && *response.reason ? " " : "", response.reason ? response.reason : "");
    } else {
      downloaded = take_response(import, easy, &response, source);
    }
    hop_free(&response);
    if (!next_hop) break;
  }
  curl_easy_cleanup(easy);
  return downloaded;
}
