#include "plugin_io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool plugin_append_bytes(unsigned char **data, size_t *length, size_t *capacity, const void *bytes, size_t count) {
  if (*length + count > *capacity) {
    size_t grown_capacity = *capacity ? *capacity : 16384;
    while (grown_capacity < *length + count) grown_capacity *= 2;
    unsigned char *grown = realloc(*data, grown_capacity);
    if (!grown) return false;
    *data = grown;
    *capacity = grown_capacity;
  }
  if (count) memcpy(*data + *length, bytes, count);
  *length += count;
  return true;
}

void plugin_close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

void plugin_write_available(int *fd, const uint8_t *data, size_t length, size_t *written) {
  while (*written < length) {
    ssize_t count = write(*fd, data + *written, length - *written);
    if (count >= 0) {
      *written += (size_t)count;
    } else if (errno == EAGAIN) {
      return;
    } else if (errno != EINTR) {
      break;
    }
  }
  plugin_close_fd(fd);
}
