/*
 * cv8: the small C API over V8 (Debian's libnode) that the Swift host uses.
 *
 * No V8 type crosses this header. All strings are UTF-8. Every `char *` returned to the caller
 * is malloc'd and owned by the caller (free with cv8_free), unless documented otherwise.
 *
 * Threading: cv8_initialize once per process before anything else. A cv8_engine is used by one
 * thread at a time (any thread); cv8_engine_cancel may be called from any thread at any time.
 * A cv8_runtime is immutable after creation and may be shared by engines on many threads.
 */
#ifndef CV8_H
#define CV8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Initializes V8 for this process (platform, ICU, flags). Idempotent. Returns 0 on success; on
 * failure returns non-zero and, if error_out is not NULL, stores a message there. */
int cv8_initialize(char **error_out);

/* The V8 version string, e.g. "10.2.154.26-node.37". Static storage; do not free. */
const char *cv8_v8_version(void);

/* The GNU build id (hex) of the libnode this process loaded: snapshots are only valid for the
 * exact build that made them. "unknown" if the library carries none. Static storage. */
const char *cv8_libnode_build_id(void);

/* Frees memory returned by any cv8 function. NULL is allowed. */
void cv8_free(void *pointer);

/* Called when V8 is about to end the process (an out-of-memory V8 cannot recover from, such as
 * one allocation far beyond the heap limit, or another fatal error). `is_out_of_memory` is
 * non-zero for the former: 2 when the process is at its memory limit (cv8_limit_process_memory),
 * 1 otherwise. The process aborts when the handler returns; a handler may report
 * the reason and _exit instead. Set it once, before creating engines. */
typedef void (*cv8_fatal_error_handler)(const char *message, int is_out_of_memory);
void cv8_set_fatal_error_handler(cv8_fatal_error_handler handler);

/* Process containment (not V8's, but this is the project's C layer). Makes this process a
 * child subreaper, so processes its descendants detach are re-parented to it rather than to
 * PID 1. 0 or an errno. */
int cv8_become_subreaper(void);

/* Kills, until none is left, every descendant of this process outside its own session (the
 * processes runs started: the subprocess plugin gives each command a session of its own), and
 * reaps those that end up its children. Its children in its own session (workers, esbuild, MCP
 * upstreams) and their subtrees are left alone. Returns how many processes it killed. */
size_t cv8_kill_processes_of_runs(void);

/* Limits the memory this process (and what it starts) may map for data to `bytes`
 * (RLIMIT_DATA: heap, anonymous mappings, thread stacks; V8's reserved but unused address space
 * does not count). Past it, an ArrayBuffer allocation fails with a RangeError and V8's own
 * allocations end the process through the fatal error handler. 0 or an errno. */
int cv8_limit_process_memory(uint64_t bytes);

/* Non-zero when this process's data is within an eighth of its memory limit. */
int cv8_process_memory_limit_reached(void);

/* The runtime: a V8 startup snapshot that already holds the prelude (console, timers,
 * TextEncoder/Decoder, URL, structuredClone, ...). Built once per process in a few ms. */
typedef struct cv8_runtime cv8_runtime;
cv8_runtime *cv8_runtime_create(char **error_out);
void cv8_runtime_free(cv8_runtime *runtime);
/* Size in bytes of the runtime's startup snapshot (for diagnostics and benchmarks). */
size_t cv8_runtime_snapshot_size(const cv8_runtime *runtime);

/* An engine: one isolate created from the runtime, with a fresh context made ready ahead of the
 * next run. Its heap limit is fixed at creation; the ArrayBuffer memory cap equals it. */
typedef struct cv8_engine cv8_engine;
cv8_engine *cv8_engine_create(const cv8_runtime *runtime, uint32_t heap_limit_mb, char **error_out);
void cv8_engine_free(cv8_engine *engine);
/* Creates the context the next run will use, if not already made. Runs call it implicitly;
 * calling it after a run takes that cost off the next run's path. */
void cv8_engine_prepare(cv8_engine *engine);
/* Stops the current run (if any) as CV8_CANCELLED. Thread-safe; a no-op when idle. */
void cv8_engine_cancel(cv8_engine *engine);

/* Console levels reported to the output callback. */
typedef enum {
  CV8_CONSOLE_LOG = 0,
  CV8_CONSOLE_INFO = 1,
  CV8_CONSOLE_WARN = 2,
  CV8_CONSOLE_ERROR = 3,
  CV8_CONSOLE_DEBUG = 4,
} cv8_console_level;

/* Called on the running thread once per console line (no trailing newline; a console call that
 * prints several lines calls it once per line). `line` is valid only during the call. */
typedef void (*cv8_output_callback)(void *context, cv8_console_level level, const char *line,
                                    size_t length);

/* ---- host calls: how capability plugins reach a run ------------------------------------------
 * A run may install capabilities: JavaScript function bodies (a plugin's prelude) evaluated with
 * one parameter, `host`, before the code. `host.call(operation, request, bytes)` returns a promise
 * and reports the call to the request's on_host_call; the run's event loop waits for it to end.
 * The host ends every call exactly once with cv8_host_call_complete, from any thread, at any time:
 * a call that ends after its run did is dropped and freed there. */
typedef struct cv8_host_call cv8_host_call;

typedef struct {
  const char *prelude; /* UTF-8 body of `function (host) { ... }` */
  size_t prelude_length;
} cv8_capability;

/* A runtime whose startup snapshots already ran these capabilities' preludes (copied). A run
 * whose context already holds exactly the preludes its request lists (from the runtime's
 * snapshot, or from a heap made with them) skips running them, which saves compiling and running
 * them every run; otherwise it runs them all. */
cv8_runtime *cv8_runtime_create_with_capabilities(const cv8_capability *capabilities, size_t capability_count,
                                                  char **error_out);

/* Called on the running thread: `capability` indexes the request's capabilities; `request_json`
 * is JSON.stringify of the request; `bytes` (may be NULL) is the binary body. All are valid only
 * during the call. The handler must return quickly (hand the work to another thread). */
typedef void (*cv8_host_call_handler)(void *context, cv8_host_call *call, size_t capability, const char *operation,
                                      const char *request_json, size_t request_length, const uint8_t *bytes,
                                      size_t bytes_length);

/* Ends a call. ok != 0: `json` (NULL for null) is the value and `bytes` (may be NULL) a Uint8Array
 * beside it. ok == 0: `json` is {"message": ..., "code"?: ...} and the promise rejects with an
 * Error. Copies what it needs; `call` is invalid afterwards. */
void cv8_host_call_complete(cv8_host_call *call, int ok, const char *json, size_t json_length, const uint8_t *bytes,
                            size_t bytes_length);

/* Claims `length` more bytes of the run's memory for buffers (its heap limit, which also caps its
 * ArrayBuffers) for the answer `call` is gathering, before the host holds them: a response body
 * counts as it arrives, not once it is whole. Returns 0 when they fit beside the ArrayBuffers in
 * use and what the run's other calls claimed; non-zero when they do not, or the run is over (then
 * stop and end the call with a failure). Thread-safe. What a call claimed is given back once its
 * answer reached JavaScript or was dropped; cv8_host_call_complete claims bytes beyond it itself. */
int cv8_host_call_claim(cv8_host_call *call, size_t length);

/* ---- pre-loaded WebAssembly modules ----------------------------------------------------------
 * A module compiled once per process and installed at the start of every engine run that lists
 * it: its WebAssembly.Module as the global `__wasm_<name>` and, when it imports nothing, its
 * instance's exports as the global `<name>`. Checkpointer runs have no WebAssembly and ignore it. */
typedef struct cv8_wasm_module cv8_wasm_module;
/* Compiles `bytes` (copied). Returns NULL with a message (V8's CompileError) on failure. */
cv8_wasm_module *cv8_wasm_module_compile(const cv8_runtime *runtime, const char *name, const uint8_t *bytes,
                                         size_t length, char **error_out);
void cv8_wasm_module_free(cv8_wasm_module *module);

typedef struct {
  const char *code;
  size_t code_length;
  /* Wall-clock limit for the whole run: compile, evaluation, event loop and result conversion. */
  uint32_t timeout_ms;
  /* Console output beyond this many bytes (counting one '\n' per line) is dropped, and the
   * result says so. The run itself goes on. */
  size_t output_limit_bytes;
  cv8_output_callback on_output;
  void *output_context;
  /* Capabilities installed before the code runs, in order; none when capability_count is 0. */
  const cv8_capability *capabilities;
  size_t capability_count;
  cv8_host_call_handler on_host_call;
  void *host_call_context;
  /* Modules installed before the capabilities and the code; none when wasm_module_count is 0. */
  const cv8_wasm_module *const *wasm_modules;
  size_t wasm_module_count;
  /* Host calls reported to on_host_call and not yet ended, at most; further calls wait in order
   * and are reported as earlier ones end. 0: no limit. */
  size_t max_host_calls_in_flight;
} cv8_run_request;

typedef enum {
  CV8_STATUS_COMPLETED = 0,
  CV8_STATUS_ERROR = 1,         /* uncaught exception, rejected result, unhandled rejection */
  CV8_STATUS_SYNTAX_ERROR = 2,  /* the code did not compile */
  CV8_STATUS_TIMED_OUT = 3,     /* timeout_ms passed */
  CV8_STATUS_OUT_OF_MEMORY = 4, /* the heap limit was reached */
  CV8_STATUS_CANCELLED = 5,     /* cv8_engine_cancel */
  CV8_STATUS_INTERNAL = 6,      /* the engine failed, not the guest */
} cv8_status;

typedef struct {
  cv8_status status;
  /* The result as JSON text, NULL when the value is undefined (or the run failed). A value that
   * JSON.stringify can serialize is that JSON; anything else (functions, symbols, BigInt, cycles)
   * is a JSON string holding its console-style string form. A returned promise is awaited. */
  char *result_json;
  /* Human-readable error for every status but COMPLETED: message, and stack or line:column. For
   * TIMED_OUT and OUT_OF_MEMORY it names the limit only; the host words how to raise it. */
  char *error;
  /* Non-zero when console output went past output_limit_bytes. */
  int output_truncated;
  /* Bytes of console output produced, including what was dropped. */
  uint64_t output_bytes;
} cv8_run_result;

/* Runs code in the engine's fresh context, then disposes that context. Code that uses
 * import/export or top-level await runs as an ES module; its result is the (awaited) value of its
 * last top-level expression statement. The event loop (microtasks, timers, V8 platform tasks such
 * as async WebAssembly compilation) runs until nothing is pending or time is up. After
 * CV8_STATUS_OUT_OF_MEMORY the engine replaces its isolate itself; it stays usable.
 * Stack: a run (here and in cv8_checkpointer_run) lets V8 use 1 MiB of the calling thread's stack
 * below the point of the call, so deep recursion ends as a RangeError. Call it on a thread whose
 * stack has ample room beyond that (the worker's has 16 MiB), or the guest can overflow it. */
cv8_run_result cv8_engine_run(cv8_engine *engine, const cv8_run_request *request);
/* Frees the strings inside a result (not the struct itself). */
void cv8_run_result_free(cv8_run_result *result);

/* ---- stateful runs ---------------------------------------------------------------------------
 * A checkpointer runs code starting from a heap snapshot (or, without one, from the runtime's lean
 * stateful snapshot, built on first use, where URL, URLSearchParams and WASI are installed when a
 * program first reads them) and, when the run completes, returns a snapshot of the end state.
 * Each run is its own snapshotting isolate; there, unlike in engines, JavaScript runs without the
 * optimizing compiler, there is no WebAssembly, and ArrayBuffer memory is not capped by the heap
 * limit (V8 provides that isolate's allocator; a cv8_limit_process_memory limit still bounds it).
 * `Intl` and `FinalizationRegistry` throw a TypeError there: V8 aborts the process when it
 * snapshots their objects, so a heap started by a checkpointer never exposes them. */
typedef struct cv8_checkpointer cv8_checkpointer;
cv8_checkpointer *cv8_checkpointer_create(const cv8_runtime *runtime, uint32_t heap_limit_mb);
void cv8_checkpointer_free(cv8_checkpointer *checkpointer);
/* Stops the current run (if any) as CV8_CANCELLED. Thread-safe. */
void cv8_checkpointer_cancel(cv8_checkpointer *checkpointer);

typedef struct {
  cv8_run_result run;
  /* The new heap (a payload for cv8_heap_seal), only when run.status is CV8_STATUS_COMPLETED. */
  uint8_t *snapshot;
  size_t snapshot_length;
} cv8_checkpoint_result;

/* `snapshot` must be a payload verified by cv8_heap_open (V8 aborts on corrupt bytes); NULL starts
 * from the runtime. A run that fails, is cancelled or times out returns no snapshot. */
cv8_checkpoint_result cv8_checkpointer_run(cv8_checkpointer *checkpointer, const uint8_t *snapshot,
                                           size_t snapshot_length, const cv8_run_request *request);
void cv8_checkpoint_result_free(cv8_checkpoint_result *result);

/* ---- heap snapshot envelopes ----------------------------------------------------------------
 * A stored heap is its snapshot bytes (the payload) in an envelope: magic, format version, the V8
 * version and libnode build id that made it, payload length, SHA-256 of the payload, then the
 * payload compressed with LZ4. Its id is the hex SHA-256 of the payload. V8 aborts the process on
 * a corrupt or foreign snapshot, so every blob is opened (verified) here before V8 sees it. */
typedef struct {
  uint8_t *bytes; /* malloc'd; free with cv8_free */
  size_t length;
  char id[65];    /* hex SHA-256 of the payload, NUL-terminated */
} cv8_sealed_heap;

/* Seals a payload. Returns 0, or non-zero with a message in *error_out. */
int cv8_heap_seal(const uint8_t *payload, size_t length, cv8_sealed_heap *out, char **error_out);

/* Verifies a sealed heap and returns its payload (malloc'd; free with cv8_free) and id. Returns 0,
 * or non-zero with a message naming what is wrong (magic, format, V8 version, libnode build,
 * truncation, corrupt data, checksum). */
int cv8_heap_open(const uint8_t *sealed, size_t length, uint8_t **payload_out, size_t *payload_length_out,
                  char id_out[65], char **error_out);

#ifdef __cplusplus
}
#endif

#endif /* CV8_H */
