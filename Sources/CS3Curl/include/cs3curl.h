// One signed S3 request through libcurl, for the S3 heap store (Sources/Host/Storage/S3).
// curl_easy_setopt is variadic, which Swift cannot call, hence this small C wrapper.
#ifndef CS3CURL_H
#define CS3CURL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  long status;                 // the HTTP status, 0 when no response came
  unsigned char *body;         // the response body (malloc'd; cs3_response_free frees it)
  size_t body_length;
  int transport_error;         // libcurl's CURLcode; 0 when a response came
  int timed_out;               // the transport error was a timeout
  char message[256];           // libcurl's description of the transport error
} cs3_response;

typedef struct {
  const char *method;          // GET, HEAD, PUT or DELETE
  const char *url;             // the full URL, path and query already encoded
  const char *const *headers;  // "Name: value" lines, NULL-terminated (may be NULL)
  const char *access_key;
  const char *secret_key;
  const char *sigv4;           // libcurl's CURLOPT_AWS_SIGV4 value, "aws:amz:<region>:s3"
  const unsigned char *body;   // PUT only
  size_t body_length;
  long connect_timeout_ms;
  long timeout_ms;             // the whole request
  size_t max_response_bytes;   // a longer body fails the request
} cs3_request;

/// Performs `request`, signed with SigV4. It sends x-amz-content-sha256 (the body's SHA-256)
/// itself, since libcurl 7.88 signs whatever that header says without computing it.
/// Returns 0 when a response came (any status), else the CURLcode.
int cs3_perform(const cs3_request *request, cs3_response *response);

void cs3_response_free(cs3_response *response);

#ifdef __cplusplus
}
#endif

#endif
