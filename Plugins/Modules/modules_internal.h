/*
 * What the Modules plugin's files share: modules_resolve.c turns an import into a checked,
 * canonical URL (and into the policy input), modules_download.c fetches it with libcurl,
 * modules_typescript.c strips TypeScript with esbuild, modules_cache.c keeps sources on disk, and
 * modules_plugin.c ties them to the host.
 */
#ifndef MODULES_INTERNAL_H
#define MODULES_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "mcpv8_capability.h"
#include "plugin_jobs.h"
#include "plugin_support.h"
#include "plugin_url.h"

#define MODULES_PLUGIN_NAME "modules"

typedef struct {
  const mcpv8_host_api *host;
  char *cdn_url;   /* http(s), without a trailing slash */
  char *cache_dir; /* absolute; NULL when the cache is off */
  unsigned long long cache_max_bytes;
  size_t max_module_bytes;
  long timeout_ms;
  char *esbuild; /* looked up in PATH unless it holds a '/' */
  /* Set by shutdown before it cancels the imports in flight: they fail as shutting down. */
  atomic_bool stopping;
} modules_state;

typedef struct {
  char *specifier;            /* as the guest wrote it */
  const char *specifier_type; /* "npm", "jsr" or "url" */
  plugin_url url;             /* what it resolves to; once downloaded, the final URL */
} modules_request;

/* One import in flight, on a thread of its own. */
typedef struct {
  plugin_job base; /* first: the registry casts it back */
  modules_state *state;
  modules_request request;
  struct timespec deadline; /* CLOCK_MONOTONIC: timeout_ms after the import began */
  /* Guarded by the registry's lock: the esbuild child's pid and process group while one runs
   * (cancel kills the group), else 0. */
  pid_t esbuild_pid;
} modules_import;

/* A module's source, as downloaded or cached. */
typedef struct {
  unsigned char *bytes;
  size_t length;
  char *content_type; /* the server's Content-Type; NULL when it sent none, or from the cache */
} modules_source;

/* Parses the prelude's {"specifier", "referrer"} and resolves it. Returns 0, or non-zero and a
 * malloc'd message for the guest in *error; the request is to be freed either way. */
int modules_request_parse(const modules_state *state, const char *json, size_t length, modules_request *request,
                          char **error);
void modules_request_free(modules_request *request);

/* The policy input document for importing `specifier` from `url` (malloc'd JSON text), NULL when
 * out of memory. */
char *modules_policy_input(const char *specifier, const char *specifier_type, const plugin_url *url);

/* Ends the import's call with `code` and the message "cannot import '<specifier>': <format ...>". */
void modules_fail(const modules_import *import, const char *code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* When the run that asked ended, or the server is shutting down: ends the call saying so and
 * returns true. */
bool modules_fail_if_cancelled(const modules_import *import);
/* End the call for passing timeout_ms, or max_module_bytes, at the import's current URL. */
void modules_fail_timeout(const modules_import *import);
void modules_fail_too_large(const modules_import *import);

/* Asks the policy about reaching the module at `target` (a redirect of the import's URL).
 * Returns whether it allowed; when not, it has ended the call. */
bool modules_allow_redirect(const modules_import *import, const plugin_url *target);

/* Downloads the import's URL, following redirects (each one allowed by the policy), into
 * `source`; the request's URL becomes the final one. Returns true, or false after ending the call. */
bool modules_download(modules_import *import, modules_source *source);

/* esbuild's loader ("ts" or "tsx") for a module that is TypeScript by its URL's extension or its
 * Content-Type (may be NULL); NULL for JavaScript. */
const char *modules_typescript_loader(const plugin_url *url, const char *content_type);

/* Replaces TypeScript `source` with the JavaScript esbuild makes of it with `loader` ("ts" or
 * "tsx"). Returns true, or false after ending the call. */
bool modules_strip_types(modules_import *import, const char *loader, modules_source *source);

/* The import's on_cancel (called with the registry's lock held): kills its esbuild, if one runs. */
void modules_kill_esbuild(plugin_job *job);

/* The cached source of `requested_url`, read and verified: true with `final_url` and `source`
 * filled, or false (a miss). Problems are logged, never fatal. */
bool modules_cache_lookup(const modules_state *state, const char *requested_url, plugin_url *final_url,
                          modules_source *source);
/* Keeps `source` as what `requested_url` (which led to `final_url`) gives; problems are logged. */
void modules_cache_store(const modules_state *state, const char *requested_url, const char *final_url,
                         const modules_source *source);

void modules_source_free(modules_source *source);

/* Milliseconds left until `deadline` (CLOCK_MONOTONIC); 0 or less once it passed. */
long modules_milliseconds_until(const struct timespec *deadline);

#endif
