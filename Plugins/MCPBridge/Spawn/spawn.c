#define _GNU_SOURCE
#include "mcpbridge_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* One request at a time to the forking thread. */
typedef struct {
  const char *path;
  const char *const *argv;
  const char *const *envp;
  int child_stdin, child_stdout, report_write;
  pid_t pid;
  int fork_errno;
} spawn_request;

static pthread_mutex_t callers = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t handoff = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t handoff_changed = PTHREAD_COND_INITIALIZER;
static spawn_request *pending;
static int done;
static pthread_once_t forker_once = PTHREAD_ONCE_INIT;
static int forker_started;

/* In the child: only async-signal-safe calls. */
static void become_child(const spawn_request *request, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  for (int signal_number = 1; signal_number < NSIG; signal_number++) {
    if (signal_number != SIGKILL && signal_number != SIGSTOP) signal(signal_number, SIG_DFL);
  }
  if (dup2(request->child_stdin, 0) < 0 || dup2(request->child_stdout, 1) < 0) goto failed;
  execve(request->path, (char *const *)request->argv, (char *const *)request->envp);
failed:;
  int failure = errno;
  (void)!write(request->report_write, &failure, sizeof failure);
  _exit(127);
}

static void *forker(void *unused) {
  (void)unused;
  pthread_mutex_lock(&handoff);
  for (;;) {
    while (!pending) pthread_cond_wait(&handoff_changed, &handoff);
    spawn_request *request = pending;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) become_child(request, parent);
    request->pid = pid;
    request->fork_errno = pid < 0 ? errno : 0;
    pending = NULL;
    done = 1;
    pthread_cond_broadcast(&handoff_changed);
  }
  return NULL;
}

static void start_forker(void) {
  pthread_t thread;
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  /* The forking thread blocks every signal: they are for the process's own threads. */
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  forker_started = pthread_create(&thread, &attributes, forker, NULL) == 0;
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  pthread_attr_destroy(&attributes);
}

/* The executable `name` names: itself when it has a '/', else the first match in PATH. */
static char *find_executable(const char *name, const char *const *envp) {
  if (strchr(name, '/')) return strdup(name);
  const char *path = NULL;
  for (const char *const *entry = envp; entry && *entry; entry++) {
    if (strncmp(*entry, "PATH=", 5) == 0) path = *entry + 5;
  }
  if (!path) path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  char *folders = strdup(path);
  if (!folders) return NULL;
  char *saved = NULL;
  for (char *folder = strtok_r(folders, ":", &saved); folder; folder = strtok_r(NULL, ":", &saved)) {
    char *candidate = NULL;
    if (asprintf(&candidate, "%s/%s", *folder ? folder : ".", name) < 0) break;
    if (access(candidate, X_OK) == 0) {
      free(folders);
      return candidate;
    }
    free(candidate);
  }
  free(folders);
  return NULL;
}

int mcpbridge_spawn(const char *const *argv, const char *const *envp, int *stdin_fd, int *stdout_fd, pid_t *pid,
                    char *error, size_t error_capacity) {
  char *path = find_executable(argv[0], envp);
  if (!path) {
    snprintf(error, error_capacity, "%s: command not found in PATH", argv[0]);
    return ENOENT;
  }
  int to_child[2] = {-1, -1}, from_child[2] = {-1, -1}, report[2] = {-1, -1};
  int result = 0;
  if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0 || pipe2(report, O_CLOEXEC) != 0) {
    result = errno;
    snprintf(error, error_capacity, "cannot make pipes: %s", strerror(result));
    goto cleanup;
  }
  pthread_once(&forker_once, start_forker);
  if (!forker_started) {
    result = EAGAIN;
    snprintf(error, error_capacity, "cannot start the thread that starts servers");
    goto cleanup;
  }
  spawn_request request = {.path = path, .argv = argv, .envp = envp, .child_stdin = to_child[0],
                           .child_stdout = from_child[1], .report_write = report[1]};
  pthread_mutex_lock(&callers);
  pthread_mutex_lock(&handoff);
  pending = &request;
  done = 0;
  pthread_cond_broadcast(&handoff_changed);
  while (!done) pthread_cond_wait(&handoff_changed, &handoff);
  pthread_mutex_unlock(&handoff);
  pthread_mutex_unlock(&callers);
  if (request.pid < 0) {
    result = request.fork_errno;
    snprintf(error, error_capacity, "cannot fork: %s", strerror(result));
    goto cleanup;
  }
  close(report[1]);
  report[1] = -1;
  int exec_errno = 0;
  ssize_t got;
  do {
    got = read(report[0], &exec_errno, sizeof exec_errno);
  } while (got < 0 && errno == EINTR);
  if (got == (ssize_t)sizeof exec_errno) {
    waitpid(request.pid, NULL, 0);
    result = exec_errno;
    snprintf(error, error_capacity, "cannot run %s: %s", path, strerror(exec_errno));
    goto cleanup;
  }
  *stdin_fd = to_child[1];
  *stdout_fd = from_child[0];
  to_child[1] = from_child[0] = -1;
  *pid = request.pid;
cleanup:;
  int left_open[] = {to_child[0], to_child[1], from_child[0], from_child[1], report[0], report[1]};
  for (size_t index = 0; index < sizeof left_open / sizeof *left_open; index++) {
    if (left_open[index] >= 0) close(left_open[index]);
  }
  free(path);
  return result;
}

static void *reap(void *argument) {
  pid_t pid = (pid_t)(intptr_t)argument;
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
  return NULL;
}

void mcpbridge_kill(pid_t pid) {
  if (pid <= 0) return;
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  pthread_t thread;
  if (pthread_create(&thread, NULL, reap, (void *)(intptr_t)pid) == 0) pthread_detach(thread);
}

int mcpbridge_reap(pid_t pid) {
  return waitpid(pid, NULL, WNOHANG) == pid;
}
