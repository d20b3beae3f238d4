/*
 * The Subprocess capability plugin: gives guests `Deno.Command` and `child_process.execFile`
 * (defined by subprocess_prelude.js), gated by the "subprocess" policy category.
 *
 * Operation "spawn" (the prelude's host.call("spawn", request, stdin)):
 *   request    {"command": "echo", "args": ["hi"], "cwd": "dir" (optional), "env": {"NAME": "value"},
 *              "stdin": true when the call's bytes are the child's standard input}
 *   policy     {"operation": "spawn", "command": "/usr/bin/echo", "args": ["hi"], "cwd": "/abs/dir",
 *              "env": {"NAME": "value"}}
 *   completion {"code": 0, "signal": null, "stdout_length": N} and, as bytes, stdout then stderr
 *              (a child killed by a signal has "signal": "SIGKILL" and, as Deno says, code 128 + its number)
 *
 * The policy judges the real executable: a command without '/' is looked up in the worker's PATH
 * ("/usr/local/bin:/usr/bin:/bin" when unset) as execvp does, relative paths are taken from the
 * child's working directory, and symlinks are resolved, so `sh` and `/bin/sh` reach the policy
 * as `/usr/bin/dash` on Debian. The child then runs exactly that resolved path (argv[0] stays as
 * the guest wrote it); `start` resolves everything again and refuses (EACCES) unless it makes the
 * very document the policy allowed. A bare name no PATH directory holds reaches the policy as
 * written and, if allowed, fails with ENOENT; a missing path reaches it as written, made absolute.
 * No shell is involved unless the guest runs one itself (and the policy allows it). The child's
 * environment is exactly `env`: empty unless the guest gives variables. A script's interpreter
 * (its #! line) is not judged; the script is.
 *
 * Processes: each child leads its own session and process group, which is killed with SIGKILL
 * when the child exits, times out, floods its output, or its run ends (cancel), so descendants
 * that stay in the group never outlive the call. The child also dies with the worker
 * (PR_SET_PDEATHSIG). Descendants that leave its group (setsid, a double fork) stay outside the
 * worker's session and in its tree (it is a subreaper): the worker kills them when the run ends.
 *
 * Settings (--plugin-config subprocess.KEY=VALUE):
 *   timeout_ms        most time a child may run, default 30000 (at most a day); then it is killed
 *                     and the call fails with ETIMEDOUT
 *   max_output_bytes  most bytes kept of stdout and of stderr each, default 10485760 (at most
 *                     1 GiB); a child writing more is killed and the call fails with ENOBUFS
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "subprocess_internal.h"

static const char prelude_js[] = {
#embed "subprocess_prelude.js"
    , 0};

#define DEFAULT_SEARCH_PATH "/usr/local/bin:/usr/bin:/bin"
#define DEFAULT_TIMEOUT_MS 30000
#define MOST_TIMEOUT_MS 86400000
#define DEFAULT_MAX_OUTPUT_BYTES 10485760
#define MOST_MAX_OUTPUT_BYTES 1073741824 /* each stream is held in memory, then copied into the isolate */

/* ---- errors ---- */

void subprocess_fail_errno(const subprocess_settings *settings, mcpv8_call *call, int number, const char *syscall,
                           const char *subject, const char *hint) {
  const char *code = strerrorname_np(number);
  const char *description = strerrordesc_np(number);
  code = code ? code : "UNKNOWN";
  description = description ? description : "unknown error";
  /* Node's wording is lowercase: "ENOENT: no such file or directory, spawn 'x'". */
  char *message = plugin_format("%s: %c%s, %s '%s'%s%s%s", code, tolower((unsigned char)description[0]),
                                    description + 1, syscall, subject, hint ? " (" : "", hint ? hint : "",
                                    hint ? ")" : "");
  settings->host->fail(call, code, message ? message : description);
  free(message);
}

/* ---- resolving the command and the working directory ---- */

/* `path` if absolute, else `path` under the absolute directory `base`. NULL when out of memory. */
static char *absolute_under(const char *base, const char *path) {
  return path[0] == '/' ? strdup(path) : plugin_format("%s%s%s", base, strcmp(base, "/") == 0 ? "" : "/", path);
}

/* The real path of an absolute path, or the path as given when it cannot be resolved (it does
 * not exist, say: acting on it then fails). Takes `absolute`; NULL when out of memory. */
static char *resolved_or_as_given(char *absolute) {
  if (!absolute) return NULL;
  char *real = realpath(absolute, NULL);
  if (!real) return absolute;
  free(absolute);
  return real;
}

static char *resolve_cwd(const char *argument) {
  char *process_directory = getcwd(NULL, 0);
  if (!process_directory) return NULL;
  char *cwd = resolved_or_as_given(argument ? absolute_under(process_directory, argument) : strdup(process_directory));
  free(process_directory);
  return cwd;
}

/* execvp's search: the first PATH directory holding an executable regular file called `name`
 * (an empty entry is the working directory), else the first holding a file of that name (which
 * then fails with EACCES, as execvp would), else NULL. Relative entries are taken from `cwd`.
 * Sets *out_of_memory when that is why it returns NULL. */
static char *search_path(const char *name, const char *cwd, bool *out_of_memory) {
  const char *search = getenv("PATH");
  if (!search) search = DEFAULT_SEARCH_PATH;
  char *unusable = NULL;
  for (const char *entry = search;;) {
    const char *end = strchrnul(entry, ':');
    int length = (int)(end - entry);
    char *relative = plugin_format("%.*s/%s", length ? length : 1, length ? entry : ".", name);
    char *candidate = relative ? absolute_under(cwd, relative) : NULL;
    free(relative);
    if (!candidate) {
      free(unusable);
      *out_of_memory = true;
      return NULL;
    }
    struct stat status;
    if (stat(candidate, &status) == 0 && S_ISREG(status.st_mode) && access(candidate, X_OK) == 0) {
      free(unusable);
      return candidate;
    }
    if (!unusable && access(candidate, F_OK) == 0) {
      unusable = candidate;
    } else {
      free(candidate);
    }
    if (*end == '\0') return unusable;
    entry = end + 1;
  }
}

/* The command as the policy judges it and the child runs it. NULL when out of memory. */
static char *resolve_command(const char *argument, const char *cwd) {
  if (strchr(argument, '/')) return resolved_or_as_given(absolute_under(cwd, argument));
  bool out_of_memory = false;
  char *found = search_path(argument, cwd, &out_of_memory);
  if (out_of_memory) return NULL;
  return found ? resolved_or_as_given(found) : strdup(argument);
}

/* ---- requests and policy input documents ---- */

void subprocess_request_free(subprocess_request *request) {
  cJSON_Delete(request->json);
  free(request->command);
  free(request->cwd);
  free(request->argv);
  if (request->envp) {
    for (char **variable = request->envp; *variable; variable++) free(*variable);
  }
  free(request->envp);
  *request = (subprocess_request){0};
}

/* Checks the request's shape (the prelude did, but this is the ABI boundary); a message for the
 * guest, or NULL when it is well-formed. */
static char *check_request(const cJSON *json) {
  if (!cJSON_IsObject(json)) return strdup("subprocess: the request must be a JSON object");
  const char *command = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "command"));
  if (!command || !*command) return strdup("subprocess: command must be a non-empty string");
  const cJSON *args = cJSON_GetObjectItemCaseSensitive(json, "args");
  if (args && !cJSON_IsArray(args)) return strdup("subprocess: args must be an array of strings");
  const cJSON *item;
  cJSON_ArrayForEach(item, args) {
    if (!cJSON_IsString(item)) return strdup("subprocess: args must be an array of strings");
  }
  const cJSON *cwd = cJSON_GetObjectItemCaseSensitive(json, "cwd");
  if (cwd && !cJSON_IsNull(cwd) && !(cJSON_IsString(cwd) && *cwd->valuestring)) {
    return strdup("subprocess: cwd must be a non-empty string");
  }
  const cJSON *env = cJSON_GetObjectItemCaseSensitive(json, "env");
  if (env && !cJSON_IsObject(env)) return strdup("subprocess: env must be an object of strings");
  cJSON_ArrayForEach(item, env) {
    if (!*item->string || strchr(item->string, '=')) {
      return plugin_format("subprocess: the environment variable name \"%s\" must be non-empty and without '='",
                               item->string);
    }
    if (!cJSON_IsString(item)) return plugin_format("subprocess: env.%s must be a string", item->string);
  }
  const cJSON *feeds_stdin = cJSON_GetObjectItemCaseSensitive(json, "stdin");
  if (feeds_stdin && !cJSON_IsBool(feeds_stdin)) return strdup("subprocess: stdin must be true or false");
  return NULL;
}

/* Parses, checks and resolves a request. Returns 0, or non-zero and a message for the guest; the
 * request is to be freed either way. */
static int parse_request(const char *json_text, size_t length, subprocess_request *request, char **error) {
  *request = (subprocess_request){.json = cJSON_ParseWithLength(json_text, length)};
  const cJSON *json = request->json;
  if ((*error = check_request(json))) return 1;
  const cJSON *args = cJSON_GetObjectItemCaseSensitive(json, "args");
  const cJSON *env = cJSON_GetObjectItemCaseSensitive(json, "env");
  request->command_argument = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "command"));
  request->argument_count = (size_t)cJSON_GetArraySize(args);
  request->feeds_stdin = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(json, "stdin"));
  request->argv = calloc(request->argument_count + 2, sizeof *request->argv);
  request->envp = calloc((size_t)cJSON_GetArraySize(env) + 1, sizeof *request->envp);
  request->cwd = resolve_cwd(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(json, "cwd")));
  if (!request->cwd) {
    *error = plugin_format("subprocess: the working directory cannot be told: %s", strerror(errno));
    return 1;
  }
  request->command = resolve_command(request->command_argument, request->cwd);
  bool complete = request->argv && request->envp && request->command;
  if (complete) {
    request->argv[0] = request->command_argument;
    size_t index = 1;
    const cJSON *item;
    cJSON_ArrayForEach(item, args) request->argv[index++] = item->valuestring;
    index = 0;
    cJSON_ArrayForEach(item, env) {
      if (!(request->envp[index++] = plugin_format("%s=%s", item->string, item->valuestring))) complete = false;
    }
  }
  if (!complete) *error = strdup("subprocess: out of memory");
  return !complete;
}

/* Adds `item` to `object`, which then owns it; false, with `item` deleted, when either is NULL (out
 * of memory) or adding fails. */
static bool add_item(cJSON *object, const char *key, cJSON *item) {
  if (object && item && cJSON_AddItemToObject(object, key, item)) return true;
  cJSON_Delete(item);
  return false;
}

/* The policy input document; NULL when out of memory. */
static char *policy_document(const subprocess_request *request) {
  const cJSON *env = cJSON_GetObjectItemCaseSensitive(request->json, "env");
  cJSON *document = cJSON_CreateObject();
  bool built = add_item(document, "operation", cJSON_CreateString("spawn")) &&
               add_item(document, "command", cJSON_CreateString(request->command)) &&
               add_item(document, "args", cJSON_CreateStringArray(request->argv + 1, (int)request->argument_count)) &&
               add_item(document, "cwd", cJSON_CreateString(request->cwd)) &&
               add_item(document, "env", env ? cJSON_Duplicate(env, true) : cJSON_CreateObject());
  char *text = built ? cJSON_PrintUnformatted(document) : NULL;
  cJSON_Delete(document);
  return text;
}

static int spawn_policy_input(void *state, const char *request_json, size_t request_length, char **input,
                              char **error) {
  (void)state;
  subprocess_request request;
  *input = NULL;
  if (parse_request(request_json, request_length, &request, error) == 0 && !(*input = policy_document(&request))) {
    *error = strdup("subprocess: out of memory");
  }
  subprocess_request_free(&request);
  return *input == NULL;
}

/* The document the request makes as it resolves now must be the one the policy allowed: a
 * symlink or PATH directory changed since would otherwise run something it never judged. */
static bool still_allowed(const subprocess_settings *settings, mcpv8_call *call, const subprocess_request *request) {
  char *document = policy_document(request);
  if (!document) {
    settings->host->fail(call, "ENOMEM", "subprocess: out of memory");
    return false;
  }
  size_t allowed_length = 0;
  const char *allowed = settings->host->allowed_input(call, &allowed_length);
  bool same = strlen(document) == allowed_length && memcmp(document, allowed, allowed_length) == 0;
  if (!same) {
    char *hint = plugin_format("it changed since the policy allowed it: it now resolves to '%s' in '%s'",
                                   request->command, request->cwd);
    subprocess_fail_errno(settings, call, EACCES, "spawn", request->command_argument, hint);
    free(hint);
  }
  free(document);
  return same;
}

/* ---- calls in flight ---- */

/* Each child is watched by a thread of its own, which forks it (PR_SET_PDEATHSIG follows the
 * forking thread), pumps its pipes, reaps it and ends the call. */
static plugin_jobs jobs = PLUGIN_JOBS_INITIALIZER;

static void free_job(plugin_job *base) {
  subprocess_job *job = (subprocess_job *)base;
  subprocess_request_free(&job->request);
  free(job->stdin_data);
  free(job);
}

void subprocess_kill_child(pid_t pid) {
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
}

/* Called with the registry's lock held. The pid stays the child's: it is reaped only after its
 * job left the list. */
static void kill_child(plugin_job *base) {
  subprocess_job *job = (subprocess_job *)base;
  if (job->pid > 0) subprocess_kill_child(job->pid);
}

bool subprocess_job_forked(subprocess_job *job, pid_t pid) {
  pthread_mutex_lock(&jobs.lock);
  job->pid = pid;
  bool cancelled = atomic_load(&job->base.cancelled);
  pthread_mutex_unlock(&jobs.lock);
  return !cancelled;
}

static void watch_child(plugin_job *base) {
  /* Signals meant for the process go to the host's threads; and writing to a child that closed
   * its stdin then fails with EPIPE here instead of raising SIGPIPE. */
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  subprocess_job_run((subprocess_job *)base);
}

/* Hands the job to a thread of its own: true, or false after failing the call. */
static bool launch_job(subprocess_job *job, const uint8_t *bytes, size_t bytes_length) {
  const subprocess_settings *settings = job->settings;
  const subprocess_request *request = &job->request;
  if (request->command[0] != '/') {
    subprocess_fail_errno(settings, job->base.call, ENOENT, "spawn", request->command_argument,
                          "no directory of PATH holds it");
    return false;
  }
  if (request->feeds_stdin && bytes_length > 0) {
    if (!(job->stdin_data = malloc(bytes_length))) {
      settings->host->fail(job->base.call, "ENOMEM", "subprocess: out of memory");
      return false;
    }
    memcpy(job->stdin_data, bytes, bytes_length);
    job->stdin_length = bytes_length;
  }
  int started = plugin_jobs_start(&jobs, &job->base);
  if (started != 0) subprocess_fail_errno(settings, job->base.call, started, "spawn", request->command_argument, NULL);
  return started == 0;
}

static void spawn_start(void *state, mcpv8_call *call, const char *request_json, size_t request_length,
                        const uint8_t *bytes, size_t bytes_length) {
  subprocess_settings *settings = state;
  plugin_jobs_join_finished(&jobs);
  subprocess_job *job = calloc(1, sizeof *job);
  if (!job) {
    settings->host->fail(call, "ENOMEM", "subprocess: out of memory");
    return;
  }
  *job = (subprocess_job){.base = {.call = call, .run = watch_child, .destroy = free_job, .on_cancel = kill_child},
                          .settings = settings};
  char *error = NULL;
  bool launched = false;
  if (parse_request(request_json, request_length, &job->request, &error) != 0) {
    settings->host->fail(call, "EINVAL", error ? error : "subprocess: out of memory");
  } else if (still_allowed(settings, call, &job->request)) {
    launched = launch_job(job, bytes, bytes_length); /* the job is the thread's from then on */
  }
  free(error);
  if (!launched) free_job(&job->base);
}

static void spawn_cancel(void *state, mcpv8_call *call) {
  (void)state;
  plugin_jobs_cancel(&jobs, call);
}

/* Kills every child still running (their calls fail with ECANCELED) and waits for the threads. */
static void shutdown_plugin(void *state) {
  (void)state;
  plugin_jobs_stop(&jobs);
}

/* ---- the descriptor ---- */

static const mcpv8_operation operations[] = {
    {.size = sizeof(mcpv8_operation),
     .name = "spawn",
     .policy_input = spawn_policy_input,
     .start = spawn_start,
     .cancel = spawn_cancel},
};

static const char *const globals[] = {"Deno", "child_process"};

static subprocess_settings plugin_settings;

static const mcpv8_plugin descriptor = {
    .size = sizeof(mcpv8_plugin),
    .abi_major = MCPV8_ABI_MAJOR,
    .abi_minor = MCPV8_ABI_MINOR,
    .name = SUBPROCESS_PLUGIN_NAME,
    .version = "1.0.0",
    .category = "subprocess",
    .globals = globals,
    .global_count = sizeof globals / sizeof *globals,
    .prelude_js = prelude_js,
    .operations = operations,
    .operation_count = sizeof operations / sizeof *operations,
    .state = &plugin_settings,
    .release = free,
    .shutdown = shutdown_plugin,
    .usage = "child_process.execFile(file, args?, {cwd, env, input}?) -> Promise<{stdout, stderr, code, signal}>; "
             "new Deno.Command(cmd, {args, cwd, env, stdin}?).output() -> Promise<{code, success, stdout, stderr}>",
};

__attribute__((visibility("default"))) const mcpv8_plugin *mcpv8_plugin_entry(const mcpv8_host_api *host, char *error,
                                                                              size_t error_capacity) {
  unsigned long long timeout_ms, max_output_bytes;
  if (!plugin_host_is_complete(host, SUBPROCESS_PLUGIN_NAME, error, error_capacity) ||
      !plugin_read_setting(host, NULL, SUBPROCESS_PLUGIN_NAME, "timeout_ms", DEFAULT_TIMEOUT_MS, MOST_TIMEOUT_MS, &timeout_ms,
                           error, error_capacity) ||
      !plugin_read_setting(host, NULL, SUBPROCESS_PLUGIN_NAME, "max_output_bytes", DEFAULT_MAX_OUTPUT_BYTES,
                           MOST_MAX_OUTPUT_BYTES, &max_output_bytes, error, error_capacity)) {
    return NULL;
  }
  plugin_settings = (subprocess_settings){
      .host = host, .timeout_ms = (long long)timeout_ms, .max_output_bytes = (size_t)max_output_bytes};
  return &descriptor;
}
