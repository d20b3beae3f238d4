// The envelope every stored heap snapshot travels in. V8 aborts the process on a corrupt,
// truncated or foreign snapshot blob, so nothing reaches V8 that this file has not verified.
#include <lz4.h>
#include <openssl/sha.h>

#include "internal.h"

namespace {

constexpr char kMagic[8] = {'M', 'C', 'P', 'V', '8', 'H', 'E', 'P'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint8_t kCodecLZ4 = 1;
/// LZ4 expands a block at most 255-fold (a byte of match length stands for at most 255 bytes), so a
/// header claiming more than that is corrupt, and opening a file never allocates beyond it.
constexpr uint64_t kMaximumExpansion = 255;

void put_integer(std::string &out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; i++) out += static_cast<char>((value >> (8 * i)) & 0xff);
}

void put_text(std::string &out, const std::string &text) {
  put_integer(out, text.size(), 2);
  out += text;
}

/// Reads the header fields in order, failing on the first one that runs past the end.
class Reader {
 public:
  Reader(const uint8_t *data, size_t length) : data_(data), length_(length) {}
  bool integer(uint64_t *value, int bytes) {
    if (length_ - offset_ < static_cast<size_t>(bytes)) return false;
    *value = 0;
    for (int i = 0; i < bytes; i++) *value |= static_cast<uint64_t>(data_[offset_ + i]) << (8 * i);
    offset_ += bytes;
    return true;
  }
  bool bytes(size_t count, const uint8_t **out) {
    if (length_ - offset_ < count) return false;
    *out = data_ + offset_;
    offset_ += count;
    return true;
  }
  bool text(std::string *out) {
    uint64_t size;
    const uint8_t *start;
    if (!integer(&size, 2) || !bytes(size, &start)) return false;
    out->assign(reinterpret_cast<const char *>(start), size);
    return true;
  }
  size_t remaining() const { return length_ - offset_; }

 private:
  const uint8_t *data_;
  size_t length_;
  size_t offset_ = 0;
};

int fail(char **error_out, const std::string &message) {
  if (error_out) *error_out = cv8::copy_string(message);
  return 1;
}

}  // namespace

extern "C" {

int cv8_heap_seal(const uint8_t *payload, size_t length, cv8_sealed_heap *out, char **error_out) {
  if (length > static_cast<size_t>(LZ4_MAX_INPUT_SIZE))
    return fail(error_out, "the heap snapshot is too large to store (" + std::to_string(length) + " bytes)");
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(payload, length, digest);

  std::string header(kMagic, sizeof kMagic);
  put_integer(header, kFormatVersion, 4);
  put_text(header, cv8_v8_version());
  put_text(header, cv8_libnode_build_id());
  put_integer(header, length, 8);
  header.append(reinterpret_cast<const char *>(digest), sizeof digest);
  header += static_cast<char>(kCodecLZ4);

  int bound = LZ4_compressBound(static_cast<int>(length));
  size_t capacity = header.size() + 8 + static_cast<size_t>(bound);
  auto *bytes = static_cast<uint8_t *>(malloc(capacity));
  if (!bytes) return fail(error_out, "out of memory while sealing a heap snapshot");
  int compressed = LZ4_compress_default(reinterpret_cast<const char *>(payload),
                                        reinterpret_cast<char *>(bytes) + header.size() + 8,
                                        static_cast<int>(length), bound);
  if (compressed <= 0 && length > 0) {
    free(bytes);
    return fail(error_out, "LZ4 compression of the heap snapshot failed");
  }
  put_integer(header, static_cast<uint64_t>(compressed), 8);
  memcpy(bytes, header.data(), header.size());
  out->bytes = bytes;
  out->length = header.size() + static_cast<size_t>(compressed);
  std::string id = cv8::hex(digest, sizeof digest);
  memcpy(out->id, id.c_str(), id.size() + 1);
  return 0;
}

int cv8_heap_open(const uint8_t *sealed, size_t length, uint8_t **payload_out, size_t *payload_length_out,
                  char id_out[65], char **error_out) {
  Reader reader(sealed, length);
  const uint8_t *magic;
  uint64_t format, payload_length, codec, compressed_length;
  std::string v8_version, build_id;
  const uint8_t *digest, *compressed;
  if (!reader.bytes(sizeof kMagic, &magic) || memcmp(magic, kMagic, sizeof kMagic) != 0)
    return fail(error_out, "not a mcp-v8 heap snapshot (wrong magic bytes)");
  if (!reader.integer(&format, 4) || format != kFormatVersion)
    return fail(error_out, "heap snapshot format " + std::to_string(format) + " is not the supported format " +
                               std::to_string(kFormatVersion));
  if (!reader.text(&v8_version) || !reader.text(&build_id) || !reader.integer(&payload_length, 8) ||
      !reader.bytes(SHA256_DIGEST_LENGTH, &digest) || !reader.integer(&codec, 1) ||
      !reader.integer(&compressed_length, 8))
    return fail(error_out, "the heap snapshot header is truncated");
  if (v8_version != cv8_v8_version())
    return fail(error_out, "the heap snapshot was made by V8 " + v8_version + ", not this server's V8 " +
                               cv8_v8_version());
  if (build_id != cv8_libnode_build_id())
    return fail(error_out, "the heap snapshot was made by another libnode build (" + build_id + ", this is " +
                               cv8_libnode_build_id() + ")");
  if (codec != kCodecLZ4) return fail(error_out, "unknown heap snapshot codec " + std::to_string(codec));
  if (compressed_length != reader.remaining() || !reader.bytes(compressed_length, &compressed))
    return fail(error_out, "the heap snapshot is truncated or has trailing bytes");
  if (payload_length > static_cast<uint64_t>(LZ4_MAX_INPUT_SIZE) || payload_length > compressed_length * kMaximumExpansion)
    return fail(error_out, "the heap snapshot's header claims " + std::to_string(payload_length) +
                               " bytes, more than its " + std::to_string(compressed_length) +
                               " compressed bytes can hold");

  auto *payload = static_cast<uint8_t *>(malloc(payload_length ? payload_length : 1));
  if (!payload) return fail(error_out, "out of memory while opening a heap snapshot");
  int decompressed = LZ4_decompress_safe(reinterpret_cast<const char *>(compressed), reinterpret_cast<char *>(payload),
                                         static_cast<int>(compressed_length), static_cast<int>(payload_length));
  unsigned char actual[SHA256_DIGEST_LENGTH];
  if (decompressed < 0 || static_cast<uint64_t>(decompressed) != payload_length) {
    free(payload);
    return fail(error_out, "the heap snapshot's compressed data is corrupt");
  }
  SHA256(payload, payload_length, actual);
  if (memcmp(actual, digest, SHA256_DIGEST_LENGTH) != 0) {
    free(payload);
    return fail(error_out, "the heap snapshot's checksum does not match its contents");
  }
  std::string id = cv8::hex(actual, sizeof actual);
  memcpy(id_out, id.c_str(), id.size() + 1);
  *payload_out = payload;
  *payload_length_out = payload_length;
  return 0;
}

}  // extern "C"
