// An engine: one isolate made from the runtime snapshot, with a fresh context kept ready for
// each run; the callbacks every run's isolate relies on; and the C entry points of engines. The
// run itself, from compile to result, is run_loop.cpp.
#include <memory>

#include "internal.h"

using namespace v8;

namespace {

/// Snapshot data slot of the prelude's internals (see runtime.cpp).
constexpr size_t kInternalsIndex = 0;

cv8_fatal_error_handler fatal_handler = nullptr;

void on_fatal_error(const char *location, const char *message) {
  std::string text = std::string("V8 fatal error in ") + (location ? location : "?") + ": " + (message ? message : "");
  if (fatal_handler) fatal_handler(text.c_str(), 0);
}

void on_oom(const char *location, bool is_heap_oom) {
  std::string text = std::string("V8 ran out of memory in ") + (location ? location : "?");
  if (fatal_handler) fatal_handler(text.c_str(), cv8_process_memory_limit_reached() ? 2 : 1);
}

}  // namespace

namespace cv8 {

void RunControl::stop(StopReason reason) {
  std::lock_guard<std::mutex> lock(stop_mutex);
  if (!running) return;
  int expected = 0;
  if (stop_reason.compare_exchange_strong(expected, static_cast<int>(reason))) isolate->TerminateExecution();
  if (host_calls) {
    std::lock_guard<std::mutex> channel_lock(host_calls->mutex);
    host_calls->wake.notify_all();
  }
}

size_t RunControl::near_heap_limit(void *data, size_t current_heap_limit, size_t initial_heap_limit) {
  auto *control = static_cast<RunControl *>(data);
  control->stop(StopReason::out_of_memory);
  // Once per run, room for the termination to unwind (the limit returns to normal once the
  // heap shrinks). A builtin that cannot be interrupted and keeps allocating then meets V8's
  // fatal out-of-memory handler: only the worker process boundary contains that.
  if (control->heap_limit_extended) return current_heap_limit;
  control->heap_limit_extended = true;
  return current_heap_limit + initial_heap_limit;
}

}  // namespace cv8

namespace {

void on_promise_reject(PromiseRejectMessage message) {
  Isolate *isolate = message.GetPromise()->GetIsolate();
  cv8::RunState *run = cv8::current_run(isolate);
  if (!run) return;
  Local<Promise> promise = message.GetPromise();
  auto &list = run->unhandled_rejections;
  if (message.GetEvent() == kPromiseRejectWithNoHandler) {
    list.emplace_back(isolate, promise);
  } else if (message.GetEvent() == kPromiseHandlerAddedAfterReject) {
    for (auto it = list.begin(); it != list.end(); ++it)
      if (it->Get(isolate) == promise) {
        list.erase(it);
        break;
      }
  }
}

}  // namespace

namespace cv8 {

void install_run_callbacks(Isolate *isolate, RunControl *control, CappedAllocator *allocator) {
  control->isolate = isolate;
  isolate->SetData(cv8::kRunSlot, nullptr);
  isolate->SetData(cv8::kAllocatorSlot, allocator);
  isolate->AddNearHeapLimitCallback(RunControl::near_heap_limit, control);
  isolate->AutomaticallyRestoreInitialHeapLimit();
  isolate->SetMicrotasksPolicy(MicrotasksPolicy::kExplicit);
  isolate->SetPromiseRejectCallback(on_promise_reject);
  cv8::install_module_callbacks(isolate);
  isolate->SetFatalErrorHandler(on_fatal_error);
  isolate->SetOOMErrorHandler(on_oom);
}

}  // namespace cv8

struct cv8_engine {
  const cv8_runtime *runtime;
  std::unique_ptr<cv8::CappedAllocator> allocator;
  Isolate *isolate = nullptr;
  cv8::RunControl control;

  // The context (and its microtask queue) the next run will use.
  Global<Context> next_context;
  Global<Object> next_internals;
  std::unique_ptr<MicrotaskQueue> next_queue;

  ~cv8_engine() { dispose_isolate(); }

  bool create_isolate(std::string *error) {
    size_t limit = static_cast<size_t>(control.heap_limit_mb) * 1024 * 1024;
    allocator = std::make_unique<cv8::CappedAllocator>(limit);
    Isolate::CreateParams params;
    params.snapshot_blob = const_cast<StartupData *>(&runtime->blob);
    params.external_references = cv8::external_references;
    params.array_buffer_allocator = allocator.get();
    params.constraints.ConfigureDefaultsFromHeapSize(0, limit);
    isolate = Isolate::New(params);
    if (!isolate) {
      *error = "could not create a V8 isolate";
      return false;
    }
    Locker locker(isolate);
    cv8::install_run_callbacks(isolate, &control, allocator.get());
    return true;
  }

  void dispose_isolate() {
    if (!isolate) return;
    {
      Locker locker(isolate);
      next_context.Reset();
      next_internals.Reset();
    }
    next_queue.reset();
    isolate->Dispose();
    isolate = nullptr;
  }

  void prepare() {
    if (!next_context.IsEmpty()) return;
    Locker locker(isolate);
    Isolate::Scope isolate_scope(isolate);
    HandleScope handle_scope(isolate);
    next_queue = MicrotaskQueue::New(isolate, MicrotasksPolicy::kExplicit);
    Local<Context> context = Context::New(isolate, nullptr, {}, {}, {}, next_queue.get());
    Local<Object> internals = context->GetDataFromSnapshotOnce<Object>(kInternalsIndex).ToLocalChecked();
    next_context.Reset(isolate, context);
    next_internals.Reset(isolate, internals);
  }

  cv8_run_result run(const cv8_run_request *request);
};

cv8_run_result cv8_engine::run(const cv8_run_request *request) {
  prepare();
  cv8_run_result result{};
  {
    Locker locker(isolate);
    Isolate::Scope isolate_scope(isolate);
    HandleScope handle_scope(isolate);
    Local<Context> context = next_context.Get(isolate);
    Local<Object> internals = next_internals.Get(isolate);
    std::unique_ptr<MicrotaskQueue> queue = std::move(next_queue);
    next_context.Reset();
    next_internals.Reset();
    result = cv8::run_in_context(control, context, internals, queue.get(), request, false);
    context->DetachGlobal();
    isolate->ContextDisposedNotification();
    queue.reset();
  }
  if (result.status == CV8_STATUS_OUT_OF_MEMORY) {
    // The heap may be near its limit still: start over with a clean isolate.
    std::string error;
    dispose_isolate();
    if (!create_isolate(&error)) abort();
  }
  return result;
}

extern "C" {

void cv8_set_fatal_error_handler(cv8_fatal_error_handler handler) { fatal_handler = handler; }

cv8_engine *cv8_engine_create(const cv8_runtime *runtime, uint32_t heap_limit_mb, char **error_out) {
  auto *engine = new cv8_engine();
  engine->runtime = runtime;
  engine->control.heap_limit_mb = heap_limit_mb;
  std::string error;
  if (!engine->create_isolate(&error)) {
    if (error_out) *error_out = cv8::copy_string(error);
    delete engine;
    return nullptr;
  }
  return engine;
}

void cv8_engine_free(cv8_engine *engine) { delete engine; }

void cv8_engine_prepare(cv8_engine *engine) { engine->prepare(); }

void cv8_engine_cancel(cv8_engine *engine) { engine->control.stop(cv8::StopReason::cancelled); }

cv8_run_result cv8_engine_run(cv8_engine *engine, const cv8_run_request *request) { return engine->run(request); }

void cv8_run_result_free(cv8_run_result *result) {
  free(result->result_json);
  free(result->error);
  result->result_json = nullptr;
  result->error = nullptr;
}

}  // extern "C"
