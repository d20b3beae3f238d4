/*
 * The Modules capability plugin: ES module imports for guests (`import _ from 'npm:lodash-es@4.17.21'`,
 * `await import('https://example.com/mod.js')`), gated by the "modules" policy category. It
 * defines no globals: its prelude gives the engine a loader (host.setModuleLoader), which the
 * engine calls for every import, static, transitive or dynamic.
 *
 * Operation "import" (the prelude's host.call("import", {specifier, referrer})):
 *   request    {"specifier": "<as written>", "referrer": "<the importing module's URL>" or null (the main program)}
 *   resolution npm:REST  -> <cdn_url>/REST      (specifier_type "npm")
 *              jsr:REST  -> <cdn_url>/jsr/REST  (specifier_type "jsr"; REST starts with @scope/name)
 *              http(s)://... as written; ./x, ../x and /x relative to the referrer (specifier_type "url")
 *              anything else (bare names, node:, file:, data:) is refused, naming the forms allowed
 *   policy     {"operation": "import", "specifier": "<as written>", "specifier_type": "npm" | "jsr" | "url",
 *              "resolved_url": "<canonical URL>", "url_parsed": {"scheme", "host", "port", "path", "query"}}
 *              and, for each redirect (also one a cached module records), the same document with
 *              specifier_type "url" and the URL redirected to as resolved_url (host->check_policy)
 *   completion {"url": "<final URL>"} and the module's source as bytes
 *
 * A module is fetched with GET (User-Agent mcp-v8, no cookies); redirects are followed here, at
 * most 10, each judged by the policy, and link-local and cloud metadata addresses are refused
 * unless the URL names them. A module whose final URL ends in .ts, .mts or .tsx, or that comes as
 * application/typescript or text/typescript, has its types stripped by esbuild, run as a child
 * process (killed when the run that asked ends).
 *
 * The disk cache, shared by the worker processes:
 *   <cache_dir>/urls/<SHA-256 of the requested URL>  "<SHA-256 of the source>\n<final URL>\n"
 *   <cache_dir>/content/<SHA-256 of the source>      the source as guests get it (types stripped)
 * Files are written under a temporary name and renamed into place, so processes writing one entry
 * at once leave one whole copy; reads check the hash and remove entries that fail it. Past
 * cache_max_bytes the least recently used sources are deleted. Entries never expire: a URL whose
 * module changes (one without a version) keeps what was first fetched until it is evicted. Cached
 * or not, every import is judged by the policy. The directories must belong to the worker's user
 * and be writable by no one else (whoever can write there chooses the code guests run); when they
 * are not, or the disk fails, the cache is skipped with a warning in the log, never the import.
 *
 * Errors name the specifier ("cannot import 'npm:nope@9.9.9': https://esm.sh/nope@9.9.9 answered
 * 404 Not Found") and carry a code: ERR_INVALID_MODULE_SPECIFIER, ERR_MODULE_DENIED,
 * ERR_MODULE_NOT_FOUND (a status other than 2xx), ERR_MODULE_FETCH_FAILED, ERR_MODULE_TOO_LARGE,
 * ERR_MODULE_TIMEOUT, ERR_MODULE_TYPESCRIPT, or ECANCELED.
 *
 * Settings (--plugin-config modules.KEY=VALUE):
 *   cdn_url           where npm: and jsr: imports come from, http(s) without a query (default
 *                     https://esm.sh; the server passes its --module-cdn-url here)
 *   cache             "on" (default) or "off"
 *   cache_dir         the cache, an absolute path (default /tmp/mcp-v8-modules; made 0700 when missing)
 *   cache_max_bytes   most bytes of sources the cache keeps (default 268435456, at most 1 TiB)
 *   max_module_bytes  most bytes of response headers and body per hop, and of esbuild's output
 *                     (default 10485760, at most 1 GiB)
 *   timeout_ms        most time for one import, redirects and TypeScript included (default 30000,
 *                     at most a day)
 *   esbuild           the esbuild executable (default "esbuild", looked up in PATH)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "modules_internal.h"

static const char prelude[] = {
#embed "modules_prelude.js"
    , 0};

#define DEFAULT_CDN_URL "https://esm.sh"
#define DEFAULT_CACHE_DIR "/tmp/mcp-v8-modules"
#define DEFAULT_CACHE_MAX_BYTES 268435456
#define MOST_CACHE_MAX_BYTES 1099511627776ULL
#define DEFAULT_MAX_MODULE_BYTES 10485760
#define MOST_MAX_MODULE_BYTES 1073741824 /* a module is held in memory, then copied into the isolate */
#define DEFAULT_TIMEOUT_MS 30000
#define MOST_TIMEOUT_MS 86400000

/* ---- ending calls ---- */

void modules_fail(const modules_import *import, const char *code, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  char *detail = NULL;
  if (vasprintf(&detail, format, arguments) < 0) detail = NULL;
  va_end(arguments);
  char *message = detail ? plugin_format("cannot import '%s': %s", import->request.specifier, detail) : NULL;
  import->state->host->fail(import->base.call, code, message ? message : "modules: out of memory");
  free(message);
  free(detail);
}

bool modules_fail_if_cancelled(const modules_import *import) {
  if (atomic_load(&import->state->stopping)) {
    modules_fail(import, "ECANCELED", "the server is shutting down");
  } else if (atomic_load(&import->base.cancelled)) {
    modules_fail(import, "ECANCELED", "the run that asked for it ended");
  } else {
    return false;
  }
  return true;
}

void modules_fail_timeout(const modules_import *import) {
  modules_fail(import, "ERR_MODULE_TIMEOUT",
               "%s did not load within the limit of %ld ms (raise it with --plugin-config modules.timeout_ms=N)",
               import->request.url.href, import->state->timeout_ms);
}

void modules_fail_too_large(const modules_import *import) {
  modules_fail(import, "ERR_MODULE_TOO_LARGE",
               "%s is larger than the limit of %zu bytes (raise it with --plugin-config modules.max_module_bytes=N)",
               import->request.url.href, import->state->max_module_bytes);
}

long modules_milliseconds_until(const struct timespec *deadline) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

void modules_source_free(modules_source *source) {
  free(source->bytes);
  free(source->content_type);
  *source = (modules_source){0};
}

/* ---- policy input ---- */

static int import_policy_input(void *plugin_state, const char *request_json, size_t request_length, char **input,
                               char **error) {
  modules_request request;
  *input = NULL;
  if (modules_request_parse(plugin_state, request_json, request_length, &request, error) == 0 &&
      !(*input = modules_policy_input(request.specifier, request.specifier_type, &request.url))) {
    *error = strdup("modules: out of memory");
  }
  modules_request_free(&request);
  return *input == NULL;
}

/* ---- imports ---- */

/* Downloads take seconds, so each runs on a thread of its own and `start` returns at once. */
static plugin_jobs imports = PLUGIN_JOBS_INITIALIZER;

static void free_import(plugin_job *base) {
  modules_import *import = (modules_import *)base;
  modules_request_free(&import->request);
  free(import);
}

/* The module downloaded, stripped of types if need be, and cached. Returns whether it is in
 * `source`; when not, the call has ended. */
static bool download(modules_import *import, modules_source *source) {
  char *requested_url = strdup(import->request.url.href);
  const char *loader = NULL;
  bool loaded = false;
  if (!requested_url) {
    modules_fail(import, NULL, "out of memory");
  } else if (modules_download(import, source) &&
             (!(loader = modules_typescript_loader(&import->request.url, source->content_type)) ||
              modules_strip_types(import, loader, source))) {
    modules_cache_store(import->state, requested_url, import->request.url.href, source);
    loaded = true;
  }
  free(requested_url);
  return loaded;
}

static void complete_import(const modules_import *import, const modules_source *source) {
  cJSON *value = cJSON_CreateObject();
  char *text = value && cJSON_AddStringToObject(value, "url", import->request.url.href) ? cJSON_PrintUnformatted(value)
                                                                                         : NULL;
  cJSON_Delete(value);
  if (!text) {
    modules_fail(import, NULL, "out of memory");
    return;
  }
  /* Bytes that are not NULL reach the loader as a Uint8Array even when empty, as an empty module's must. */
  const uint8_t *bytes = source->bytes ? source->bytes : (const uint8_t *)"";
  import->state->host->complete(import->base.call, text, strlen(text), bytes, source->length);
  free(text);
}

static void run_import(plugin_job *base) {
  modules_import *import = (modules_import *)base;
  /* Signals meant for the process go to the host's threads; and writing to an esbuild that exited
   * then fails with EPIPE here instead of raising SIGPIPE. */
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, NULL);
  long timeout_ms = import->state->timeout_ms;
  clock_gettime(CLOCK_MONOTONIC, &import->deadline);
  import->deadline.tv_sec += timeout_ms / 1000;
  import->deadline.tv_nsec += timeout_ms % 1000 * 1000000;
  if (import->deadline.tv_nsec >= 1000000000) import->deadline.tv_sec++, import->deadline.tv_nsec -= 1000000000;
  modules_source source = {0};
  if (download(import, &source)) complete_import(import, &source);
  modules_source_free(&source);
}

/* Ends the call from the cache, at once, when the module is there: a hit needs no thread. The
 * policy allowed the requested URL; where it led when cached is judged as a redirect now. */
static bool answer_from_cache(modules_import *import) {
  modules_source source = {0};
  plugin_url cached_url;
  if (!modules_cache_lookup(import->state, import->request.url.href, &cached_url, &source)) return false;
  if (strcmp(cached_url.href, import->request.url.href) == 0 || modules_allow_redirect(import, &cached_url)) {
    plugin_url_free(&import->request.url);
    import->request.url = cached_url;
    complete_import(import, &source);
  } else {
    plugin_url_free(&cached_url);
  }
  modules_source_free(&source);
  return true;
}

/* Resolution depends only on the request and the settings, so this holds unless something is
 * amiss; but nothing is fetched that the policy did not see. */
static bool still_allowed(const modules_import *import) {
  const modules_request *request = &import->request;
  char *document = modules_policy_input(request->specifier, request->specifier_type, &request->url);
  size_t allowed_length = 0;
  const char *allowed = import->state->host->allowed_input(import->base.call, &allowed_length);
  bool same = document && allowed && strlen(document) == allowed_length &&
              memcmp(document, allowed, allowed_length) == 0;
  if (!document) {
    modules_fail(import, NULL, "out of memory");
  } else if (!same) {
    modules_fail(import, "ERR_MODULE_DENIED", "it now resolves to %s, which is not what the policy allowed",
                 request->url.href);
  }
  free(document);
  return same;
}

static void import_start(void *plugin_state, mcpv8_call *call, const char *request_json, size_t request_length,
                         const uint8_t *bytes, size_t bytes_length) {
  (void)bytes, (void)bytes_length;
  modules_state *state = plugin_state;
  plugin_jobs_join_finished(&imports);
  modules_import *import = calloc(1, sizeof *import);
  if (!import) {
    state->host->fail(call, NULL, "modules: out of memory");
    return;
  }
  *import = (modules_import){
      .base = {.call = call, .run = run_import, .destroy = free_import, .on_cancel = modules_kill_esbuild},
      .state = state};
  char *error = NULL;
  if (modules_request_parse(state, request_json, request_length, &import->request, &error) != 0) {
    state->host->fail(call, "ERR_INVALID_MODULE_SPECIFIER", error ? error : "modules: out of memory");
  } else if (still_allowed(import) && !answer_from_cache(import)) {
    int started = plugin_jobs_start(&imports, &import->base);
    if (started == 0) return; /* the import is the thread's from now on */
    modules_fail(import, NULL, "could not start the import: %s", strerror(started));
  }
  free(error);
  free_import(&import->base);
}

/* The run that asked for `call` ended: its download stops at curl's next progress check, its
 * esbuild is killed. */
static void import_cancel(void *plugin_state, mcpv8_call *call) {
  (void)plugin_state;
  plugin_jobs_cancel(&imports, call);
}

static const mcpv8_operation operations[] = {
    {.size = sizeof(mcpv8_operation),
     .name = "import",
     .policy_input = import_policy_input,
     .start = import_start,
     .cancel = import_cancel},
};

/* ---- settings ---- */

static modules_state plugin_state;

static void free_settings(modules_state *state) {
  free(state->cdn_url);
  free(state->cache_dir);
  free(state->esbuild);
  state->cdn_url = state->cache_dir = state->esbuild = NULL;
}

/* The operator's setting `key` as text, or a copy of `fallback` when unset; NULL when out of memory. */
static char *read_text_setting(const mcpv8_host_api *host, const char *key, const char *fallback) {
  char *value = host->config_host_owned(MODULES_PLUGIN_NAME, key);
  char *copy = strdup(value ? value : fallback);
  host->release(value);
  return copy;
}

/* `<cdn_url>/path` must be a URL on the CDN: so http(s), and no query or fragment to append to. */
static bool is_cdn_url(const char *text) {
  plugin_url url = {0};
  char *error = NULL;
  bool valid = !strpbrk(text, "?#") && plugin_url_parse(text, NULL, "", "", &url, &error) == 0;
  plugin_url_free(&url);
  free(error);
  return valid;
}

/* Reads the settings that are text into `state`; false with a message in `error`. */
static bool read_text_settings(const mcpv8_host_api *host, modules_state *state, char *error, size_t error_capacity) {
  char *cache = read_text_setting(host, "cache", "on");
  state->cdn_url = read_text_setting(host, "cdn_url", DEFAULT_CDN_URL);
  state->cache_dir = read_text_setting(host, "cache_dir", DEFAULT_CACHE_DIR);
  state->esbuild = read_text_setting(host, "esbuild", "esbuild");
  bool valid = false;
  if (!cache || !state->cdn_url || !state->cache_dir || !state->esbuild) {
    snprintf(error, error_capacity, "modules: out of memory reading the settings");
  } else if (strcmp(cache, "on") != 0 && strcmp(cache, "off") != 0) {
    snprintf(error, error_capacity, "modules: --plugin-config modules.cache must be \"on\" or \"off\", not \"%s\"",
             cache);
  } else if (!is_cdn_url(state->cdn_url)) {
    snprintf(error, error_capacity,
             "modules: --plugin-config modules.cdn_url must be an http:// or https:// URL without a query, not \"%s\"",
             state->cdn_url);
  } else if (state->cache_dir[0] != '/') {
    snprintf(error, error_capacity, "modules: --plugin-config modules.cache_dir must be an absolute path, not \"%s\"",
             state->cache_dir);
  } else if (!*state->esbuild) {
    snprintf(error, error_capacity, "modules: --plugin-config modules.esbuild must name an executable");
  } else {
    valid = true;
  }
  if (valid) {
    /* Specifiers add their own slash: "https://esm.sh/" + "/lodash" would make an empty segment. */
    for (size_t length = strlen(state->cdn_url); length > 0 && state->cdn_url[length - 1] == '/'; length--) {
      state->cdn_url[length - 1] = '\0';
    }
    if (strcmp(cache, "off") == 0) {
      free(state->cache_dir);
      state->cache_dir = NULL;
    }
  }
  free(cache);
  return valid;
}

/* ---- the plugin ---- */

/* Stops imports in flight (they fail with "shutting down") and waits for their threads. */
static void shutdown_plugin(void *state_pointer) {
  modules_state *state = state_pointer;
  atomic_store(&state->stopping, true);
  plugin_jobs_stop(&imports);
  free_settings(state);
  curl_global_cleanup();
}

static const mcpv8_plugin descriptor = {
    .size = sizeof(mcpv8_plugin),
    .abi_major = MCPV8_ABI_MAJOR,
    .abi_minor = MCPV8_ABI_MINOR,
    .name = MODULES_PLUGIN_NAME,
    .version = "1.0.0",
    .category = "modules",
    .globals = NULL,
    .global_count = 0,
    .prelude_js = prelude,
    .operations = operations,
    .operation_count = sizeof operations / sizeof *operations,
    .state = &plugin_state,
    .release = free,
    .shutdown = shutdown_plugin,
    .usage = "import (static or dynamic) from npm:name@version, jsr:@scope/name@version or https:// URLs",
};

const mcpv8_plugin *mcpv8_plugin_entry(const mcpv8_host_api *host, char *error, size_t error_capacity) {
  modules_state *state = &plugin_state;
  unsigned long long cache_max_bytes, max_module_bytes, timeout_ms;
  if (!plugin_host_is_complete(host, MODULES_PLUGIN_NAME, error, error_capacity) ||
      !plugin_read_setting(host, NULL, MODULES_PLUGIN_NAME, "cache_max_bytes", DEFAULT_CACHE_MAX_BYTES, MOST_CACHE_MAX_BYTES,
                           &cache_max_bytes, error, error_capacity) ||
      !plugin_read_setting(host, NULL, MODULES_PLUGIN_NAME, "max_module_bytes", DEFAULT_MAX_MODULE_BYTES,
                           MOST_MAX_MODULE_BYTES, &max_module_bytes, error, error_capacity) ||
      !plugin_read_setting(host, NULL, MODULES_PLUGIN_NAME, "timeout_ms", DEFAULT_TIMEOUT_MS, MOST_TIMEOUT_MS, &timeout_ms,
                           error, error_capacity)) {
    return NULL;
  }
  *state = (modules_state){.host = host,
                           .cache_max_bytes = cache_max_bytes,
                           .max_module_bytes = (size_t)max_module_bytes,
                           .timeout_ms = (long)timeout_ms};
  CURLcode initialised = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (initialised != CURLE_OK) {
    snprintf(error, error_capacity, "modules: libcurl could not start: %s", curl_easy_strerror(initialised));
    return NULL;
  }
  if (!read_text_settings(host, state, error, error_capacity)) {
    free_settings(state);
    curl_global_cleanup();
    return NULL;
  }
  return &descriptor;
}
