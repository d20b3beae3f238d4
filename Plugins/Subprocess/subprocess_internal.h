/*
 * What the Subprocess plugin's two files share: subprocess_plugin.c turns the prelude's request into
 * a checked, resolved one (and into the policy input) and keeps the calls in flight;
 * subprocess_process.c runs one request's child to its end on a thread of its own.
 */
#ifndef SUBPROCESS_INTERNAL_H
#define SUBPROCESS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "mcpv8_capability.h"
#include "plugin_jobs.h"
#include "plugin_support.h"

#define SUBPROCESS_PLUGIN_NAME "subprocess"

typedef struct {
  const mcpv8_host_api *host;
  long long timeout_ms;
  size_t max_output_bytes; /* per stream */
} subprocess_settings;

/* A request as it will run: everything the child needs, prepared before forking. */
typedef struct {
  cJSON *json;                  /* the parsed request: owns the guest's strings */
  const char *command_argument; /* as the guest wrote it: the child's argv[0] and error messages */
  char *command;                /* absolute with symlinks resolved; the bare name when no PATH directory has it */
  char *cwd;                    /* absolute, resolved */
  const char **argv;            /* command_argument, then the guest's arguments; NULL-terminated */
  size_t argument_count;        /* the guest's arguments, argv[0] not counted */
  char **envp;                  /* "NAME=value" for each variable the guest gave; NULL-terminated */
  bool feeds_stdin;             /* the call's bytes go to the child's stdin; otherwise it reads /dev/null */
} subprocess_request;

typedef struct {
  plugin_job base; /* first: the registry casts it back */
  subprocess_settings *settings;
  subprocess_request request;
  uint8_t *stdin_data;
  size_t stdin_length;
  /* Guarded by the registry's lock. The child's and its process group's id, 0 until forked; it
   * stays valid for kill(2) while the job is in flight, since the child is reaped only after the
   * job left. */
  pid_t pid;
} subprocess_job;

void subprocess_request_free(subprocess_request *request);

/* Fails the call as Node would: "ENOENT: no such file or directory, spawn 'x'" with code ENOENT;
 * `hint` (may be NULL) follows in parentheses. */
void subprocess_fail_errno(const subprocess_settings *settings, mcpv8_call *call, int number, const char *syscall,
                           const char *subject, const char *hint);

/* Kills the child and its group. The child leads the group only once it has called setsid, which
 * it does before execve: until then the group does not exist, and the child is killed alone. */
void subprocess_kill_child(pid_t pid);

/* Records the forked child: from now on cancel kills it and its group. False when the job was cancelled
 * before (the caller kills it then). */
bool subprocess_job_forked(subprocess_job *job, pid_t pid);

/* Runs the job's child to its end (exit, timeout, output limit or cancel) and ends the call. */
void subprocess_job_run(subprocess_job *job);

#endif
