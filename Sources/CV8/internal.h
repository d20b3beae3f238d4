// Shared between the C++ files of CV8; never included by Swift.
#ifndef CV8_INTERNAL_H
#define CV8_INTERNAL_H

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <libplatform/libplatform.h>
#include <v8.h>

#include "cv8.h"

namespace cv8 {

using Clock = std::chrono::steady_clock;

/// The process-wide V8 platform; set by cv8_initialize.
v8::Platform *platform();

/// A malloc'd copy of `text`, for strings handed to the caller.
char *copy_string(const std::string &text);
/// Lower-case hex of `length` bytes.
std::string hex(const unsigned char *bytes, size_t length);

/// While one is alive on a thread, isolates created on that thread draw their random numbers
/// (identity hashes of symbols and objects, among others) from a fixed seed, so a runtime
/// snapshot built there has the same bytes in every process (see process.cpp).
class FixedSeedScope {
 public:
  FixedSeedScope();
  ~FixedSeedScope();
  FixedSeedScope(const FixedSeedScope &) = delete;
  FixedSeedScope &operator=(const FixedSeedScope &) = delete;
};

/// The native callbacks every isolate refers to, null-terminated. One array for the snapshot
/// creator and every isolate made from its blob: the order binds snapshot functions to callbacks.
extern const intptr_t external_references[];

/// The object the prelude receives as `native`, holding the callbacks above.
v8::Local<v8::Object> make_native_bindings(v8::Isolate *isolate, v8::Local<v8::Context> context);

/// Isolate data slots: the running run's RunState, and the isolate's CappedAllocator.
constexpr uint32_t kRunSlot = 1, kAllocatorSlot = 2;

struct RunState;
/// The run going on in `isolate`, or null between runs.
inline RunState *current_run(v8::Isolate *isolate) { return static_cast<RunState *>(isolate->GetData(kRunSlot)); }

inline std::string to_utf8(v8::Isolate *isolate, v8::Local<v8::Value> value) {
  v8::String::Utf8Value text(isolate, value);
  return *text ? std::string(*text, text.length()) : std::string();
}

inline void throw_error(v8::Isolate *isolate, const std::string &message) {
  isolate->ThrowException(v8::Exception::Error(v8::String::NewFromUtf8(isolate, message.c_str()).ToLocalChecked()));
}

/// The source texts compiled into the binary.
std::string prelude_source();
std::string acorn_source();

/// Why a run was stopped from outside the guest's control.
enum class StopReason : int { none = 0, timed_out, cancelled, out_of_memory };

class CappedAllocator;

/// Host calls of one run that have ended, handed from any thread to the run's event loop. Each
/// cv8_host_call shares it, so a call that ends after its run finds it closed instead of freed.
struct HostCallChannel {
  struct Completion {
    uint64_t id;
    bool ok;
    bool has_json;
    std::string json;
    bool has_bytes;
    std::vector<uint8_t> bytes;
    /// Of `claimed`: what this call's answer holds until it reaches JavaScript.
    size_t claimed;
  };
  std::mutex mutex;
  /// Wakes the event loop: a call ended, or the run was stopped.
  std::condition_variable wake;
  bool open = true;
  std::deque<Completion> completions;
  /// The run's memory for buffers: answers on their way (cv8_host_call_claim) may hold what the
  /// run's ArrayBuffers (counted by `allocator`, when there is one) leave of `buffer_cap`.
  const CappedAllocator *allocator = nullptr;
  size_t buffer_cap = 0;
  size_t claimed = 0;

  /// Claims `length` bytes if they fit (with `mutex` held).
  bool claim(size_t length);
};

/// A host call the run asked for while `max_host_calls_in_flight` were out: reported to the
/// host, in order, as earlier calls end. Its arguments stay JavaScript values until then.
struct WaitingHostCall {
  uint64_t id;
  size_t capability;
  v8::Global<v8::String> operation;
  v8::Global<v8::String> request_json;
  v8::Global<v8::Value> bytes;
};

/// The ES modules a run compiled, by handle (an index the runtime's module loader holds), and
/// how they import each other. Per run: a stateful heap keeps modules' values, not this.
struct ModuleRegistry {
  std::vector<v8::Global<v8::Module>> modules;
  std::vector<std::string> urls;
  std::unordered_map<std::string, size_t> by_url;
  std::unordered_multimap<int, size_t> by_identity_hash;
  /// (importing module, specifier) -> imported module
  std::map<std::pair<size_t, std::string>, size_t> links;
};

/// Per-run state the native callbacks reach through the isolate's data slot.
struct RunState {
  Clock::time_point started;
  const cv8_run_request *request = nullptr;
  uint64_t output_bytes = 0;
  bool output_truncated = false;
  /// Promises rejected with no handler yet, in order; checked after every microtask checkpoint.
  std::vector<v8::Global<v8::Promise>> unhandled_rejections;
  std::shared_ptr<HostCallChannel> host_calls = std::make_shared<HostCallChannel>();
  uint64_t last_host_call_id = 0;
  /// Host calls asked for and not yet delivered back to JavaScript, waiting ones included, and
  /// of those the ones reported to the host (touched on the run's thread only).
  size_t host_calls_outstanding = 0;
  size_t host_calls_reported = 0;
  std::deque<WaitingHostCall> host_calls_waiting;
  ModuleRegistry modules;
  /// The runtime's internals in the run's context, for callbacks V8 makes without them.
  v8::Global<v8::Object> internals;
  /// The main module's import.meta, once it is used: it carries the last expression's value.
  v8::Global<v8::Object> main_import_meta;
};

/// Counts off-heap ArrayBuffer memory against a cap; over it, allocation fails and JS gets a
/// RangeError instead of memory the heap limit does not see.
class CappedAllocator final : public v8::ArrayBuffer::Allocator {
 public:
  explicit CappedAllocator(size_t cap) : cap_(cap) {}
  void *Allocate(size_t length) override;
  void *AllocateUninitialized(size_t length) override;
  void Free(void *data, size_t length) override;
  void *Reallocate(void *data, size_t old_length, size_t new_length) override;
  bool fits(size_t length) const { return used_.load() + length <= cap_; }
  size_t used() const { return used_.load(); }

 private:
  bool reserve(size_t length);
  const size_t cap_;
  std::atomic<size_t> used_{0};
};

/// How a run is stopped from outside the guest's control (watchdog, cancel, heap limit); one per
/// engine or checkpointer, shared with the run while it goes on.
struct RunControl {
  v8::Isolate *isolate = nullptr;
  uint32_t heap_limit_mb = 0;
  std::mutex stop_mutex;
  bool running = false;
  std::atomic<int> stop_reason{0};
  /// Whether this run already got its one extension of the heap limit.
  bool heap_limit_extended = false;
  /// The running run's host calls, whose event loop waits on it (set and cleared under stop_mutex).
  std::shared_ptr<HostCallChannel> host_calls;

  void stop(StopReason reason);
  StopReason stopped() const { return static_cast<StopReason>(stop_reason.load()); }
  static size_t near_heap_limit(void *data, size_t current_heap_limit, size_t initial_heap_limit);
};

/// Reports the run's next waiting host calls to the host while fewer than the request's
/// `max_host_calls_in_flight` are out (on the run's thread).
void report_waiting_host_calls(v8::Isolate *isolate, RunState *run);

/// The failure JSON of an answer of `length` bytes that does not fit in the run's memory for buffers.
std::string buffer_limit_failure(size_t length);

/// Module natives the runtime's loader calls (modules.cpp; see prelude/80-modules.js).
void native_compile_module(const v8::FunctionCallbackInfo<v8::Value> &info);
void native_module_requests(const v8::FunctionCallbackInfo<v8::Value> &info);
void native_link_module(const v8::FunctionCallbackInfo<v8::Value> &info);
void native_instantiate_module(const v8::FunctionCallbackInfo<v8::Value> &info);
void native_evaluate_module(const v8::FunctionCallbackInfo<v8::Value> &info);
void native_module_namespace(const v8::FunctionCallbackInfo<v8::Value> &info);

/// Resolves an import to the module the loader linked it to; throws when it was not loaded.
v8::MaybeLocal<v8::Module> resolve_imported_module(v8::Local<v8::Context> context, v8::Local<v8::String> specifier,
                                                   v8::Local<v8::FixedArray> import_assertions,
                                                   v8::Local<v8::Module> referrer);
/// Registers the main program's module (it has no URL) so its imports can be linked; its handle.
size_t register_main_module(v8::Isolate *isolate, RunState *run, v8::Local<v8::Module> module);
/// Dynamic import() and import.meta, for every run of the isolate.
void install_module_callbacks(v8::Isolate *isolate);

/// Sets the callbacks every run relies on (heap limit, promise rejections, imports, fatal errors) on a new isolate. `allocator` may be null where V8 owns the allocator.
void install_run_callbacks(v8::Isolate *isolate, RunControl *control, CappedAllocator *allocator);

/// Runs a request in `context` (entered isolate, open HandleScope): stack limit, watchdog,
/// event loop, result. `queue` is the context's own microtask queue, or null for the isolate's.
/// `snapshotting`: the context is snapshotted after the run, so it must not import modules.
cv8_run_result run_in_context(RunControl &control, v8::Local<v8::Context> context, v8::Local<v8::Object> internals,
                              v8::MicrotaskQueue *queue, const cv8_run_request *request, bool snapshotting);

/// Runs each capability prelude as `function (host) { ... }` with the host object `internals`
/// makes for it, unless the context already holds exactly these (their fingerprint is recorded
/// in `internals.installedCapabilities`, so it travels in snapshots and heaps). False, with a
/// message in `error`, when one fails.
bool install_capability_preludes(v8::Local<v8::Context> context, v8::Local<v8::Object> internals,
                                 const cv8_capability *capabilities, size_t count, std::string *error);

/// One thread for the whole process that stops runs whose wall-clock deadline has passed.
namespace watchdog {
/// Returns a token for disarm. The target is stopped with StopReason::timed_out at `deadline`
/// unless disarmed first; after disarm returns, the watchdog no longer touches the target.
uint64_t arm(RunControl *target, Clock::time_point deadline);
void disarm(uint64_t token);
}  // namespace watchdog

/// Turns ES-module source into the same module with each expression statement a script's
/// completion value can come from (outside functions: at the top level, in blocks, branches,
/// try/catch, loops and switch cases) assigned to `import.meta[property]`, so the host reads the
/// value a script would have given. Empty when there is none (or the source does not parse;
/// V8 then reports the syntax error itself).
std::string capture_completion_value(const std::string &source, const std::string &property);
/// Whether ES-module source awaits outside any function (false when it does not parse).
bool has_top_level_await(const std::string &source);

}  // namespace cv8

struct cv8_wasm_module {
  std::string name;
  std::unique_ptr<v8::CompiledWasmModule> compiled;
};

struct cv8_host_call {
  std::shared_ptr<cv8::HostCallChannel> channel;
  uint64_t id;
  /// Bytes of the channel's `claimed` this call holds (under the channel's mutex).
  size_t claimed = 0;
};

struct cv8_runtime {
  v8::StartupData blob;  // stateless runs
  std::string blob_bytes;  // owns blob.data; must outlive every isolate made from it
  /// The snapshot new stateful heaps start from (lean: URL and WASI wait for their first use,
  /// and Intl is hidden before the capability preludes run), built on first use since a
  /// stateless server never needs it. False, with `error` set, when it cannot be built.
  bool stateful_blob(v8::StartupData *blob, std::string *error) const;
  mutable std::once_flag stateful_once;
  mutable std::string stateful_blob_bytes, stateful_error;
  /// The capability preludes both snapshots run, in order.
  std::vector<std::string> capability_preludes;
};

#endif
