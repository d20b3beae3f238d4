/* Calls that each run on a thread of their own, for operations that take long (a transfer, a
 * child process) so that `start` returns at once. The registry lists the jobs in flight, so the
 * operation's cancel can find a call's job, and joins every thread, so none still runs the
 * plugin's code once plugin_jobs_stop returns. */
#ifndef MCPV8_PLUGIN_JOBS_H
#define MCPV8_PLUGIN_JOBS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "mcpv8_capability.h"

typedef struct plugin_job plugin_job;
typedef struct plugin_jobs plugin_jobs;

/* The first member of a plugin's job, which the plugin casts back to its own type. The plugin
 * fills the first four fields; the others are the registry's. */
struct plugin_job {
  mcpv8_call *call;
  /* Runs on the job's thread; ends the call. */
  void (*run)(plugin_job *job);
  /* Frees the job once its thread is joined. */
  void (*destroy)(plugin_job *job);
  /* May be NULL. Stops the job at once when it is cancelled (kills its process, say); called
   * with the registry's lock held, after `cancelled` is set. */
  void (*on_cancel)(plugin_job *job);
  /* Set once the run that started the call ended, or the plugin is shutting down. */
  atomic_bool cancelled;
  plugin_jobs *registry;
  pthread_t thread;
  plugin_job *next; /* in the registry's list of jobs in flight, then in its list of finished ones */
};

struct plugin_jobs {
  pthread_mutex_t lock;
  pthread_cond_t idle;
  plugin_job *in_flight; /* the jobs cancel reaches */
  plugin_job *finished;  /* their threads are to be joined */
  size_t thread_count;   /* threads that have not yet put their job on `finished` */
  bool stopping;
};

#define PLUGIN_JOBS_INITIALIZER {.lock = PTHREAD_MUTEX_INITIALIZER, .idle = PTHREAD_COND_INITIALIZER}

/* Runs `job` on a thread of its own. 0, after which the job is the registry's; or the errno why
 * it did not start (ECANCELED once stopping), and the job is still the caller's. */
int plugin_jobs_start(plugin_jobs *jobs, plugin_job *job);

/* Cancels the job of `call`, if it is still in flight. */
void plugin_jobs_cancel(plugin_jobs *jobs, mcpv8_call *call);

/* Joins the threads that have finished and destroys their jobs. */
void plugin_jobs_join_finished(plugin_jobs *jobs);

/* For shutdown: refuses new jobs, cancels those in flight, waits for every thread and joins it. */
void plugin_jobs_stop(plugin_jobs *jobs);

/* From the job's `run`: takes the job out of the jobs in flight before it ends, so cancel no
 * longer reaches it (and its on_cancel no longer touches what `run` then lets go of). Returns
 * whether it was cancelled. Without it the job leaves when `run` returns. */
bool plugin_job_leave(plugin_job *job);

#endif
