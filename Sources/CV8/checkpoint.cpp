// Stateful runs: start from a heap snapshot (or the runtime), run, and snapshot the end state.
// Each run gets a SnapshotCreator of its own: CreateBlob ends the isolate it snapshots.
#include "internal.h"

using namespace v8;

struct cv8_checkpointer {
  const cv8_runtime *runtime;
  cv8::RunControl control;
};

namespace {

/// SnapshotCreator takes no heap constraints: the flag, set just around its construction (a
/// worker builds one isolate at a time), is how its heap gets the limit.
std::unique_ptr<SnapshotCreator> make_creator(StartupData *base, uint32_t heap_limit_mb) {
  std::string limit = "--max-old-space-size=" + std::to_string(heap_limit_mb);
  V8::SetFlagsFromString(limit.c_str());
  auto creator = std::make_unique<SnapshotCreator>(cv8::external_references, base);
  V8::SetFlagsFromString("--max-old-space-size=0");
  return creator;
}

/// A snapshotting isolate has no WebAssembly at all (V8 could not serialize its objects): a guest
/// that reaches for it learns why, not only that it is missing.
void explain_missing_webassembly(cv8_run_result &run) {
  if (run.status == CV8_STATUS_COMPLETED || run.error == nullptr) return;
  std::string error = run.error;
  if (error.find("WebAssembly is not defined") == std::string::npos) return;
  free(run.error);
  run.error = cv8::copy_string(error + "\n(stateful runs have no WebAssembly: V8 cannot keep its objects in a heap "
                                       "snapshot; run WebAssembly on a --stateless server)");
}

cv8_checkpoint_result internal_failure(const std::string &message) {
  cv8_checkpoint_result result{};
  result.run.status = CV8_STATUS_INTERNAL;
  result.run.error = cv8::copy_string(message);
  return result;
}

}  // namespace

extern "C" {

cv8_checkpointer *cv8_checkpointer_create(const cv8_runtime *runtime, uint32_t heap_limit_mb) {
  auto *checkpointer = new cv8_checkpointer();
  checkpointer->runtime = runtime;
  checkpointer->control.heap_limit_mb = heap_limit_mb;
  return checkpointer;
}

void cv8_checkpointer_free(cv8_checkpointer *checkpointer) { delete checkpointer; }

void cv8_checkpointer_cancel(cv8_checkpointer *checkpointer) {
  checkpointer->control.stop(cv8::StopReason::cancelled);
}

cv8_checkpoint_result cv8_checkpointer_run(cv8_checkpointer *checkpointer, const uint8_t *snapshot,
                                           size_t snapshot_length, const cv8_run_request *request) {
  StartupData base;
  if (snapshot) {
    if (snapshot_length > static_cast<size_t>(INT32_MAX)) return internal_failure("the heap snapshot is too large");
    base = StartupData{reinterpret_cast<const char *>(snapshot), static_cast<int>(snapshot_length)};
  } else if (std::string error; !checkpointer->runtime->stateful_blob(&base, &error)) {
    return internal_failure(error);
  }
  std::unique_ptr<SnapshotCreator> creator = make_creator(&base, checkpointer->control.heap_limit_mb);
  Isolate *isolate = creator->GetIsolate();
  cv8::RunControl &control = checkpointer->control;
  // V8 gives a snapshotting isolate an ArrayBuffer allocator of its own: no buffer cap here.
  cv8::install_run_callbacks(isolate, &control, nullptr);

  cv8_checkpoint_result result{};
  {
    HandleScope handle_scope(isolate);
    Local<Context> context = Context::New(isolate);
    Local<Object> internals;
    if (!context->GetDataFromSnapshotOnce<Object>(0).ToLocal(&internals))
      return internal_failure("the heap snapshot lacks the runtime's internals");
    result.run = cv8::run_in_context(control, context, internals, nullptr, request, true);
    explain_missing_webassembly(result.run);
    if (result.run.status != CV8_STATUS_COMPLETED) return result;  // nothing is stored
    creator->AddData(context, internals);
    creator->SetDefaultContext(context);
  }
  StartupData blob = creator->CreateBlob(SnapshotCreator::FunctionCodeHandling::kKeep);
  result.snapshot = static_cast<uint8_t *>(malloc(blob.raw_size ? blob.raw_size : 1));
  memcpy(result.snapshot, blob.data, blob.raw_size);
  result.snapshot_length = blob.raw_size;
  delete[] blob.data;
  return result;
}

void cv8_checkpoint_result_free(cv8_checkpoint_result *result) {
  cv8_run_result_free(&result->run);
  free(result->snapshot);
  result->snapshot = nullptr;
  result->snapshot_length = 0;
}

}  // extern "C"
