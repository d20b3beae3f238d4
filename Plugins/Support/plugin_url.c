#define _GNU_SOURCE
#include "plugin_url.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "plugin_support.h"

/* ---- parsing ---- */

void plugin_url_free(plugin_url *url) {
  free(url->href);
  free(url->scheme);
  free(url->host);
  free(url->path);
  free(url->query);
  *url = (plugin_url){0};
}

static char *url_part(CURLU *handle, CURLUPart part, unsigned int flags) {
  char *curl_owned = NULL;
  if (curl_url_get(handle, part, &curl_owned, flags) != CURLUE_OK) return NULL;
  char *copy = strdup(curl_owned);
  curl_free(curl_owned);
  return copy;
}

static bool has_url_part(CURLU *handle, CURLUPart part) {
  char *curl_owned = NULL;
  bool present = curl_url_get(handle, part, &curl_owned, 0) == CURLUE_OK;
  curl_free(curl_owned);
  return present;
}

/* `host` as curl's URL form writes it, made canonical: lowercase; IPv6 in its canonical form,
 * IPv4-mapped IPv6 as the IPv4 address it reaches; a name's trailing dots dropped, so
 * "example.com." is judged as the host it resolves to. Malloc'd; NULL when out of memory. */
static char *canonical_host(const char *host) {
  static const unsigned char mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char *lower = strdup(host);
  if (!lower) return NULL;
  plugin_lowercase(lower);
  size_t length = strlen(lower);
  unsigned char address[16];
  char text[INET6_ADDRSTRLEN];
  if (length > 2 && lower[0] == '[' && lower[length - 1] == ']') {
    lower[length - 1] = '\0';
    bool ipv6 = inet_pton(AF_INET6, lower + 1, address) == 1;
    lower[length - 1] = ']';
    if (!ipv6) return lower;
    free(lower);
    if (memcmp(address, mapped_prefix, sizeof mapped_prefix) == 0) {
      return strdup(inet_ntop(AF_INET, address + sizeof mapped_prefix, text, sizeof text));
    }
    return plugin_format("[%s]", inet_ntop(AF_INET6, address, text, sizeof text));
  }
  while (length > 1 && lower[length - 1] == '.') lower[--length] = '\0';
  return lower;
}

/* Policies and rules compare IPv6 addresses without the URL's brackets. */
static void strip_brackets(char *host) {
  size_t length = strlen(host);
  if (length < 2 || host[0] != '[' || host[length - 1] != ']') return;
  memmove(host, host + 1, length - 2);
  host[length - 2] = '\0';
}

char *plugin_url_canonical_host(const char *host) {
  char *canonical = canonical_host(host);
  if (canonical) strip_brackets(canonical);
  return canonical;
}

/* Length of the path separator at `at`: 1 for "/" and "\", 3 for "%2F" and "%5C" (any case),
 * 0 for none. Servers that decode before resolving dot segments split on all four. */
static size_t separator_length(const char *path, size_t at, size_t length) {
  if (path[at] == '/' || path[at] == '\\') return 1;
  bool encoded = length - at >= 3 && (strncasecmp(path + at, "%2f", 3) == 0 || strncasecmp(path + at, "%5c", 3) == 0);
  return encoded ? 3 : 0;
}

/* The number of dots (1 or 2) when path[start, end) is a dot segment, written with "." or
 * "%2e" in any mix; 0 otherwise. */
static int dot_segment(const char *path, size_t start, size_t end) {
  int dots = 0;
  for (size_t at = start; at < end; dots++) {
    if (path[at] == '.') {
      at++;
    } else if (end - at >= 3 && strncasecmp(path + at, "%2e", 3) == 0) {
      at += 3;
    } else {
      return 0;
    }
    if (dots == 2) return 0;
  }
  return dots;
}

/* Where the segment starting at `start` ends (at its separator or the end of the path). */
static size_t segment_end(const char *path, size_t start, size_t length) {
  size_t end = start;
  while (end < length && separator_length(path, end, length) == 0) end++;
  return end;
}

/* The URL Standard treats "%2e" as "." in dot segments and "\" as "/"; servers may also decode
 * "%2F" and "%5C" to separators before resolving dot segments (Python's http.server does). So
 * every dot segment, as such a server would split the path, is rewritten with plain dots and
 * plain "/" on both sides before curl removes dot segments: "/public/..%2fprivate" becomes
 * "/public/../private", which curl sends (and the policy judges) as "/private". An encoded
 * separator beside no dot segment stays as written ("/a%2Fb" names one segment to most servers).
 * Returns a malloc'd path, or NULL when nothing changes. */
static char *path_with_plain_dots(const char *path) {
  size_t length = strlen(path);
  char *rewritten = malloc(length + 1);
  if (!rewritten) return NULL;
  size_t out = 0;
  bool changed = false;
  int dots = dot_segment(path, 0, segment_end(path, 0, length));
  for (size_t start = 0; start <= length;) {
    size_t end = segment_end(path, start, length);
    if (dots > 0) {
      changed |= end - start != (size_t)dots;
      memset(rewritten + out, '.', (size_t)dots);
      out += (size_t)dots;
    } else {
      memcpy(rewritten + out, path + start, end - start);
      out += end - start;
    }
    if (end == length) break;
    size_t separator = separator_length(path, end, length);
    size_t next = end + separator;
    int next_dots = dot_segment(path, next, segment_end(path, next, length));
    if (path[end] == '/' || (separator == 3 && dots == 0 && next_dots == 0)) {
      memcpy(rewritten + out, path + end, separator);
      out += separator;
    } else {
      rewritten[out++] = '/';
      changed = true;
    }
    dots = next_dots;
    start = next;
  }
  rewritten[out] = '\0';
  if (!changed) {
    free(rewritten);
    return NULL;
  }
  return rewritten;
}

#define ONLY_HTTP "only absolute http:// and https:// URLs are allowed"

static char *invalid_url(const char *prefix, const char *text, const char *why) {
  return plugin_format("%s\"%s\" %s", prefix, text, why);
}

/* Host and path canonicalised into `handle`; false with *error set, or false alone when out of memory. */
static bool canonicalise(CURLU *handle, const char *text, const char *prefix, char **error) {
  char *host = url_part(handle, CURLUPART_HOST, 0);
  if (!host) return false;
  if (!plugin_is_ascii(host)) {
    free(host);
    *error = invalid_url(prefix, text,
                         "has a host name that is not plain ASCII; write international names in their xn-- form");
    return false;
  }
  char *url_host = canonical_host(host);
  bool host_changed = url_host && strcmp(url_host, host) != 0;
  free(host);
  if (!url_host) return false;
  CURLUcode host_set = host_changed ? curl_url_set(handle, CURLUPART_HOST, url_host, 0) : CURLUE_OK;
  free(url_host);
  if (host_set != CURLUE_OK) {
    *error = invalid_url(prefix, text, "has an invalid host");
    return false;
  }
  char *path = url_part(handle, CURLUPART_PATH, 0);
  if (!path) return false;
  char *rewritten = path_with_plain_dots(path);
  free(path);
  /* curl removes dot segments, and writes an IPv4 address in any notation as dotted decimal, only
   * when it parses a whole URL, and before it decodes the host: "0x7f.1." (once its trailing dot is
   * gone) and "127%2e1" are such addresses only when the URL is read again. */
  char *href = NULL;
  bool reparsed = (!rewritten || curl_url_set(handle, CURLUPART_PATH, rewritten, 0) == CURLUE_OK) &&
                  curl_url_get(handle, CURLUPART_URL, &href, 0) == CURLUE_OK &&
                  curl_url_set(handle, CURLUPART_URL, href, 0) == CURLUE_OK;
  free(rewritten);
  curl_free(href);
  if (!reparsed) *error = invalid_url(prefix, text, "is not a valid URL once its host and path are made canonical");
  return reparsed;
}

static bool read_parts(CURLU *handle, plugin_url *url) {
  url->href = url_part(handle, CURLUPART_URL, CURLU_NO_DEFAULT_PORT);
  url->scheme = url_part(handle, CURLUPART_SCHEME, 0);
  url->host = url_part(handle, CURLUPART_HOST, 0);
  url->path = url_part(handle, CURLUPART_PATH, 0);
  url->query = has_url_part(handle, CURLUPART_QUERY) ? url_part(handle, CURLUPART_QUERY, 0) : strdup("");
  char *port = url_part(handle, CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (port) url->port = strtol(port, NULL, 10);
  free(port);
  if (!url->href || !url->scheme || !url->host || !url->path || !url->query || !port) return false;
  strip_brackets(url->host);
  return true;
}

int plugin_url_parse(const char *text, const char *base_href, const char *error_prefix, const char *credentials_advice,
                     plugin_url *url, char **error) {
  *url = (plugin_url){0};
  *error = NULL;
  /* Fragments never leave the client; cut them before curl, which refuses some it would ignore. */
  char *without_fragment = strndup(text, strcspn(text, "#"));
  CURLU *handle = curl_url();
  bool parsed = false;
  if (!without_fragment || !handle) goto done;
  if ((base_href && curl_url_set(handle, CURLUPART_URL, base_href, 0) != CURLUE_OK) ||
      curl_url_set(handle, CURLUPART_URL, without_fragment, CURLU_URLENCODE | CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
    *error = invalid_url(error_prefix, text, "is not a valid URL; " ONLY_HTTP);
    goto done;
  }
  char *scheme = url_part(handle, CURLUPART_SCHEME, 0);
  if (!scheme) goto done;
  if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
    char *why = plugin_format("uses the scheme \"%s\"; " ONLY_HTTP, scheme);
    *error = why ? invalid_url(error_prefix, text, why) : NULL;
    free(why);
    free(scheme);
    goto done;
  }
  free(scheme);
  if (has_url_part(handle, CURLUPART_USER) || has_url_part(handle, CURLUPART_PASSWORD)) {
    *error = plugin_format("%sURLs with a user name or password are not allowed%s", error_prefix, credentials_advice);
    goto done;
  }
  if (has_url_part(handle, CURLUPART_ZONEID)) {
    *error = invalid_url(error_prefix, text, "names an IPv6 zone (%...), which is not allowed");
    goto done;
  }
  parsed = canonicalise(handle, text, error_prefix, error) && read_parts(handle, url);
done:
  if (!parsed) {
    plugin_url_free(url);
    if (!*error) *error = plugin_format("%sout of memory", error_prefix);
  }
  curl_url_cleanup(handle);
  free(without_fragment);
  return parsed ? 0 : 1;
}

cJSON *plugin_url_parsed_json(const plugin_url *url) {
  cJSON *parsed = cJSON_CreateObject();
  bool built = parsed && cJSON_AddStringToObject(parsed, "scheme", url->scheme) &&
               cJSON_AddStringToObject(parsed, "host", url->host) &&
               cJSON_AddNumberToObject(parsed, "port", (double)url->port) &&
               cJSON_AddStringToObject(parsed, "path", url->path) &&
               cJSON_AddStringToObject(parsed, "query", url->query);
  if (built) return parsed;
  cJSON_Delete(parsed);
  return NULL;
}

/* ---- where a connection may lead ---- */

static bool is_sensitive_ipv4(const unsigned char *address) {
  static const unsigned char alibaba_metadata[4] = {100, 100, 100, 200};
  return (address[0] == 169 && address[1] == 254) || memcmp(address, alibaba_metadata, 4) == 0;
}

static bool is_sensitive_ipv6(const unsigned char *address) {
  static const unsigned char mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const unsigned char aws_metadata[16] = {0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
  if (memcmp(address, mapped_prefix, 12) == 0) return is_sensitive_ipv4(address + 12);
  return (address[0] == 0xfe && (address[1] & 0xc0) == 0x80) || memcmp(address, aws_metadata, 16) == 0;
}

static curl_socket_t open_checked_socket(void *data, curlsocktype purpose, struct curl_sockaddr *address) {
  plugin_connection_guard *guard = data;
  struct sockaddr_storage storage = {0};
  memcpy(&storage, &address->addr, address->addrlen < sizeof storage ? address->addrlen : sizeof storage);
  unsigned char named[16];
  const void *connecting = NULL;
  bool sensitive = false, named_literally = false;
  if (address->family == AF_INET) {
    connecting = &((const struct sockaddr_in *)&storage)->sin_addr;
    sensitive = is_sensitive_ipv4(connecting);
    named_literally = inet_pton(AF_INET, guard->url->host, named) == 1 && memcmp(named, connecting, 4) == 0;
  } else if (address->family == AF_INET6) {
    connecting = &((const struct sockaddr_in6 *)&storage)->sin6_addr;
    sensitive = is_sensitive_ipv6(connecting);
    named_literally = inet_pton(AF_INET6, guard->url->host, named) == 1 && memcmp(named, connecting, 16) == 0;
  }
  if (purpose == CURLSOCKTYPE_IPCXN && sensitive && !named_literally) {
    inet_ntop(address->family, connecting, guard->refused_address, sizeof guard->refused_address);
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

void plugin_curl_restrict(CURL *easy, plugin_connection_guard *guard) {
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_PROXY, "");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_checked_socket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, guard);
}
