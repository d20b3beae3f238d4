/* libFuzzer target for the URL canonicaliser the Fetch and Modules plugins judge URLs with
 * (Plugins/Support/plugin_url.c). Beyond not crashing, it checks the two promises policies rely on:
 * - the canonical form is a fixed point: parsing a URL's href again gives the same URL;
 * - a host that the resolver would read as an IPv4 or IPv6 address is written in its one
 *   canonical form, so every numeric spelling of an address reaches the policy as the same host.
 * The first four bytes also name an IPv4 address, which is written in every spelling curl and
 * glibc accept (decimal, hex, octal, shortened, IPv4-mapped IPv6, trailing dot), each of which
 * must come out as that address in dotted form. A violation aborts. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_url.h"

static void violated(const char *what, const char *input, const char *got, const char *expected) {
  fprintf(stderr, "plugin_url: %s\n  input:    \"%s\"\n  got:      \"%s\"\n  expected: \"%s\"\n", what, input, got,
          expected);
  abort();
}

/* The host as the policy sees it must be the canonical text of any address the resolver reads it as. */
static void check_numeric_host(const char *input, const char *host) {
  struct in_addr v4;
  unsigned char v6[16];
  char text[INET6_ADDRSTRLEN];
  if (inet_aton(host, &v4) == 1) { /* what getaddrinfo falls back to for IPv4: accepts 0x7f.1 */
    inet_ntop(AF_INET, &v4, text, sizeof text);
    if (strcmp(host, text) != 0) violated("an IPv4 host is not in its dotted form", input, host, text);
  }
  if (inet_pton(AF_INET6, host, v6) == 1) {
    static const unsigned char mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(v6, mapped_prefix, sizeof mapped_prefix) == 0)
      violated("an IPv4-mapped IPv6 host is not written as IPv4", input, host, "(dotted IPv4)");
    inet_ntop(AF_INET6, v6, text, sizeof text);
    if (strcmp(host, text) != 0) violated("an IPv6 host is not in its canonical form", input, host, text);
  }
}

static void check_fixed_point(const char *input) {
  plugin_url url, again;
  char *error = NULL;
  if (plugin_url_parse(input, NULL, "", "", &url, &error) != 0) {
    if (!error) violated("a refusal has no message", input, "(null)", "a message");
    free(error);
    return;
  }
  check_numeric_host(input, url.host);
  if (plugin_url_parse(url.href, NULL, "", "", &again, &error) != 0) violated("the canonical form is refused", input, error, url.href);
  if (strcmp(again.href, url.href) != 0) violated("the canonical form is not a fixed point", input, again.href, url.href);
  if (strcmp(again.host, url.host) != 0 || again.port != url.port || strcmp(again.path, url.path) != 0 ||
      strcmp(again.query, url.query) != 0 || strcmp(again.scheme, url.scheme) != 0)
    violated("parsing the canonical form again gives other parts", input, again.href, url.href);
  plugin_url_free(&again);
  plugin_url_free(&url);
}

static void expect_host(const char *spelling, const char *dotted) {
  char input[128];
  snprintf(input, sizeof input, "http://%s/", spelling);
  plugin_url url;
  char *error = NULL;
  if (plugin_url_parse(input, NULL, "", "", &url, &error) != 0) violated("a numeric spelling is refused", input, error, dotted);
  if (strcmp(url.host, dotted) != 0) violated("a numeric spelling lands elsewhere", input, url.host, dotted);
  plugin_url_free(&url);
  check_fixed_point(input);
}

static void check_spellings(const uint8_t *a) {
  uint32_t value = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
  char dotted[16], spelling[96];
  snprintf(dotted, sizeof dotted, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
  expect_host(dotted, dotted);
#define SPELL(...) (snprintf(spelling, sizeof spelling, __VA_ARGS__), expect_host(spelling, dotted))
  SPELL("%s.", dotted);
  SPELL("%u", value);
  SPELL("%u.", value);
  SPELL("0x%x", value);
  SPELL("0X%X", value);
  SPELL("0%o", value);
  SPELL("0x%x.0x%x.0x%x.0x%x", a[0], a[1], a[2], a[3]);
  SPELL("0%o.0%o.0%o.0%o", a[0], a[1], a[2], a[3]);
  SPELL("%u.%u.%u", a[0], a[1], value & 0xffff);
  SPELL("%u.%u", a[0], value & 0xffffff);
  SPELL("0x%x.%u", a[0], value & 0xffffff);
  SPELL("[::ffff:%s]", dotted);
  SPELL("[::FFFF:%x:%x]", value >> 16, value & 0xffff);
  SPELL("[0:0:0:0:0:ffff:%s]", dotted);
#undef SPELL
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size >= 4) check_spellings(data);
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  check_fixed_point(text);
  /* The same bytes as a host and path, so mutations need not find "http://" first. */
  char *url = NULL;
  if (asprintf(&url, "http://%s", text) >= 0) check_fixed_point(url);
  free(url);
  free(text);
  return 0;
}
