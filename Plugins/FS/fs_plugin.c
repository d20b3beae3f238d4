/*
 * fs_plugin.c: the FS capability, the guest's global `fs` (defined by fs_prelude.js).
 *
 * The policy judges real targets: every path is resolved (fs_paths.h: absolute, "." and "..",
 * symlinks) before the policy input document is built, so `/allowed/../etc/passwd` and a link
 * inside an allowed folder pointing outside are judged by where they lead. rm and rename, and the
 * destination of rename and copyFile, act on a final symlink itself, so their last component is
 * not followed.
 *
 * The filesystem can change between the policy's decision and the action, so `start` resolves the
 * paths again and refuses (EACCES) unless they make the very document the policy allowed
 * (host->allowed_input). Acting then reaches the resolved path without following any symlink
 * (fs_paths.h), so a link swapped in after that check makes the operation fail, never go elsewhere.
 *
 * Limits (the operator sets them with --plugin-config fs.KEY=VALUE):
 *   max_read_bytes  the largest file readFile returns, default 67108864 (64 MiB); a larger one
 *                   fails with EFBIG. Bytes the guest writes are bounded by its own heap.
 * Files are opened non-blocking, so a FIFO without a peer fails or reads empty instead of
 * blocking a host thread forever.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "fs_paths.h"
#include "mcpv8_capability.h"
#include "plugin_support.h"

#define PLUGIN_NAME "fs"
#define DEFAULT_MAX_READ_BYTES ((size_t)64 * 1024 * 1024)
#define COPY_CHUNK_BYTES 16384 /* on the stack of a host thread */

static const char prelude_js[] = {
#embed "fs_prelude.js"
    , 0};

typedef struct {
  const mcpv8_host_api *host;
  size_t max_read_bytes;
} fs_settings;

enum {
  FOLLOWS_FINAL_SYMLINK = 1 << 0,
  TAKES_DESTINATION = 1 << 1, /* whose final symlink is never followed */
  TAKES_RECURSIVE = 1 << 2,
  TAKES_ENCODING = 1 << 3,
};

typedef struct fs_request fs_request;

typedef struct {
  const char *name; /* as the prelude calls it and the policy sees it: "readFile" */
  unsigned flags;
  void (*act)(const fs_settings *settings, mcpv8_call *call, const fs_request *request);
} fs_operation_spec;

struct fs_request {
  const fs_operation_spec *operation;
  cJSON *json;                      /* owns the argument strings */
  const char *path_argument;        /* as the guest wrote it, for error messages */
  const char *destination_argument; /* NULL unless the operation takes one */
  char path[PATH_MAX];              /* resolved */
  char destination[PATH_MAX];
  bool recursive;
  bool as_buffer;
  const uint8_t *bytes; /* borrowed from `start`: writeFile's and appendFile's data */
  size_t bytes_length;
};

/* ---- Node-like errors ---- */

typedef struct {
  int number;
  const char *code;
  const char *description;
} errno_name;

/* libuv's wording, which Node's messages use. */
static const errno_name errno_names[] = {
    {EACCES, "EACCES", "permission denied"},
    {EAGAIN, "EAGAIN", "resource temporarily unavailable"},
    {EBUSY, "EBUSY", "resource busy or locked"},
    {EEXIST, "EEXIST", "file already exists"},
    {EFBIG, "EFBIG", "file too large"},
    {EINVAL, "EINVAL", "invalid argument"},
    {EIO, "EIO", "i/o error"},
    {EISDIR, "EISDIR", "illegal operation on a directory"},
    {ELOOP, "ELOOP", "too many symbolic links encountered"},
    {EMFILE, "EMFILE", "too many open files"},
    {ENAMETOOLONG, "ENAMETOOLONG", "name too long"},
    {ENOENT, "ENOENT", "no such file or directory"},
    {ENOMEM, "ENOMEM", "not enough memory"},
    {ENOSPC, "ENOSPC", "no space left on device"},
    {ENOTDIR, "ENOTDIR", "not a directory"},
    {ENOTEMPTY, "ENOTEMPTY", "directory not empty"},
    {ENXIO, "ENXIO", "no such device or address"},
    {EPERM, "EPERM", "operation not permitted"},
    {EROFS, "EROFS", "read-only file system"},
    {ETXTBSY, "ETXTBSY", "text file is busy"},
    {EXDEV, "EXDEV", "cross-device link not permitted"},
};

static errno_name describe_errno(int number) {
  for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++) {
    if (errno_names[i].number == number) return errno_names[i];
  }
  const char *code = strerrorname_np(number);
  const char *description = strerrordesc_np(number);
  return (errno_name){number, code ? code : "UNKNOWN", description ? description : "unknown error"};
}

/* Fails the call as Node would: "ENOENT: no such file or directory, open '/x'" with code
 * ENOENT; `hint` (may be NULL) follows in parentheses. */
static void fail_errno(const fs_settings *settings, mcpv8_call *call, const fs_request *request, int number,
                       const char *syscall, const char *hint) {
  errno_name name = describe_errno(number);
  const char *destination = request->destination_argument;
  char *message = NULL;
  if (asprintf(&message, "%s: %s, %s '%s'%s%s%s%s%s%s", name.code, name.description, syscall,
               request->path_argument, destination ? " -> '" : "", destination ? destination : "",
               destination ? "'" : "", hint ? " (" : "", hint ? hint : "", hint ? ")" : "") < 0) {
    message = NULL;
  }
  settings->host->fail(call, name.code, message ? message : name.description);
  free(message);
}

/* ---- Requests and policy input documents ---- */

__attribute__((format(printf, 2, 3))) static int malformed(char **error, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  if (vasprintf(error, format, arguments) < 0) *error = NULL;
  va_end(arguments);
  return EINVAL;
}

/* A path argument the prelude already checked; checked again since this is the ABI boundary.
 * An empty path would resolve to the working directory. */
static const char *path_member(const cJSON *json, const char *key) {
  const char *value = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, key));
  return value && *value ? value : NULL;
}

/* Parses and resolves a request. Returns 0, or an errno value and a message for the guest;
 * request->json is to be deleted either way. */
static int parse_request(const fs_operation_spec *operation, const char *json_text, size_t length,
                         fs_request *request, char **error) {
  *request = (fs_request){.operation = operation, .json = cJSON_ParseWithLength(json_text, length)};
  const cJSON *json = request->json;
  if (!cJSON_IsObject(json)) return malformed(error, "fs.%s: the request must be a JSON object", operation->name);
  request->path_argument = path_member(json, "path");
  if (!request->path_argument) return malformed(error, "fs.%s: path must be a non-empty string", operation->name);
  if (operation->flags & TAKES_DESTINATION) {
    request->destination_argument = path_member(json, "destination");
    if (!request->destination_argument) {
      return malformed(error, "fs.%s: destination must be a non-empty string", operation->name);
    }
  }
  if (operation->flags & TAKES_RECURSIVE) {
    const cJSON *recursive = cJSON_GetObjectItemCaseSensitive(json, "recursive");
    if (recursive && !cJSON_IsBool(recursive)) {
      return malformed(error, "fs.%s: recursive must be true or false", operation->name);
    }
    request->recursive = cJSON_IsTrue(recursive);
  }
  if (operation->flags & TAKES_ENCODING) {
    const char *encoding = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "encoding"));
    if (!encoding || (strcmp(encoding, "utf8") != 0 && strcmp(encoding, "buffer") != 0)) {
      return malformed(error, "fs.%s: encoding must be \"utf8\" or \"buffer\"", operation->name);
    }
    request->as_buffer = strcmp(encoding, "buffer") == 0;
  }

  const char *failed_argument = request->path_argument;
  int failure = fs_resolve_path(request->path_argument, operation->flags & FOLLOWS_FINAL_SYMLINK, request->path);
  if (!failure && request->destination_argument) {
    failed_argument = request->destination_argument;
    failure = fs_resolve_path(request->destination_argument, false, request->destination);
  }
  if (failure) {
    errno_name name = describe_errno(failure);
    malformed(error, "%s: %s, resolving '%s'", name.code, name.description, failed_argument);
  }
  return failure;
}

/* The policy input document, in the seeds' format. */
static char *policy_document(const fs_request *request) {
  const unsigned flags = request->operation->flags;
  cJSON *document = cJSON_CreateObject();
  cJSON_AddStringToObject(document, "operation", request->operation->name);
  cJSON_AddStringToObject(document, "path", request->path);
  if (flags & TAKES_DESTINATION) cJSON_AddStringToObject(document, "destination", request->destination);
  if (flags & TAKES_RECURSIVE) cJSON_AddBoolToObject(document, "recursive", request->recursive);
  if (flags & TAKES_ENCODING) cJSON_AddStringToObject(document, "encoding", request->as_buffer ? "buffer" : "utf8");
  char *text = cJSON_PrintUnformatted(document);
  cJSON_Delete(document);
  return text;
}

static int build_policy_input(const fs_operation_spec *operation, const char *request_json, size_t request_length,
                              char **input, char **error) {
  fs_request request;
  int failure = parse_request(operation, request_json, request_length, &request, error);
  if (!failure) {
    *input = policy_document(&request);
    if (!*input) failure = malformed(error, "fs.%s: out of memory", operation->name);
  }
  cJSON_Delete(request.json);
  return failure != 0;
}

/* The document the paths make as they resolve now must be the one the policy allowed: a symlink
 * changed since policy_input resolved them would otherwise reach something it never judged. */
static bool still_allowed(const fs_settings *settings, mcpv8_call *call, const fs_request *request) {
  char *document = policy_document(request);
  if (!document) {
    fail_errno(settings, call, request, ENOMEM, request->operation->name, NULL);
    return false;
  }
  size_t allowed_length = 0;
  const char *allowed = settings->host->allowed_input(call, &allowed_length);
  bool same = strlen(document) == allowed_length && memcmp(document, allowed, allowed_length) == 0;
  if (!same) {
    const char *destination = request->destination_argument ? request->destination : NULL;
    char *hint = NULL;
    if (asprintf(&hint, "it changed since the policy allowed it: it now resolves to '%s'%s%s%s", request->path,
                 destination ? " -> '" : "", destination ? destination : "", destination ? "'" : "") < 0) {
      hint = NULL;
    }
    fail_errno(settings, call, request, EACCES, request->operation->name, hint);
    free(hint);
  }
  free(document);
  return same;
}

static void start_operation(const fs_operation_spec *operation, const fs_settings *settings, mcpv8_call *call,
                            const char *request_json, size_t request_length, const uint8_t *bytes,
                            size_t bytes_length) {
  fs_request request;
  char *error = NULL;
  int failure = parse_request(operation, request_json, request_length, &request, &error);
  if (failure) {
    errno_name name = describe_errno(failure);
    settings->host->fail(call, name.code, error ? error : name.description);
  } else if (still_allowed(settings, call, &request)) {
    request.bytes = bytes;
    request.bytes_length = bytes_length;
    operation->act(settings, call, &request);
  }
  free(error);
  cJSON_Delete(request.json);
}

/* ---- Reading and writing ---- */

/* Reads to end of file, failing with EFBIG past `limit` bytes. */
static int read_all(int file, size_t expected_size, size_t limit, uint8_t **contents, size_t *length) {
  size_t capacity = (expected_size < limit ? expected_size : limit) + 1; /* +1 notices growth past the limit */
  uint8_t *buffer = malloc(capacity);
  size_t used = 0;
  while (buffer) {
    if (used == capacity) {
      if (capacity > limit) break;
      size_t grown = capacity > limit / 2 ? limit + 1 : capacity * 2;
      uint8_t *bigger = realloc(buffer, grown);
      if (!bigger) break;
      buffer = bigger;
      capacity = grown;
    }
    ssize_t count = read(file, buffer + used, capacity - used);
    if (count == 0) {
      *contents = buffer;
      *length = used;
      return 0;
    }
    if (count < 0 && errno != EINTR) {
      int failure = errno;
      free(buffer);
      return failure;
    }
    if (count > 0) used += (size_t)count;
  }
  free(buffer);
  return used > limit ? EFBIG : ENOMEM;
}

static int write_all(int file, const uint8_t *bytes, size_t length) {
  while (length > 0) {
    ssize_t count = write(file, bytes, length);
    if (count < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    bytes += count;
    length -= (size_t)count;
  }
  return 0;
}

/* Ends an operation that returns nothing: completes, or fails as Node would. */
static void finish(const fs_settings *settings, mcpv8_call *call, const fs_request *request, int failure,
                   const char *syscall) {
  if (failure) {
    fail_errno(settings, call, request, failure, syscall, NULL);
  } else {
    settings->host->complete(call, NULL, 0, NULL, 0);
  }
}

static void complete_json(const fs_settings *settings, mcpv8_call *call, const fs_request *request, cJSON *value) {
  char *text = cJSON_PrintUnformatted(value);
  cJSON_Delete(value);
  if (text) {
    settings->host->complete(call, text, strlen(text), NULL, 0);
  } else {
    fail_errno(settings, call, request, ENOMEM, request->operation->name, NULL);
  }
  free(text);
}

static void act_read_file(const fs_settings *settings, mcpv8_call *call, const fs_request *request) {
  int file = fs_open_resolved(request->path, O_RDONLY | O_NONBLOCK, 0);
  if (file < 0) {
    fail_errno(settings, call, request, errno, "open", NULL);
    return;
  }
  struct stat status;
  uint8_t *contents = NULL;
  size_t length = 0;
  int failure = fstat(file, &status) == 0 ? 0 : errno;
  if (!failure) {
    size_t expected_size = status.st_size > 0 ? (size_t)status.st_size : 0;
    failure = expected_size > settings->max_read_bytes
                  ? EFBIG
                  : read_all(file, expected_size, settings->max_read_bytes, &contents, &length);
  }
  close(file);
  if (failure == EFBIG) {
    char *hint = NULL;
    if (asprintf(&hint, "larger than %zu bytes, the most fs.readFile reads; the operator sets it with "
                        "--plugin-config fs.max_read_bytes=BYTES",
                 settings->max_read_bytes) < 0) {
      hint = NULL;
    }
    fail_errno(settings, call, request, EFBIG, "read", hint);
    free(hint);
  } else if (failure) {
    fail_errno(settings, call, request, failure, "read", NULL);
  } else {
    settings->host->complete(call, NULL, 0, contents, length);
  }
  free(contents);
}

static void write_file(const fs_settings *settings, mcpv8_call *call, const fs_request *request, int mode_flag) {
  int file = fs_open_resolved(request->path, O_WRONLY | O_CREAT | O_NONBLOCK | mode_flag, 0666);
  if (file < 0) {
    fail_errno(settings, call, request, errno, "open", NULL);
    return;
  }
  int failure = write_all(file, request->bytes, request->bytes_length);
  if (close(file) != 0 && !failure) failure = errno;
  finish(settings, call, request, failure, "write");
}

static void act_write_file(const fs_settings *settings, mcpv8_call *call, const fs_request *request) {
  write_file(settings, call, request, O_TRUNC);
}

static void act_append_file(const fs_settings *settings, mcpv8_call *call, const fs_request *request) {
  write_file(settings, call, request, O_APPEND);
}

static int compare_names(const void *left, const void *right) {
  return strcmp(*(char *const *)left, *(char *const *)right);
}

static void free_names(char **names, size_t count) {
  for (size_t i = 0; i < count; i++) free(names[i]);
  free(names);
}

/* The entry names of an open directory (without "." and ".."), sorted bytewise. Leaves
 * `directory` open for the caller. Returns 0 or an errno value. */
static int list_directory(int directory, char ***names, size_t *count) {
  int listing = dup(directory);
  DIR *stream = listing < 0 ? NULL : fdopendir(listing);
  if (!stream) {
    int failure = errno;
    if (listing >= 0) close(listing);
    return failure;
  }
  *names = NULL;
  *count = 0;
  size_t capacity = 0;
  int failure = 0;
  for (;;) {
    errno = 0;
    struct dirent *entry = readdir(stream);
    if (!entry) {
      failure = errno;
      break;
    }
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    if (*count == capacity) {
      capacity = capacity ? capacity * 2 : 16;
      char **bigger = realloc(*names, capacity * sizeof **names);
      if (!bigger) {
        failure = ENOMEM;
        break;
      }
      *names = bigger;
    }
    if (!((*names)[*count] = strdup(entry->d_name))) {
      failure = ENOMEM;
      break;
    }
    (*count)++;
  }
  closedir(stream);
  if (failure) {
    free_names(*names, *count);
    return failure;
  }
  if (*count > 1) qsort(*names, *count, sizeof **names, compare_names); /* names is NULL when empty */
  return 0;
}

static void act_readdir(const fs_settings *settings, mcpv8_call *call, const fs_request *request) {
  int directory = fs_open_resolved(request->path, O_RDONLY | O_DIRECTORY, 0);
  if (directory < 0) {
    fail_errno(settings, call, request, errno, "scandir", NULL);
    return;
  }
  char **names;
  size_t count;
  int failure = list_directory(directory, &names, &count);
  close(directory);
  if (failure) {
    fail_errno(settings, call, request, failure, "scandir", NULL);
    return;
  }
  cJSON *array = cJSON_CreateArray();
  for (size_t i = 0; i < count; i++) cJSON_AddItemToArray(array, cJSON_CreateString(names[i]));
  free_names(names, count);
  complete_json(settings, call, request, array);
}

static double milliseconds(struct timespec time) {
  return (double)time.tv_sec * 1000.0 + (double)time.tv_nsec / 1e6;
}

static void act_stat(const fs_settings *settings, mcpv8_call *call, const fs_request *request) {
  struct stat status;
  int failure = fs_stat_resolved(request->path, &status);
  if (failure) {
    fail_errno(settings, call, request, failure, "stat", NULL);
    return;
  }
  cJSON *info = cJSON_CreateObject();
  cJSON_AddNumberToObject(info, "size", (double)status.st_size);
  cJSON_AddBoolToObject(info, "isFile", S_ISREG(status.st_mode));
  cJSON_AddBoolToObject(info, "isDirectory", S_ISDIR(status.st_mode));
  cJSON_AddBoolToObject(info, "isSymbolicLink", S_ISLNK(status.st_mode));
  cJSON_AddNumberToObject(info, "mode", status.st_mode);
  cJSON_AddNumberToObject(info, "mtimeMs", milliseconds(status.st_mtim));
  cJSON_AddNumberToObject(info, "atimeMs", milliseconds(status.st_atim));
  cJSON_AddNumberToObject(info, "ctimeMs", milliseconds(status.st_ctim));
  complete_json(settings, call, request, info);
}

static void act_mkdir(const fs_settings *settings, mcpv8_call *call, const fs_request *request) {
  const char *name;
  int directory = fs_open_parent(request->path, &name, request->recursive);
  int failure = directory >= 0 && mkdirat(directory, name, 0777) == 0 ? 0 : errno;
  struct stat status;
  if (failure == EEXIST && request->recursive && fstatat(directory, name, &status, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISDIR(status.st_mode)) {
    failure = 0;
  }
  if (directory >= 0) close(directory);
  finish(settings, call, request, failure, "mkdir");
}

/* Removes the directory `name` in `parent` and everything under it, following no symlink
 * (a link inside is removed, not its target). Returns 0 or an errno value. */
static int remove_tree(int parent, const char *name) {
  int directory = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (directory < 0) return errno;
  char **names;
  size_t count;
  int failure = list_directory(directory, &names, &count);
  if (!failure) {
    for (size_t i = 0; !failure && i < count; i++) {
      if (unlinkat(directory, names[i], 0) != 0) failure = errno == EISDIR ? remove_tree(directory, names[i]) : errno;
    }
    free_names(names, count);
  }
  close(directory);
  if (!failure && unlinkat(parent, name, AT_REMOVEDIR) != 0) failure = errno;
  return failure;
}

static void act_rm(const fs_settings *settings, mcpv8_call *call, const fs_request *request) {
  const char *name;
  int directory = fs_open_parent(request->path, &name, false);
  int failure = directory >= 0 && unlinkat(directory, name, 0) == 0 ? 0 : errno;
  if (failure == EISDIR && request->recursive) failure = remove_tree(directory, name);
  if (directory >= 0) close(directory);
  if (failure == EISDIR) {
    fail_errno(settings, call, request, failure, "rm", "a directory is removed only with {recursive: true}");
  } else {
    finish(settings, call, request, failure, "rm");
  }
}

static void act_rename(const fs_settings *settings, mcpv8_call *call, const fs_request *request) {
  const char *source_name, *destination_name = NULL;
  int source_directory = fs_open_parent(request->path, &source_name, false);
  int failure = source_directory < 0 ? errno : 0;
  int destination_directory = failure ? -1 : fs_open_parent(request->destination, &destination_name, false);
  if (!failure && destination_directory < 0) failure = errno;
  if (!failure && renameat(source_directory, source_name, destination_directory, destination_name) != 0) {
    failure = errno;
  }
  if (source_directory >= 0) close(source_directory);
  if (destination_directory >= 0) close(destination_directory);
  finish(settings, call, request, failure, "rename");
}

static int copy_contents(int from, int to) {
  uint8_t chunk[COPY_CHUNK_BYTES];
  for (;;) {
    ssize_t count = read(from, chunk, sizeof chunk);
    if (count == 0) return 0;
    if (count < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    int failure = write_all(to, chunk, (size_t)count);
    if (failure) return failure;
  }
}

static void act_copy_file(const fs_settings *settings, mcpv8_call *call, const fs_request *request) {
  struct stat source_status, destination_status;
  int source = fs_open_resolved(request->path, O_RDONLY | O_NONBLOCK, 0);
  int failure = source < 0 || fstat(source, &source_status) != 0 ? errno : 0;
  if (!failure && S_ISDIR(source_status.st_mode)) failure = EISDIR;
  /* Not truncated on opening: copying a file onto itself must leave it whole. */
  int destination = failure ? -1
                            : fs_open_resolved(request->destination, O_WRONLY | O_CREAT | O_NONBLOCK,
                                               source_status.st_mode & 0777);
  if (!failure && destination < 0) failure = errno;
  bool same_file = !failure && fstat(destination, &destination_status) == 0 &&
                   destination_status.st_dev == source_status.st_dev &&
                   destination_status.st_ino == source_status.st_ino;
  if (!failure && !same_file) failure = ftruncate(destination, 0) == 0 ? copy_contents(source, destination) : errno;
  if (source >= 0) close(source);
  if (destination >= 0 && close(destination) != 0 && !failure) failure = errno;
  finish(settings, call, request, failure, "copyfile");
}

static void act_exists(const fs_settings *settings, mcpv8_call *call, const fs_request *request) {
  struct stat status;
  const char *answer = fs_stat_resolved(request->path, &status) == 0 ? "true" : "false";
  settings->host->complete(call, answer, strlen(answer), NULL, 0);
}

/* ---- The descriptor ---- */

/* name, flags, action: one row per operation. */
#define FS_OPERATIONS(X)                                                \
  X(readFile, FOLLOWS_FINAL_SYMLINK | TAKES_ENCODING, act_read_file)    \
  X(writeFile, FOLLOWS_FINAL_SYMLINK, act_write_file)                   \
  X(appendFile, FOLLOWS_FINAL_SYMLINK, act_append_file)                 \
  X(readdir, FOLLOWS_FINAL_SYMLINK, act_readdir)                        \
  X(stat, FOLLOWS_FINAL_SYMLINK, act_stat)                              \
  X(mkdir, FOLLOWS_FINAL_SYMLINK | TAKES_RECURSIVE, act_mkdir)          \
  X(rm, TAKES_RECURSIVE, act_rm)                                        \
  X(rename, TAKES_DESTINATION, act_rename)                              \
  X(copyFile, FOLLOWS_FINAL_SYMLINK | TAKES_DESTINATION, act_copy_file) \
  X(exists, FOLLOWS_FINAL_SYMLINK, act_exists)

/* The ABI tells an operation's functions neither its name nor its row, so each operation gets
 * two small entry points that hand their row to the shared code. */
#define DEFINE_OPERATION(name, flags, act)                                                                    \
  static const fs_operation_spec name##_spec = {#name, flags, act};                                            \
  static int name##_policy_input(void *state, const char *request_json, size_t request_length, char **input,   \
                                 char **error) {                                                               \
    (void)state;                                                                                               \
    return build_policy_input(&name##_spec, request_json, request_length, input, error);                       \
  }                                                                                                            \
  static void name##_start(void *state, mcpv8_call *call, const char *request_json, size_t request_length,     \
                           const uint8_t *bytes, size_t bytes_length) {                                        \
    start_operation(&name##_spec, state, call, request_json, request_length, bytes, bytes_length);             \
  }
FS_OPERATIONS(DEFINE_OPERATION)

#define OPERATION_ENTRY(name, flags, act) {sizeof(mcpv8_operation), #name, name##_policy_input, name##_start, NULL},
static const mcpv8_operation fs_operations[] = {FS_OPERATIONS(OPERATION_ENTRY)};

static const char *const fs_globals[] = {"fs"};

static fs_settings plugin_settings;

static const mcpv8_plugin fs_plugin = {
    .size = sizeof(mcpv8_plugin),
    .abi_major = MCPV8_ABI_MAJOR,
    .abi_minor = MCPV8_ABI_MINOR,
    .name = PLUGIN_NAME,
    .version = "1.0.0",
    .category = "fs",
    .globals = fs_globals,
    .global_count = sizeof fs_globals / sizeof fs_globals[0],
    .prelude_js = prelude_js,
    .operations = fs_operations,
    .operation_count = sizeof fs_operations / sizeof fs_operations[0],
    .state = &plugin_settings,
    .release = free,
    .shutdown = NULL,
    .usage = "fs, all async: fs.readFile(path, 'utf8'|'buffer'?) -> string|Uint8Array, fs.writeFile(path, data), "
             "fs.appendFile(path, data), fs.readdir(path), fs.stat(path), fs.mkdir(path, {recursive}?), "
             "fs.rm(path, {recursive}?), fs.rename(from, to), fs.copyFile(from, to), fs.exists(path)",
};

__attribute__((visibility("default"))) const mcpv8_plugin *mcpv8_plugin_entry(const mcpv8_host_api *host, char *error,
                                                                              size_t error_capacity) {
  // At most SIZE_MAX / 2, so the read buffer's one byte of headroom cannot overflow.
  unsigned long long max_read_bytes;
  if (!plugin_host_is_complete(host, PLUGIN_NAME, error, error_capacity) ||
      !plugin_read_setting(host, NULL, PLUGIN_NAME, "max_read_bytes", DEFAULT_MAX_READ_BYTES, SIZE_MAX / 2, &max_read_bytes,
                           error, error_capacity)) {
    return NULL;
  }
  plugin_settings.host = host;
  plugin_settings.max_read_bytes = (size_t)max_read_bytes;
  return &fs_plugin;
}
