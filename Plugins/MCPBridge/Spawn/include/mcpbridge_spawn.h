/*
 * Starting stdio MCP servers so that they die with the process that started them.
 *
 * Foundation's Process cannot ask for a parent-death signal, and Linux sends that signal when the
 * *thread* that forked exits, not the process: so every child is forked by one long-lived thread
 * of this library, sets PR_SET_PDEATHSIG (SIGKILL) and its own process group, then execs.
 */
#ifndef MCPBRIDGE_SPAWN_H
#define MCPBRIDGE_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts `argv[0]` (searched in the PATH of `envp`, else of this process, when it has no '/')
 * with the environment `envp` (NULL-terminated "NAME=value" strings), its stdin and stdout on
 * pipes and its stderr this process's. On success returns 0 and sets the parent's ends of the
 * pipes (close-on-exec) and the child's pid, which leads its own process group. On failure
 * returns an errno value and writes why into `error` (`error_capacity` bytes). */
int mcpbridge_spawn(const char *const *argv, const char *const *envp, int *stdin_fd, int *stdout_fd, pid_t *pid,
                    char *error, size_t error_capacity);

/* Kills the child's whole process group (SIGKILL) and reaps the child on a thread of its own. */
void mcpbridge_kill(pid_t pid);

/* Reaps the child if it has exited; returns 1 then, 0 if it is still running. */
int mcpbridge_reap(pid_t pid);

#ifdef __cplusplus
}
#endif

#endif
