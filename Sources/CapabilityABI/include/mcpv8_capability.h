/*
 * mcpv8_capability.h: the stable ABI between mcp-v8 and its capability plugins.
 *
 * A capability plugin is a shared library (.so) that gives guest JavaScript one way out of the
 * sandbox (HTTP, files, a key-value store, ...). It is written against this header alone: C11,
 * the C standard library, no V8 and no Swift. docs/plugin-abi.md walks through a whole plugin.
 *
 * How a plugin is used
 *   1. The host dlopens the file and looks up MCPV8_PLUGIN_ENTRY_SYMBOL (mcpv8_plugin_entry).
 *   2. It calls the entry once with its API table; the plugin returns its descriptor. The host
 *      refuses the plugin (naming the file and the reason) when the entry is missing, returns
 *      NULL, or the descriptor's ABI major differs from the host's. Since 1.1, it then calls the
 *      descriptor's `open_set` (when set) once per capability set that uses the plugin.
 *   3. At the start of every run, the host evaluates the plugin's `prelude_js` as the body of a
 *      JavaScript function with one parameter, `host`. `host.call(operation, request, bytes)`
 *      returns a Promise; the prelude uses it to define the plugin's globals.
 *   4. For each host.call, the host asks the plugin for the operation's policy input document,
 *      asks the plugin's policy category about it, and only if the policy allows calls the
 *      operation's `start`. The operation ends with exactly one call of `complete` or `fail`.
 *
 * Versioning
 *   MCPV8_ABI_MAJOR changes when anything here changes incompatibly; a plugin built for another
 *   major is refused. MCPV8_ABI_MINOR grows when fields are appended to the end of a struct; each
 *   such field is marked with the minor that added it (`since 1.1`), unmarked fields are 1.0's.
 *   Every struct begins with `size` (sizeof the struct as its maker compiled it): a reader only
 *   touches a field when its offset plus its size lie within `size`
 *   (offsetof(mcpv8_host_api, claim_bytes) + sizeof(void *) <= host->size), so old plugins run
 *   on newer hosts and the reverse. An array of structs (`operations`) has the stride of its
 *   entries' `size`, not the reader's sizeof.
 *
 * Conventions
 *   Strings are UTF-8 and NUL-terminated unless a length is given. JSON is UTF-8 JSON text.
 *   Ownership is in the name: a `borrowed` pointer is valid only during the call that passes it;
 *   memory a function returns as `host_owned` is freed with mcpv8_host_api.release, memory
 *   returned as `plugin_owned` with mcpv8_plugin.release.
 *
 * Threading
 *   The entry runs once, on one thread, before any operation. `policy_input` and `start` run on
 *   host threads, possibly many at once: they must be thread-safe. A plugin may finish an
 *   operation from any thread, including one of its own, at any later time. Every host function
 *   may be called from any thread.
 */
#ifndef MCPV8_CAPABILITY_H
#define MCPV8_CAPABILITY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MCPV8_ABI_MAJOR 1
#define MCPV8_ABI_MINOR 1

/* The one symbol a plugin exports; its type is mcpv8_plugin_entry_fn. */
#define MCPV8_PLUGIN_ENTRY_SYMBOL "mcpv8_plugin_entry"

/* One operation in flight. Opaque; valid from `start` until `complete` or `fail` returns. */
typedef struct mcpv8_call mcpv8_call;

/* since 1.1: one capability set that uses the plugin, as `open_set` sees it. Opaque; valid only
 * during that call. A server with tenants serves one set per tenant (its policies and settings);
 * without, one set, the server's own. */
typedef struct mcpv8_set mcpv8_set;

typedef enum {
  MCPV8_LOG_DEBUG = 0,
  MCPV8_LOG_INFO = 1,
  MCPV8_LOG_WARNING = 2,
  MCPV8_LOG_ERROR = 3,
} mcpv8_log_level;

typedef enum {
  MCPV8_POLICY_DENY = 0,
  MCPV8_POLICY_ALLOW = 1,
} mcpv8_policy_decision;

/* What the host gives a plugin. Static for the life of the process; keep the pointer. */
typedef struct {
  /* sizeof(mcpv8_host_api) as the host was compiled. */
  size_t size;
  /* The host's MCPV8_ABI_MAJOR and MCPV8_ABI_MINOR. */
  uint32_t abi_major;
  uint32_t abi_minor;

  /* Asks this call's policy category about another input document, for steps the host cannot
   * see coming (each hop of a redirect, say). `input_json_borrowed` is a JSON object of
   * `input_length` bytes. Blocks until decided (a remote policy is an HTTP request); never call
   * it while holding a lock the plugin's completion path needs. On MCPV8_POLICY_DENY, when
   * `reason_host_owned` is not NULL, it receives why (release it). An unreachable or failing
   * policy denies. */
  mcpv8_policy_decision (*check_policy)(mcpv8_call *call, const char *input_json_borrowed, size_t input_length,
                                        char **reason_host_owned);

  /* Ends a call successfully: `result_json_borrowed` (`result_length` bytes of JSON; NULL means
   * null) becomes the value the guest's promise resolves to, and `bytes_borrowed` (may be NULL)
   * a Uint8Array beside it. The host copies both before returning. Call exactly once per call,
   * from any thread; the call handle is invalid afterwards. */
  void (*complete)(mcpv8_call *call, const char *result_json_borrowed, size_t result_length,
                   const uint8_t *bytes_borrowed, size_t bytes_length);

  /* Ends a call with an error: the guest's promise rejects with an Error whose message is
   * `message_borrowed` and, when `code_borrowed` is not NULL, whose `code` is it (Node-like codes
   * such as "ENOENT"). Exactly once per call instead of complete. */
  void (*fail)(mcpv8_call *call, const char *code_borrowed, const char *message_borrowed);

  /* Writes a line to the server's log (stderr), tagged with the plugin's name. */
  void (*log)(const char *plugin_name_borrowed, mcpv8_log_level level, const char *message_borrowed);

  /* The operator's setting `key` for plugin `plugin_name` (given to the server as
   * `--plugin-config NAME.KEY=VALUE`; the Fetch plugin also gets `header_rules`, a JSON array
   * built from --fetch-header and --fetch-header-config). NULL when unset; otherwise a copy to
   * free with `release`. (Named `config` in 1.0; only the name changed.) One answer for the whole
   * process: with several capability sets, the settings of the first set by name ("" first) that
   * uses the plugin. A plugin whose settings differ by set reads them in `open_set` (since 1.1). */
  char *(*config_host_owned)(const char *plugin_name_borrowed, const char *key_borrowed);

  /* Frees memory the host handed out as host_owned. NULL is allowed. */
  void (*release)(void *host_owned);

  /* The input document the policy allowed for this call: what `policy_input` returned, as JSON of
   * *length_out bytes. Borrowed until the call is completed or failed. `start` compares it with
   * the document the request would produce now, and refuses when they differ (a symlink changed
   * in between, say), so the host never acts on something the policy did not see. */
  const char *(*allowed_input)(mcpv8_call *call, size_t *length_out);

  /* since 1.1 */
  /* Read it only when `size` covers it. Claims `length` more bytes of the run's memory
   * for buffers (its heap limit) for the answer this call is gathering, before the plugin holds
   * them: call it as a response body or a process's output arrives, so many calls at once cannot
   * hold more than the run may. Returns 0 when they fit; non-zero when they do not (or the run is
   * over): then stop and fail the call, saying the answer was too large for the run's memory.
   * What a call claimed is given back once its answer reached the guest; bytes passed to
   * `complete` beyond what was claimed are claimed then. */
  int (*claim_bytes)(mcpv8_call *call, size_t length);

  /* since 1.1 */
  /* The setting `key` of capability set `set` for this plugin, during `open_set` (NULL when unset;
   * otherwise a copy to free with `release`). Same keys as config_host_owned. */
  char *(*set_config_host_owned)(const mcpv8_set *set, const char *key);

  /* since 1.1 */
  /* What `open_set` returned for the set of the run that made `call` (from `start` until the call
   * ends). Only for plugins with `open_set`. */
  void *(*call_set_state)(mcpv8_call *call);
} mcpv8_host_api;

/* One operation a plugin offers to its prelude (host.call(name, ...)). */
typedef struct {
  /* sizeof(mcpv8_operation) as the plugin was compiled. */
  size_t size;
  /* The name the prelude passes to host.call: letters, digits and '_'. */
  const char *name;

  /* Builds the policy input document for a request, before anything is done. `request_json` is
   * the JSON text the prelude passed (`request_length` bytes). Canonicalise here what the policy
   * must judge (absolute paths, parsed URLs); never include secrets. Returns 0 and a JSON object
   * in *input_plugin_owned, or non-zero and a message for the guest in *error_plugin_owned
   * (the request is malformed; nothing is asked or started). */
  int (*policy_input)(void *plugin_state, const char *request_json_borrowed, size_t request_length,
                      char **input_plugin_owned, char **error_plugin_owned);

  /* Starts the operation once the policy allowed `policy_input`'s document. `bytes_borrowed`
   * (may be NULL) is the binary body the prelude passed (a Uint8Array or ArrayBuffer); copy
   * what outlives this call. Finish with host->complete or host->fail, now or later, from any
   * thread. Where acting on the request could reach something other than what the policy saw
   * (a path whose symlinks changed since), compare with host->allowed_input and fail rather
   * than act. */
  void (*start)(void *plugin_state, mcpv8_call *call, const char *request_json_borrowed, size_t request_length,
                const uint8_t *bytes_borrowed, size_t bytes_length);

  /* May be NULL. The run that started `call` has ended (finished, timed out, was cancelled, or
   * failed) while the call was still in flight: stop it and let go of what it holds (kill the
   * process it started, abort the transfer). Called at most once, on a host thread, only after
   * `start` returned. The call must still end with complete or fail; its answer is dropped. */
  void (*cancel)(void *plugin_state, mcpv8_call *call);
} mcpv8_operation;

/* What a plugin tells the host about itself. Must stay valid until `shutdown` returns. */
typedef struct {
  /* sizeof(mcpv8_plugin) as the plugin was compiled. */
  size_t size;
  /* The MCPV8_ABI_MAJOR and MCPV8_ABI_MINOR the plugin was compiled with. */
  uint32_t abi_major;
  uint32_t abi_minor;
  /* Short name for logs and errors ("fetch"), and the plugin's own version ("1.2.0"). */
  const char *name;
  const char *version;
  /* The policy category that gates it ("fetch", "fs", or the plugin's own). The plugin is only
   * loaded when the operator configured a policy for this category. */
  const char *category;
  /* The global names the prelude defines: ASCII JavaScript identifiers (letters, digits, _ and $).
   * Two loaded plugins may not claim the same name. */
  const char *const *globals;
  size_t global_count;
  /* Body of `function (host) { ... }`, run at the start of every run. */
  const char *prelude_js;
  const mcpv8_operation *operations;
  size_t operation_count;
  /* Passed back to every operation. */
  void *state;
  /* Frees memory the plugin handed out as plugin_owned. NULL is allowed. */
  void (*release)(void *plugin_owned);
  /* Called once when the host is done with the plugin (may be NULL). No operation is started
   * after it; calls still in flight may be abandoned. */
  void (*shutdown)(void *plugin_state);

  /* since 1.1 */
  /* May be NULL. One line (at most 400 bytes, no control characters) telling an agent what the
   * plugin's globals offer and how to call them, such as "fetch(url, init?) -> Promise<Response>".
   * The host puts it in the run_js tool's description for callers whose capability set has the
   * plugin; without it (or for a 1.0 plugin) the host writes one from the name, category and
   * globals. */
  const char *usage;

  /* May be NULL. Called once per capability set that uses the plugin, after the entry and before
   * any of that set's operations, on one thread: read the set's settings with
   * host->set_config_host_owned(set, key), check them, and put what that set's calls need in
   * *set_state_out (kept for the life of the process; `start` gets it back with
   * host->call_set_state). Returns 0, or non-zero after writing a NUL-terminated reason (at most
   * `error_capacity` bytes) into `error`: the server refuses that configuration, naming the plugin.
   * A plugin without it reads its settings at the entry with config_host_owned, once for the whole
   * process: then every set that uses it must give it the same settings, or the server refuses to
   * start (naming the plugin and the sets that differ). */
  int (*open_set)(void *plugin_state, const mcpv8_set *set, void **set_state_out, char *error, size_t error_capacity);
} mcpv8_plugin;

/* The entry: `host` is valid for the life of the process. Returns the descriptor, or NULL after
 * writing a NUL-terminated reason (at most `error_capacity` bytes) into `error`. */
typedef const mcpv8_plugin *(*mcpv8_plugin_entry_fn)(const mcpv8_host_api *host, char *error, size_t error_capacity);

#ifdef __cplusplus
}
#endif

#endif /* MCPV8_CAPABILITY_H */
