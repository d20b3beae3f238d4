#include "plugin_jobs.h"

#include <errno.h>

/* Called with the lock held; a job that has left already is not found. */
static void take_out_of_flight(plugin_jobs *jobs, plugin_job *job) {
  for (plugin_job **link = &jobs->in_flight; *link; link = &(*link)->next) {
    if (*link == job) {
      *link = job->next;
      return;
    }
  }
}

/* Called with the lock held. */
static void cancel_job(plugin_job *job) {
  atomic_store(&job->cancelled, true);
  if (job->on_cancel) job->on_cancel(job);
}

static void *run_job(void *argument) {
  plugin_job *job = argument;
  plugin_jobs *jobs = job->registry;
  job->run(job);
  pthread_mutex_lock(&jobs->lock);
  take_out_of_flight(jobs, job);
  job->next = jobs->finished;
  jobs->finished = job;
  if (--jobs->thread_count == 0) pthread_cond_broadcast(&jobs->idle);
  pthread_mutex_unlock(&jobs->lock);
  return NULL;
}

/* The lock makes job->thread written, and the job listed, before its thread can take it off the
 * list and put it on the finished one. */
int plugin_jobs_start(plugin_jobs *jobs, plugin_job *job) {
  job->registry = jobs;
  pthread_mutex_lock(&jobs->lock);
  int started = jobs->stopping ? ECANCELED : pthread_create(&job->thread, NULL, run_job, job);
  if (started == 0) {
    job->next = jobs->in_flight;
    jobs->in_flight = job;
    jobs->thread_count++;
  }
  pthread_mutex_unlock(&jobs->lock);
  return started;
}

void plugin_jobs_cancel(plugin_jobs *jobs, mcpv8_call *call) {
  pthread_mutex_lock(&jobs->lock);
  for (plugin_job *job = jobs->in_flight; job; job = job->next) {
    if (job->call == call) cancel_job(job);
  }
  pthread_mutex_unlock(&jobs->lock);
}

void plugin_jobs_join_finished(plugin_jobs *jobs) {
  pthread_mutex_lock(&jobs->lock);
  plugin_job *finished = jobs->finished;
  jobs->finished = NULL;
  pthread_mutex_unlock(&jobs->lock);
  while (finished) {
    plugin_job *next = finished->next;
    pthread_join(finished->thread, NULL);
    finished->destroy(finished);
    finished = next;
  }
}

void plugin_jobs_stop(plugin_jobs *jobs) {
  pthread_mutex_lock(&jobs->lock);
  jobs->stopping = true;
  for (plugin_job *job = jobs->in_flight; job; job = job->next) cancel_job(job);
  while (jobs->thread_count > 0) pthread_cond_wait(&jobs->idle, &jobs->lock);
  pthread_mutex_unlock(&jobs->lock);
  plugin_jobs_join_finished(jobs);
}

bool plugin_job_leave(plugin_job *job) {
  plugin_jobs *jobs = job->registry;
  pthread_mutex_lock(&jobs->lock);
  take_out_of_flight(jobs, job);
  bool cancelled = atomic_load(&job->cancelled);
  pthread_mutex_unlock(&jobs->lock);
  return cancelled;
}
