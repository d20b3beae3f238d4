// Strings and buffers handed across the C boundary, and how the caller frees them.
#include "internal.h"

namespace cv8 {

std::string hex(const unsigned char *bytes, size_t length) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < length; i++) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

char *copy_string(const std::string &text) {
  char *copy = static_cast<char *>(malloc(text.size() + 1));
  memcpy(copy, text.data(), text.size());
  copy[text.size()] = '\0';
  return copy;
}

}  // namespace cv8

extern "C" void cv8_free(void *pointer) { free(pointer); }
