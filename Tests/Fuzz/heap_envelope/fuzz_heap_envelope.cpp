// libFuzzer target for the heap envelope reader (Sources/CV8/heap_envelope.cpp): the bytes a stored
// heap file holds, which cv8_heap_open must verify before V8 (which aborts on a bad snapshot) sees them.
// The first byte picks what the rest is:
// - even: a whole envelope, as a file on disk holds it;
// - odd: the fields after the V8 version and libnode build id, behind a header carrying this
//   process's own, so mutations reach the length, checksum and LZ4 checks past the version checks.
// Whatever opens must hash to the id it reports, and sealing the rest of the input must open to it again.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cv8.h"

namespace {

void put_integer(std::string &out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; i++) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

void put_text(std::string &out, const char *text) {
  put_integer(out, strlen(text), 2);
  out += text;
}

void violated(const char *what) {
  fprintf(stderr, "heap_envelope: %s\n", what);
  abort();
}

void open_envelope(const uint8_t *bytes, size_t length) {
  uint8_t *payload = nullptr;
  size_t payload_length = 0;
  char id[65];
  char *error = nullptr;
  if (cv8_heap_open(bytes, length, &payload, &payload_length, id, &error) != 0) {
    if (!error) violated("a refusal has no message");
    cv8_free(error);
    return;
  }
  cv8_sealed_heap resealed{};
  if (cv8_heap_seal(payload, payload_length, &resealed, &error) != 0) violated("an opened payload cannot be sealed");
  if (strcmp(resealed.id, id) != 0) violated("an opened payload's id is not the SHA-256 of its bytes");
  cv8_free(resealed.bytes);
  cv8_free(payload);
}

void round_trip(const uint8_t *bytes, size_t length) {
  cv8_sealed_heap sealed{};
  char *error = nullptr;
  if (cv8_heap_seal(bytes, length, &sealed, &error) != 0) violated("a small payload cannot be sealed");
  uint8_t *payload = nullptr;
  size_t payload_length = 0;
  char id[65];
  if (cv8_heap_open(sealed.bytes, sealed.length, &payload, &payload_length, id, &error) != 0) violated(error);
  if (payload_length != length || (length && memcmp(payload, bytes, length) != 0) || strcmp(id, sealed.id) != 0)
    violated("a sealed payload does not open to itself");
  cv8_free(payload);
  cv8_free(sealed.bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0) {
    open_envelope(data + 1, size - 1);
  } else {
    static const std::string header = [] {
      std::string text("MCPV8HEP", 8);
      put_integer(text, 1, 4);
      put_text(text, cv8_v8_version());
      put_text(text, cv8_libnode_build_id());
      return text;
    }();
    std::string envelope = header;
    envelope.append(reinterpret_cast<const char *>(data + 1), size - 1);
    open_envelope(reinterpret_cast<const uint8_t *>(envelope.data()), envelope.size());
  }
  round_trip(data + 1, size - 1);
  return 0;
}
