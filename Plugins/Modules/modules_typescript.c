/*
 * Stripping the types from a TypeScript module: esbuild runs as a child process (no shell) with
 * the source on its stdin, and writes JavaScript to its stdout and errors to its stderr.
 *
 * The worker is multi-threaded (V8), so esbuild is started with posix_spawn, never fork. Its
 * pipes are close-on-exec here, and every other descriptor is closed in the child. The worker's
 * standard streams are always open (the host starts it so), so no pipe takes their numbers.
 * esbuild leads a process group of its own, killed whole when it ends, so a wrapper script's
 * children never outlive it either.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "modules_internal.h"
#include "plugin_io.h"

/* esbuild's messages past this are dropped: the first errors are the ones that help. */
#define MOST_ERROR_BYTES 8192

extern char **environ;

static bool ends_with(const char *text, const char *suffix) {
  size_t length = strlen(text), suffix_length = strlen(suffix);
  return length >= suffix_length && strcmp(text + length - suffix_length, suffix) == 0;
}

const char *modules_typescript_loader(const plugin_url *url, const char *content_type) {
  static const char *const typescript_types[] = {"application/typescript", "text/typescript"};
  if (ends_with(url->path, ".tsx")) return "tsx";
  if (ends_with(url->path, ".ts") || ends_with(url->path, ".mts")) return "ts";
  if (!content_type) return NULL;
  size_t length = strcspn(content_type, "; \t"); /* the media type, without parameters */
  for (size_t i = 0; i < sizeof typescript_types / sizeof *typescript_types; i++) {
    if (length == strlen(typescript_types[i]) && strncasecmp(content_type, typescript_types[i], length) == 0) {
      return "ts";
    }
  }
  return NULL;
}

/* ---- the child ---- */

typedef struct {
  int fd; /* -1 once at end of file */
  unsigned char *data;
  size_t length, capacity;
  size_t limit;    /* most bytes kept */
  bool overflowed; /* more came than `limit` */
} child_output;

typedef enum { ESBUILD_FINISHED, ESBUILD_TIMED_OUT, ESBUILD_TOO_LARGE, ESBUILD_RUN_FAILED } esbuild_ending;

/* A close-on-exec pipe whose end `ours` (0 or 1) is non-blocking. 0 or an errno. */
static int make_pipe(int ends[2], int ours) {
  if (pipe2(ends, O_CLOEXEC) != 0) return errno;
  if (fcntl(ends[ours], F_SETFL, O_NONBLOCK) == 0) return 0;
  int failure = errno;
  plugin_close_fd(&ends[0]);
  plugin_close_fd(&ends[1]);
  return failure;
}

/* Starts esbuild on `streams` (its stdin, stdout and stderr), in a process group of its own, with
 * the default signal handling and mask rather than those of this thread and process. 0, or an
 * errno (ENOENT when there is no such executable). */
static int spawn_esbuild(const modules_state *state, const char *loader, const int streams[3], pid_t *pid) {
  char loader_flag[16];
  snprintf(loader_flag, sizeof loader_flag, "--loader=%s", loader);
  char *const argv[] = {state->esbuild, loader_flag, "--format=esm", "--log-level=error", NULL};
  sigset_t no_signals, default_signals;
  sigemptyset(&no_signals);
  sigfillset(&default_signals);
  sigdelset(&default_signals, SIGKILL);
  sigdelset(&default_signals, SIGSTOP);
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  int failure = posix_spawn_file_actions_init(&actions);
  if (failure) return failure;
  failure = posix_spawnattr_init(&attributes);
  for (int target = 0; !failure && target < 3; target++) {
    failure = posix_spawn_file_actions_adddup2(&actions, streams[target], target);
  }
  if (!failure) failure = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  if (!failure) {
    failure = posix_spawnattr_setflags(&attributes,
                                       POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  if (!failure) failure = posix_spawnattr_setsigmask(&attributes, &no_signals);
  if (!failure) failure = posix_spawnattr_setsigdefault(&attributes, &default_signals);
  if (!failure) failure = posix_spawnp(pid, state->esbuild, &actions, &attributes, argv, environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  return failure;
}

/* Records esbuild's process group, so cancel can kill it; false when the import was cancelled before. */
static bool record_esbuild(modules_import *import, pid_t pid) {
  pthread_mutex_lock(&import->base.registry->lock);
  import->esbuild_pid = pid;
  bool cancelled = atomic_load(&import->base.cancelled);
  pthread_mutex_unlock(&import->base.registry->lock);
  return !cancelled;
}

/* Before esbuild is reaped: then its pid could name another process. */
static void forget_esbuild(modules_import *import) {
  pthread_mutex_lock(&import->base.registry->lock);
  import->esbuild_pid = 0;
  pthread_mutex_unlock(&import->base.registry->lock);
}

void modules_kill_esbuild(plugin_job *job) {
  modules_import *import = (modules_import *)job;
  if (import->esbuild_pid > 0) kill(-import->esbuild_pid, SIGKILL);
}

/* ---- pumping ---- */

/* Reads what is ready from `output`, keeping at most its limit. 0 or an errno. */
static int read_output(child_output *output) {
  unsigned char chunk[16384];
  for (;;) {
    ssize_t count = read(output->fd, chunk, sizeof chunk);
    if (count == 0) {
      plugin_close_fd(&output->fd);
      return 0;
    }
    if (count < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN ? 0 : errno;
    }
    size_t kept = output->limit - output->length < (size_t)count ? output->limit - output->length : (size_t)count;
    output->overflowed |= kept < (size_t)count;
    if (!plugin_append_bytes(&output->data, &output->length, &output->capacity, chunk, kept)) return ENOMEM;
  }
}

/* Feeds esbuild and reads its outputs until it exits, the import's time runs out, or its stdout
 * passes the limit. */
static esbuild_ending pump(const modules_import *import, int pidfd, int *input, const modules_source *source,
                           child_output outputs[2], int *failure) {
  size_t written = 0;
  for (bool exited = false; !exited;) {
    long remaining = modules_milliseconds_until(&import->deadline);
    if (remaining <= 0) return ESBUILD_TIMED_OUT;
    struct pollfd watched[4] = {
        {.fd = outputs[0].fd, .events = POLLIN},
        {.fd = outputs[1].fd, .events = POLLIN},
        {.fd = *input, .events = POLLOUT},
        {.fd = pidfd, .events = POLLIN},
    };
    if (poll(watched, 4, remaining < INT_MAX ? (int)remaining : INT_MAX) < 0) {
      if (errno == EINTR) continue;
      *failure = errno;
      return ESBUILD_RUN_FAILED;
    }
    for (int i = 0; i < 2; i++) {
      if (watched[i].revents && (*failure = read_output(&outputs[i]))) return ESBUILD_RUN_FAILED;
    }
    if (outputs[0].overflowed) return ESBUILD_TOO_LARGE;
    if (watched[2].revents) plugin_write_available(input, source->bytes, source->length, &written);
    exited = watched[3].revents != 0;
  }
  /* What esbuild wrote is in the pipes now. Children of a wrapper could hold them open forever,
   * so only that is read. */
  for (int i = 0; i < 2; i++) {
    if (outputs[i].fd >= 0 && (*failure = read_output(&outputs[i]))) return ESBUILD_RUN_FAILED;
  }
  return outputs[0].overflowed ? ESBUILD_TOO_LARGE : ESBUILD_FINISHED;
}

/* ---- the whole run ---- */

/* Ends the call unless esbuild made JavaScript, which then replaces `source`. */
static bool finish(modules_import *import, esbuild_ending ending, int failure, int status, child_output outputs[2],
                   modules_source *source) {
  const modules_state *state = import->state;
  const char *url = import->request.url.href;
  child_output *errors = &outputs[1];
  if (modules_fail_if_cancelled(import)) return false;
  if (ending == ESBUILD_TIMED_OUT) {
    modules_fail_timeout(import);
  } else if (ending == ESBUILD_TOO_LARGE) {
    modules_fail_too_large(import);
  } else if (ending == ESBUILD_RUN_FAILED) {
    modules_fail(import, "ERR_MODULE_TYPESCRIPT", "could not run %s to strip the types from %s: %s%s", state->esbuild,
                 url, strerror(failure), failure == ENOENT ? " (set --plugin-config modules.esbuild=PATH)" : "");
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (errors->length > 0 && memchr(" \t\r\n", errors->data[errors->length - 1], 4)) errors->length--;
    if (errors->length > 0) {
      modules_fail(import, "ERR_MODULE_TYPESCRIPT", "esbuild could not strip the types from %s: %.*s", url,
                   (int)errors->length, (const char *)errors->data);
    } else {
      modules_fail(import, "ERR_MODULE_TYPESCRIPT", "esbuild could not strip the types from %s: it %s %d", url,
                   WIFEXITED(status) ? "exited with status" : "was killed by signal",
                   WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
  } else {
    free(source->bytes);
    source->bytes = outputs[0].data;
    source->length = outputs[0].length;
    outputs[0].data = NULL;
    return true;
  }
  return false;
}

bool modules_strip_types(modules_import *import, const char *loader, modules_source *source) {
  child_output outputs[2] = {{.fd = -1, .limit = import->state->max_module_bytes},
                             {.fd = -1, .limit = MOST_ERROR_BYTES}};
  int input[2] = {-1, -1}, output[2] = {-1, -1}, errors[2] = {-1, -1};
  int failure = make_pipe(input, 1);
  if (!failure) failure = make_pipe(output, 0);
  if (!failure) failure = make_pipe(errors, 0);
  pid_t pid = -1;
  if (!failure) failure = spawn_esbuild(import->state, loader, (const int[3]){input[0], output[1], errors[1]}, &pid);
  plugin_close_fd(&input[0]);
  plugin_close_fd(&output[1]);
  plugin_close_fd(&errors[1]);
  outputs[0].fd = output[0];
  outputs[1].fd = errors[0];
  esbuild_ending ending = ESBUILD_RUN_FAILED;
  int status = 0;
  if (!failure) {
    int pidfd = pidfd_open(pid, 0);
    if (pidfd < 0) {
      failure = errno;
    } else if (record_esbuild(import, pid)) {
      ending = pump(import, pidfd, &input[1], source, outputs, &failure);
    }
    plugin_close_fd(&pidfd);
    /* esbuild has exited, or is to die now; unreaped, its pid still names its group. */
    kill(-pid, SIGKILL);
    forget_esbuild(import);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) continue;
  }
  for (int i = 0; i < 2; i++) plugin_close_fd(&outputs[i].fd);
  plugin_close_fd(&input[1]);
  bool stripped = finish(import, ending, failure, status, outputs, source);
  for (int i = 0; i < 2; i++) free(outputs[i].data);
  return stripped;
}
