/*
 * The disk cache of module sources (its layout is in modules_plugin.c). Every worker process
 * reads and writes it at once, with no lock: a file is only ever replaced whole, by rename, and
 * a reader that finds an entry missing, torn or evicted treats it as a miss.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "modules_internal.h"

#define HASH_HEX_LENGTH (2 * SHA256_DIGEST_LENGTH)
/* An entry of urls/ is a hash and a URL: more than this is not one of ours. */
#define MOST_ENTRY_BYTES 65536

typedef char hash_hex[HASH_HEX_LENGTH + 1];

static void hash_of(const void *data, size_t length, hash_hex hex) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(data ? data : (const void *)"", length, digest);
  for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

static void log_problem(const modules_state *state, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void log_problem(const modules_state *state, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  char *message = NULL;
  if (vasprintf(&message, format, arguments) < 0) message = NULL;
  va_end(arguments);
  if (message) state->host->log(MODULES_PLUGIN_NAME, MCPV8_LOG_WARNING, message);
  free(message);
}

/* ---- directories ---- */

/* The directory `name` under `parent`, opened, and made (0700) first when `create`. -1 with errno
 * set on failure: EPERM when it belongs to another user or others may write to it, since
 * whoever can write there chooses the code guests run (a shared /tmp is the default's parent);
 * ELOOP when it is a symlink, since eviction would delete files wherever that leads. */
static int open_private_directory(int parent, const char *name, bool create) {
  if (create && mkdirat(parent, name, 0700) != 0 && errno != EEXIST) return -1;
  int directory = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat link;
  if (directory < 0 && errno == ENOTDIR && fstatat(parent, name, &link, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISLNK(link.st_mode)) {
    errno = ELOOP;
  }
  if (directory < 0) return -1;
  struct stat status;
  if (fstat(directory, &status) != 0 || status.st_uid != geteuid() || (status.st_mode & (S_IWGRP | S_IWOTH))) {
    close(directory);
    errno = EPERM;
    return -1;
  }
  return directory;
}

/* Why open_private_directory failed with `number`, for the log. */
static const char *directory_problem(int number) {
  if (number == EPERM) return "it and its urls/ and content/ must belong to this user and be writable by no one else";
  if (number == ELOOP) return "it and its urls/ and content/ must not be symbolic links";
  return strerror(number);
}

/* The cache's urls/ and content/ directories; false, with errno set, when they cannot be used. */
static bool open_cache(const modules_state *state, bool create, int *urls, int *content) {
  *urls = *content = -1;
  int root = open_private_directory(AT_FDCWD, state->cache_dir, create);
  if (root < 0) return false;
  *urls = open_private_directory(root, "urls", create);
  if (*urls >= 0) *content = open_private_directory(root, "content", create);
  int failure = errno;
  close(root);
  if (*content >= 0) return true;
  if (*urls >= 0) close(*urls);
  *urls = -1;
  errno = failure;
  return false;
}

/* ---- files ---- */

/* The regular file `name` in `directory`, of at most `limit` bytes, read whole into *data
 * (malloc'd, with a NUL after the *length bytes). 0, or an errno (EFBIG past the limit). */
static int read_file(int directory, const char *name, size_t limit, unsigned char **data, size_t *length) {
  *data = NULL;
  *length = 0;
  int fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat status;
  int failure = 0;
  if (fstat(fd, &status) != 0) {
    failure = errno;
  } else if (!S_ISREG(status.st_mode)) {
    failure = EINVAL;
  } else if ((unsigned long long)status.st_size > limit) {
    failure = EFBIG;
  } else if (!(*data = malloc((size_t)status.st_size + 1))) {
    failure = ENOMEM;
  }
  /* Files are replaced by rename, never rewritten, so this one keeps the size it had. */
  while (!failure && *length < (size_t)status.st_size) {
    ssize_t count = read(fd, *data + *length, (size_t)status.st_size - *length);
    if (count > 0) {
      *length += (size_t)count;
    } else if (count == 0) {
      failure = EIO;
    } else if (errno != EINTR) {
      failure = errno;
    }
  }
  close(fd);
  if (failure) {
    free(*data);
    *data = NULL;
    *length = 0;
  } else {
    (*data)[*length] = '\0';
  }
  return failure;
}

/* Writes `name` in `directory` whole or not at all: a temporary file, synced, renamed over it, so
 * processes writing one entry at once leave one whole copy. 0 or an errno. */
static int write_atomically(int directory, const char *name, const void *data, size_t length) {
  static atomic_uint temporary_count;
  char temporary[HASH_HEX_LENGTH + 48];
  snprintf(temporary, sizeof temporary, ".%s.%d.%u", name, (int)getpid(), atomic_fetch_add(&temporary_count, 1));
  int fd = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  int failure = 0;
  for (size_t written = 0; !failure && written < length;) {
    ssize_t count = write(fd, (const char *)data + written, length - written);
    if (count >= 0) {
      written += (size_t)count;
    } else if (errno != EINTR) {
      failure = errno;
    }
  }
  if (!failure && fsync(fd) != 0) failure = errno;
  if (close(fd) != 0 && !failure) failure = errno;
  if (!failure && renameat(directory, temporary, directory, name) != 0) failure = errno;
  if (failure) unlinkat(directory, temporary, 0);
  return failure;
}

/* ---- eviction ---- */

typedef struct {
  char *name;
  off_t size;
  struct timespec used; /* the modification time, which a hit touches */
} content_file;

static int by_last_use(const void *left, const void *right) {
  const struct timespec *a = &((const content_file *)left)->used, *b = &((const content_file *)right)->used;
  if (a->tv_sec != b->tv_sec) return a->tv_sec < b->tv_sec ? -1 : 1;
  return (a->tv_nsec > b->tv_nsec) - (a->tv_nsec < b->tv_nsec);
}

/* Deletes the least recently used files of content/ until it holds at most `most_bytes`.
 * Temporary files count too, so one a crashed worker left behind goes in its turn. 0 or an errno. */
static int evict_least_recently_used(int content, unsigned long long most_bytes) {
  int listing_fd = openat(content, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *listing = listing_fd >= 0 ? fdopendir(listing_fd) : NULL;
  if (!listing) {
    int failure = errno;
    if (listing_fd >= 0) close(listing_fd);
    return failure;
  }
  content_file *files = NULL;
  size_t count = 0, capacity = 0;
  unsigned long long total = 0;
  int failure = 0;
  const struct dirent *item;
  while (!failure && (item = readdir(listing))) {
    struct stat status;
    if (strcmp(item->d_name, ".") == 0 || strcmp(item->d_name, "..") == 0 ||
        fstatat(content, item->d_name, &status, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(status.st_mode)) {
      continue;
    }
    if (count == capacity) {
      capacity = capacity ? 2 * capacity : 256;
      content_file *grown = realloc(files, capacity * sizeof *files);
      if (!grown) {
        failure = ENOMEM;
        break;
      }
      files = grown;
    }
    files[count] = (content_file){strdup(item->d_name), status.st_size, status.st_mtim};
    if (!files[count].name) failure = ENOMEM;
    total += (unsigned long long)status.st_size;
    count++;
  }
  closedir(listing);
  if (!failure && total > most_bytes) {
    qsort(files, count, sizeof *files, by_last_use);
    for (size_t i = 0; i < count && total > most_bytes; i++) {
      /* Another process may have evicted it first. */
      if (unlinkat(content, files[i].name, 0) == 0 || errno == ENOENT) total -= (unsigned long long)files[i].size;
    }
  }
  for (size_t i = 0; i < count; i++) free(files[i].name);
  free(files);
  return failure;
}

/* ---- lookups and stores ---- */

/* The final URL of an entry of urls/ ("<hash>\n<URL>\n"), its hash in `content_hash`; NULL when it
 * is not such an entry. */
static const char *parse_entry(char *entry, size_t length, hash_hex content_hash) {
  if (length < HASH_HEX_LENGTH + 3 || entry[HASH_HEX_LENGTH] != '\n' || entry[length - 1] != '\n' ||
      strspn(entry, "0123456789abcdef") != HASH_HEX_LENGTH || strlen(entry) != length ||
      strchr(entry + HASH_HEX_LENGTH + 1, '\n') != entry + length - 1) {
    return NULL;
  }
  memcpy(content_hash, entry, HASH_HEX_LENGTH);
  content_hash[HASH_HEX_LENGTH] = '\0';
  entry[length - 1] = '\0';
  return entry + HASH_HEX_LENGTH + 1;
}

/* The source `content_hash` names, read and checked, and marked used (for eviction). 0, or an
 * errno: ENOENT when it was evicted, EFBIG past max_module_bytes, EBADMSG when it does not match
 * its hash (it is removed then). */
static int read_source(const modules_state *state, int content, const char *content_hash, modules_source *source) {
  int failure = read_file(content, content_hash, state->max_module_bytes, &source->bytes, &source->length);
  hash_hex actual_hash;
  if (!failure) {
    hash_of(source->bytes, source->length, actual_hash);
    if (strcmp(actual_hash, content_hash) != 0) {
      failure = EBADMSG;
      unlinkat(content, content_hash, 0);
      modules_source_free(source);
    }
  }
  if (!failure) utimensat(content, content_hash, NULL, AT_SYMLINK_NOFOLLOW);
  return failure;
}

/* Reads the entry `key`: true with `final_url` and `source` filled, or false for a miss. An entry
 * that cannot be used is removed (a damaged one with a warning); one whose source was cached
 * under a larger max_module_bytes stays, for the workers that still have that limit. */
static bool read_entry(const modules_state *state, int urls, int content, const char *key, const char *requested_url,
                       plugin_url *final_url, modules_source *source) {
  unsigned char *entry;
  size_t entry_length;
  int failure = read_file(urls, key, MOST_ENTRY_BYTES, &entry, &entry_length);
  if (failure == ENOENT) return false;
  hash_hex content_hash;
  const char *url_text = failure ? NULL : parse_entry((char *)entry, entry_length, content_hash);
  char *url_error = NULL;
  if (!failure && (!url_text || plugin_url_parse(url_text, NULL, "", "", final_url, &url_error) != 0)) {
    failure = EBADMSG;
  }
  if (!failure) failure = read_source(state, content, content_hash, source);
  free(url_error);
  free(entry);
  if (!failure) return true;
  plugin_url_free(final_url);
  if (failure != EFBIG) {
    if (failure != ENOENT) {
      log_problem(state, "dropped the cache entry for %s: %s", requested_url,
                  failure == EBADMSG ? "it is damaged" : strerror(failure));
    }
    unlinkat(urls, key, 0);
  }
  return false;
}

bool modules_cache_lookup(const modules_state *state, const char *requested_url, plugin_url *final_url,
                          modules_source *source) {
  *final_url = (plugin_url){0};
  *source = (modules_source){0};
  if (!state->cache_dir) return false;
  int urls, content;
  if (!open_cache(state, false, &urls, &content)) {
    if (errno != ENOENT) log_problem(state, "cannot use the cache %s: %s", state->cache_dir, directory_problem(errno));
    return false;
  }
  hash_hex key;
  hash_of(requested_url, strlen(requested_url), key);
  bool hit = read_entry(state, urls, content, key, requested_url, final_url, source);
  close(urls);
  close(content);
  return hit;
}

void modules_cache_store(const modules_state *state, const char *requested_url, const char *final_url,
                         const modules_source *source) {
  if (!state->cache_dir) return;
  int urls, content;
  if (!open_cache(state, true, &urls, &content)) {
    log_problem(state, "cannot use the cache %s: %s", state->cache_dir, directory_problem(errno));
    return;
  }
  hash_hex key, content_hash;
  hash_of(requested_url, strlen(requested_url), key);
  hash_of(source->bytes, source->length, content_hash);
  char *entry = plugin_format("%s\n%s\n", content_hash, final_url);
  /* The source first: an entry never names one that was not written. */
  int failure = entry ? write_atomically(content, content_hash, source->bytes, source->length) : ENOMEM;
  if (!failure) failure = write_atomically(urls, key, entry, strlen(entry));
  if (!failure) failure = evict_least_recently_used(content, state->cache_max_bytes);
  if (failure) log_problem(state, "could not cache %s in %s: %s", requested_url, state->cache_dir, strerror(failure));
  free(entry);
  close(urls);
  close(content);
}
