/* Small I/O helpers the bundled plugins share: growing a byte buffer, and feeding a child
 * process's stdin through a non-blocking pipe. */
#ifndef MCPV8_PLUGIN_IO_H
#define MCPV8_PLUGIN_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Appends `count` bytes to the buffer at *data (doubling its capacity as needed); false when out
 * of memory, and the buffer is unchanged. */
bool plugin_append_bytes(unsigned char **data, size_t *length, size_t *capacity, const void *bytes, size_t count);

/* Closes *fd if it is open and marks it closed (-1). */
void plugin_close_fd(int *fd);

/* Writes what the non-blocking pipe *fd takes now of data[*written..length]; closes it once all
 * is written, or when the reader closed its end (the rest is dropped, as a shell pipeline drops it). */
void plugin_write_available(int *fd, const uint8_t *data, size_t length, size_t *written);

#endif
