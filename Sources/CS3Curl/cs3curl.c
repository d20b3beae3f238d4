#include "cs3curl.h"

#include <curl/curl.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t global_init = PTHREAD_ONCE_INIT;
static void init_curl(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

typedef struct {
  cs3_response *response;
  size_t capacity;
  size_t limit;
  int over_limit;
} sink;

static size_t write_body(char *data, size_t size, size_t count, void *context) {
  sink *into = context;
  size_t length = size * count;
  cs3_response *response = into->response;
  if (response->body_length + length > into->limit) {
    into->over_limit = 1;
    return 0;
  }
  if (response->body_length + length > into->capacity) {
    size_t capacity = into->capacity ? into->capacity : 16384;
    while (capacity < response->body_length + length) capacity *= 2;
    unsigned char *grown = realloc(response->body, capacity);
    if (!grown) return 0;
    response->body = grown;
    into->capacity = capacity;
  }
  memcpy(response->body + response->body_length, data, length);
  response->body_length += length;
  return length;
}

typedef struct {
  const unsigned char *bytes;
  size_t remaining;
} source;

static size_t read_body(char *buffer, size_t size, size_t count, void *context) {
  source *from = context;
  size_t length = size * count < from->remaining ? size * count : from->remaining;
  memcpy(buffer, from->bytes, length);
  from->bytes += length;
  from->remaining -= length;
  return length;
}

static void sha256_hex(const unsigned char *bytes, size_t length, char out[65]) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(bytes ? bytes : (const unsigned char *)"", length, digest);
  for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

int cs3_perform(const cs3_request *request, cs3_response *response) {
  pthread_once(&global_init, init_curl);
  memset(response, 0, sizeof *response);
  CURL *easy = curl_easy_init();
  if (!easy) {
    response->transport_error = CURLE_FAILED_INIT;
    snprintf(response->message, sizeof response->message, "libcurl could not start a request");
    return response->transport_error;
  }
  struct curl_slist *headers = NULL;
  char content_hash[64 + 32] = "x-amz-content-sha256: ";
  sha256_hex(request->body, request->body_length, content_hash + strlen(content_hash));
  headers = curl_slist_append(headers, content_hash);
  for (const char *const *line = request->headers; line && *line; line++) headers = curl_slist_append(headers, *line);
  // No "Expect:" line to turn off 100-continue: libcurl 7.88 would sign it and then not send it.

  sink into = {.response = response, .limit = request->max_response_bytes};
  source from = {.bytes = request->body, .remaining = request->body_length};
  char error[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(easy, CURLOPT_URL, request->url);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_USERNAME, request->access_key);
  curl_easy_setopt(easy, CURLOPT_PASSWORD, request->secret_key);
  curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, request->sigv4);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, request->connect_timeout_ms);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, request->timeout_ms);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &into);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  if (strcmp(request->method, "HEAD") == 0) {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (strcmp(request->method, "PUT") == 0) {
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(easy, CURLOPT_READDATA, &from);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)request->body_length);
  } else if (strcmp(request->method, "GET") != 0) {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request->method);
  }

  CURLcode code = curl_easy_perform(easy);
  if (code == CURLE_OK) {
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response->status);
  } else {
    response->transport_error = code;
    response->timed_out = code == CURLE_OPERATION_TIMEDOUT;
    if (into.over_limit) {
      snprintf(response->message, sizeof response->message, "the response is larger than %zu bytes",
               request->max_response_bytes);
    } else {
      snprintf(response->message, sizeof response->message, "%s", error[0] ? error : curl_easy_strerror(code));
    }
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  return response->transport_error;
}

void cs3_response_free(cs3_response *response) {
  free(response->body);
  response->body = NULL;
  response->body_length = 0;
}
