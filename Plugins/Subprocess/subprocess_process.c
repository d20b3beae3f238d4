/*
 * Running one child to its end, on the job's own thread: fork, feed stdin, capture stdout and
 * stderr, watch the clock and the output limit, kill the process group, reap, end the call.
 *
 * The worker is multi-threaded (V8), so the child is made with _Fork (no atfork handlers run)
 * and calls only async-signal-safe functions before execve; everything it needs is prepared
 * beforehand. It reports a failure to set up or to exec through a close-on-exec pipe. Every
 * descriptor this file opens is close-on-exec, and descriptors the host left inheritable are
 * marked so in the child, which inherits only its three standard streams.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plugin_io.h"
#include "subprocess_internal.h"

#define FIRST_READ_CAPACITY 65536

/* What a child could not do before running the command. */
typedef enum { STAGE_SETUP, STAGE_CHDIR, STAGE_EXEC } spawn_stage;

typedef struct {
  spawn_stage stage;
  int number; /* errno */
} spawn_failure;

typedef struct {
  const char *name; /* "stdout" or "stderr", for messages */
  int fd;           /* the plugin's end; -1 once at end of file */
  uint8_t *data;
  size_t length, capacity;
} captured_output;

/* BEYOND_RUN_MEMORY: the output did not fit in the run's memory for buffers (host->claim_bytes). */
typedef enum { CHILD_EXITED, SPAWN_FAILED, TIMED_OUT, OUTPUT_TOO_LARGE, BEYOND_RUN_MEMORY, WATCH_FAILED } ending;

typedef struct {
  ending how;
  int failure;                      /* the errno of WATCH_FAILED */
  spawn_failure spawn;              /* for SPAWN_FAILED */
  int status;                       /* waitpid's, for CHILD_EXITED */
  captured_output outputs[2];       /* stdout, stderr */
  const captured_output *too_large; /* for OUTPUT_TOO_LARGE and BEYOND_RUN_MEMORY */
} child_outcome;

/* ---- the child's side ---- */

/* In the child, after _Fork: only async-signal-safe calls. */
static _Noreturn void become_child(const subprocess_request *request, const int standard_streams[3], int report,
                                   pid_t parent) {
  spawn_failure failure = {STAGE_SETUP, 0};
  /* Its own session (and group), so one kill reaches its descendants, and the worker tells what
   * runs started from its own helpers: whatever detaches from the group stays outside the worker's
   * session, and the worker kills it when the run ends. It dies with the forking thread. */
  if (setsid() < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) goto failed;
  if (getppid() != parent) _exit(127); /* the worker is already gone: nobody to report to */
  /* Ignored signals and the mask survive execve: give the command the defaults. */
  struct sigaction default_action = {.sa_handler = SIG_DFL};
  for (int signal_number = 1; signal_number < NSIG; signal_number++) {
    if (signal_number != SIGKILL && signal_number != SIGSTOP) sigaction(signal_number, &default_action, NULL);
  }
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) goto failed;
  for (int target = 0; target < 3; target++) {
    if (dup2(standard_streams[target], target) < 0) goto failed;
  }
  if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) goto failed;
  failure.stage = STAGE_CHDIR;
  if (chdir(request->cwd) != 0) goto failed;
  failure.stage = STAGE_EXEC;
  execve(request->command, (char *const *)request->argv, request->envp);
failed:
  failure.number = errno;
  (void)!write(report, &failure, sizeof failure);
  _exit(127);
}

/* ---- descriptors ---- */

/* `fd`, or a close-on-exec copy of it numbered 3 or more when it has a standard stream's number:
 * dup2 onto that number in the child would keep close-on-exec. -1 with errno set (and `fd`
 * closed) on failure. */
static int above_standard_streams(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int failure = errno;
  close(fd);
  errno = failure;
  return moved;
}

/* A close-on-exec pipe whose plugin end (0 or 1; -1 for none) is non-blocking. 0 or an errno. */
static int make_pipe(int ends[2], int plugin_end) {
  if (pipe2(ends, O_CLOEXEC) != 0) return errno;
  ends[0] = above_standard_streams(ends[0]);
  int failure = ends[0] < 0 ? errno : 0;
  ends[1] = above_standard_streams(ends[1]);
  if (!failure && ends[1] < 0) failure = errno;
  if (!failure && plugin_end >= 0 && fcntl(ends[plugin_end], F_SETFL, O_NONBLOCK) != 0) failure = errno;
  if (failure) {
    for (int i = 0; i < 2; i++) {
      if (ends[i] >= 0) close(ends[i]);
      ends[i] = -1;
    }
  }
  return failure;
}

/* ---- pumping ---- */

/* Reads what the child has written so far, claiming it for the call's answer as it arrives. 0,
 * ENOBUFS once past `limit` bytes, EDQUOT when the run's memory for buffers is full, or an errno. */
static int read_output(const subprocess_job *job, captured_output *output, size_t limit) {
  while (output->fd >= 0 && output->length <= limit) {
    if (output->length == output->capacity) {
      size_t grown = output->capacity ? output->capacity * 2 : FIRST_READ_CAPACITY;
      if (grown > limit + 1) grown = limit + 1; /* one byte more than allowed tells the limit was passed */
      uint8_t *bigger = realloc(output->data, grown);
      if (!bigger) return ENOMEM;
      output->data = bigger;
      output->capacity = grown;
    }
    ssize_t count = read(output->fd, output->data + output->length, output->capacity - output->length);
    if (count > 0) {
      output->length += (size_t)count;
      if (!plugin_claim_bytes(job->settings->host, job->base.call, (size_t)count)) return EDQUOT;
    } else if (count == 0) {
      plugin_close_fd(&output->fd);
    } else if (errno == EAGAIN) {
      break;
    } else if (errno != EINTR) {
      return errno;
    }
  }
  return output->length > limit ? ENOBUFS : 0;
}

/* Reads both outputs; false, with the outcome set, on failure or past the limit. */
static bool read_outputs(const subprocess_job *job, const struct pollfd ready[2], child_outcome *outcome) {
  for (int i = 0; i < 2; i++) {
    if (ready && !ready[i].revents) continue;
    int failure = read_output(job, &outcome->outputs[i], job->settings->max_output_bytes);
    if (failure == ENOBUFS || failure == EDQUOT) {
      outcome->how = failure == ENOBUFS ? OUTPUT_TOO_LARGE : BEYOND_RUN_MEMORY;
      outcome->too_large = &outcome->outputs[i];
    } else if (failure) {
      outcome->how = WATCH_FAILED;
      outcome->failure = failure;
    }
    if (failure) return false;
  }
  return true;
}

static long long now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Until the child exits, the clock runs out, or an output passes its limit: sets outcome->how. */
static void pump(const subprocess_job *job, int child, int *input, child_outcome *outcome) {
  const long long deadline = now_ms() + job->settings->timeout_ms;
  size_t written = 0;
  if (*input >= 0) plugin_write_available(input, job->stdin_data, job->stdin_length, &written);
  for (;;) {
    long long remaining = deadline - now_ms();
    if (remaining <= 0) {
      outcome->how = TIMED_OUT;
      return;
    }
    struct pollfd watched[4] = {
        {.fd = outcome->outputs[0].fd, .events = POLLIN},
        {.fd = outcome->outputs[1].fd, .events = POLLIN},
        {.fd = *input, .events = POLLOUT},
        {.fd = child, .events = POLLIN},
    };
    if (poll(watched, 4, (int)remaining) < 0) {
      if (errno == EINTR) continue;
      outcome->how = WATCH_FAILED;
      outcome->failure = errno;
      return;
    }
    if (!read_outputs(job, watched, outcome)) return;
    if (watched[2].revents) plugin_write_available(input, job->stdin_data, job->stdin_length, &written);
    if (watched[3].revents) {
      outcome->how = CHILD_EXITED;
      return;
    }
  }
}

/* ---- ending the call ---- */

static void complete_exit(const subprocess_job *job, child_outcome *outcome) {
  const mcpv8_host_api *host = job->settings->host;
  captured_output *stdout_output = &outcome->outputs[0], *stderr_output = &outcome->outputs[1];
  int status = outcome->status;
  char signal_name[32] = "null";
  if (WIFSIGNALED(status)) {
    const char *abbreviation = sigabbrev_np(WTERMSIG(status));
    if (abbreviation) {
      snprintf(signal_name, sizeof signal_name, "\"SIG%s\"", abbreviation);
    } else {
      snprintf(signal_name, sizeof signal_name, "\"SIGRTMIN+%d\"", WTERMSIG(status) - SIGRTMIN);
    }
  }
  char value[128];
  int value_length = snprintf(value, sizeof value, "{\"code\":%d,\"signal\":%s,\"stdout_length\":%zu}",
                              WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), /* as Deno says */
                              signal_name, stdout_output->length);
  /* One bytes buffer per completion: stdout, then stderr. */
  size_t total = stdout_output->length + stderr_output->length;
  uint8_t *both = realloc(stdout_output->data, total + 1);
  if (!both) {
    host->fail(job->base.call, "ENOMEM", "subprocess: out of memory");
    return;
  }
  stdout_output->data = both;
  if (stderr_output->length) memcpy(both + stdout_output->length, stderr_output->data, stderr_output->length);
  host->complete(job->base.call, value, (size_t)value_length, both, total);
}

static void finish(const subprocess_job *job, bool cancelled, child_outcome *outcome) {
  const subprocess_settings *settings = job->settings;
  const subprocess_request *request = &job->request;
  if (!cancelled && outcome->how == CHILD_EXITED) {
    complete_exit(job, outcome);
  } else if (!cancelled && outcome->how == SPAWN_FAILED) {
    bool in_chdir = outcome->spawn.stage == STAGE_CHDIR;
    subprocess_fail_errno(settings, job->base.call, outcome->spawn.number, in_chdir ? "chdir" : "spawn",
                          in_chdir ? request->cwd : request->command_argument, NULL);
  } else if (!cancelled && outcome->how == WATCH_FAILED) {
    subprocess_fail_errno(settings, job->base.call, outcome->failure, "spawn", request->command_argument, NULL);
  } else {
    const char *code = cancelled                          ? "ECANCELED"
                       : outcome->how == TIMED_OUT         ? "ETIMEDOUT"
                       : outcome->how == BEYOND_RUN_MEMORY ? "ERR_BUFFER_LIMIT"
                                                           : "ENOBUFS";
    char *message =
        cancelled ? plugin_format("ECANCELED: '%s' was killed: the run that started it ended", request->command)
        : outcome->how == TIMED_OUT
            ? plugin_format("ETIMEDOUT: '%s' ran longer than %lld ms and was killed; the operator sets the limit "
                                "with --plugin-config subprocess.timeout_ms=N",
                                request->command, settings->timeout_ms)
        : outcome->how == BEYOND_RUN_MEMORY
            ? plugin_format("ERR_BUFFER_LIMIT: '%s' wrote more to %s than fits in this run's memory for buffers "
                                "(its heap limit, heap_memory_max_mb) and was killed",
                                request->command, outcome->too_large->name)
            : plugin_format("ENOBUFS: '%s' wrote more than %zu bytes to %s and was killed; the operator sets the "
                                "limit with --plugin-config subprocess.max_output_bytes=N",
                                request->command, settings->max_output_bytes, outcome->too_large->name);
    settings->host->fail(job->base.call, code, message ? message : code);
    free(message);
  }
}

/* ---- the whole run ---- */

/* The child's report: true, with `failure` filled, when it could not run the command; end of
 * file means execve closed the pipe. */
static bool read_spawn_failure(int report, spawn_failure *failure) {
  for (;;) {
    ssize_t count = read(report, failure, sizeof *failure);
    if (count < 0 && errno == EINTR) continue;
    return count == (ssize_t)sizeof *failure;
  }
}

/* The child's standard input, output and error, and the report pipe: each end the child gets,
 * and the one this plugin keeps (-1 for none). 0 or an errno. */
static int open_child_streams(const subprocess_request *request, int input[2], int output[2], int error[2],
                              int report[2]) {
  int failure = 0;
  if (request->feeds_stdin) {
    failure = make_pipe(input, 1);
  } else {
    input[0] = above_standard_streams(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (input[0] < 0) failure = errno;
  }
  if (!failure) failure = make_pipe(output, 0);
  if (!failure) failure = make_pipe(error, 0);
  if (!failure) failure = make_pipe(report, -1);
  return failure;
}

/* Forks the child, then watches it until it ends; returns its pid (-1 when none was made). */
static pid_t run_child(subprocess_job *job, child_outcome *outcome) {
  int input[2] = {-1, -1}, output[2] = {-1, -1}, error[2] = {-1, -1}, report[2] = {-1, -1};
  pid_t pid = -1;
  outcome->how = WATCH_FAILED;
  outcome->failure = open_child_streams(&job->request, input, output, error, report);
  if (!outcome->failure) {
    const int standard_streams[3] = {input[0], output[1], error[1]};
    pid_t parent = getpid();
    pid = _Fork();
    if (pid == 0) become_child(&job->request, standard_streams, report[1], parent);
    if (pid < 0) outcome->failure = errno;
  }
  plugin_close_fd(&input[0]);
  plugin_close_fd(&output[1]);
  plugin_close_fd(&error[1]);
  plugin_close_fd(&report[1]);
  outcome->outputs[0].fd = output[0];
  outcome->outputs[1].fd = error[0];
  if (pid > 0) {
    if (!subprocess_job_forked(job, pid)) subprocess_kill_child(pid);
    int child = -1;
    if (read_spawn_failure(report[0], &outcome->spawn)) {
      outcome->how = SPAWN_FAILED;
    } else if ((child = pidfd_open(pid, 0)) < 0) {
      outcome->failure = errno;
    } else {
      pump(job, child, &input[1], outcome);
    }
    plugin_close_fd(&child);
    /* The child has exited, or is to die now; unreaped, its pid still names its group. */
    kill(-pid, SIGKILL);
    /* What the group wrote before it died is in the pipes now. Descendants that left the group
     * could hold them open forever, so only that is read. */
    if (outcome->how == CHILD_EXITED) read_outputs(job, NULL, outcome);
  }
  for (int i = 0; i < 2; i++) plugin_close_fd(&outcome->outputs[i].fd);
  plugin_close_fd(&input[1]);
  plugin_close_fd(&report[0]);
  return pid;
}

void subprocess_job_run(subprocess_job *job) {
  child_outcome outcome = {.outputs = {{.name = "stdout", .fd = -1}, {.name = "stderr", .fd = -1}}};
  pid_t pid = run_child(job, &outcome);
  bool cancelled = plugin_job_leave(&job->base); /* before reaping: cancel must not kill a reused pid */
  while (pid > 0 && waitpid(pid, &outcome.status, 0) < 0) {
    if (errno == EINTR) continue;
    if (outcome.how == CHILD_EXITED) {
      outcome.how = WATCH_FAILED;
      outcome.failure = errno;
    }
    break;
  }
  finish(job, cancelled, &outcome);
  for (int i = 0; i < 2; i++) free(outcome.outputs[i].data);
}
