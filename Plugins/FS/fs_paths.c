/*
 * fs_paths.c: resolving FS paths and reaching them without following symlinks (see fs_paths.h).
 */
#define _GNU_SOURCE
#include "fs_paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *absolute_path(const char *path) {
  if (path[0] == '/') return strdup(path);
  char *directory = getcwd(NULL, 0);
  if (!directory) return NULL;
  char *joined = NULL;
  if (asprintf(&joined, "%s/%s", directory, path) < 0) joined = NULL;
  free(directory);
  return joined;
}

int fs_resolve_path(const char *path, bool follow_final_symlink, char resolved[static PATH_MAX]) {
  char *pending = absolute_path(path);
  if (!pending) return errno;
  size_t resolved_length = 0; /* "/a/b" with no trailing '/'; 0 stands for "/" */
  int hops = 0;
  int failure = 0;
  for (const char *cursor = pending; !failure;) {
    cursor += strspn(cursor, "/");
    if (*cursor == '\0') break;
    size_t name_length = strcspn(cursor, "/");
    const char *rest = cursor + name_length;
    bool is_final = rest[strspn(rest, "/")] == '\0';
    if (name_length == 1 && cursor[0] == '.') {
      cursor = rest;
      continue;
    }
    if (name_length == 2 && cursor[0] == '.' && cursor[1] == '.') {
      while (resolved_length > 0 && resolved[--resolved_length] != '/') {
      }
      cursor = rest;
      continue;
    }
    if (resolved_length + 1 + name_length >= PATH_MAX) {
      failure = ENAMETOOLONG;
      break;
    }
    size_t parent_length = resolved_length;
    resolved[resolved_length++] = '/';
    memcpy(resolved + resolved_length, cursor, name_length);
    resolved_length += name_length;
    resolved[resolved_length] = '\0';
    cursor = rest;
    if ((is_final && !follow_final_symlink) || hops == FS_MAX_SYMLINK_HOPS) continue;

    char target[PATH_MAX];
    ssize_t target_length = readlink(resolved, target, sizeof target);
    if (target_length < 0) continue; /* not a symlink, missing, or not ours to look at */
    if ((size_t)target_length == sizeof target) {
      failure = ENAMETOOLONG;
      break;
    }
    hops++;
    char *expanded = NULL;
    if (asprintf(&expanded, "%.*s/%s", (int)target_length, target, rest) < 0) {
      failure = ENOMEM;
      break;
    }
    free(pending);
    pending = expanded;
    cursor = pending;
    resolved_length = target[0] == '/' ? 0 : parent_length;
  }
  free(pending);
  if (failure) return failure;
  if (resolved_length == 0) resolved[resolved_length++] = '/';
  resolved[resolved_length] = '\0';
  return 0;
}

int fs_open_parent(const char *resolved, const char **last_name, bool create_missing) {
  int directory = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  const char *name = resolved + 1;
  for (const char *slash; directory >= 0 && (slash = strchr(name, '/')); name = slash + 1) {
    char component[NAME_MAX + 1];
    size_t length = (size_t)(slash - name);
    int child = -1;
    if (length > NAME_MAX) {
      errno = ENAMETOOLONG;
    } else {
      memcpy(component, name, length);
      component[length] = '\0';
      const int flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
      child = openat(directory, component, flags);
      if (child < 0 && errno == ENOENT && create_missing &&
          (mkdirat(directory, component, 0777) == 0 || errno == EEXIST)) {
        child = openat(directory, component, flags);
      }
    }
    int saved_errno = errno;
    close(directory);
    errno = saved_errno;
    directory = child;
  }
  *last_name = *name ? name : ".";
  return directory;
}

int fs_open_resolved(const char *resolved, int flags, mode_t mode) {
  const char *name;
  int directory = fs_open_parent(resolved, &name, false);
  if (directory < 0) return -1;
  int file = openat(directory, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
  int saved_errno = errno;
  close(directory);
  errno = saved_errno;
  return file;
}

int fs_stat_resolved(const char *resolved, struct stat *status) {
  const char *name;
  int directory = fs_open_parent(resolved, &name, false);
  if (directory < 0) return errno;
  int failure = fstatat(directory, name, status, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
  close(directory);
  return failure;
}
