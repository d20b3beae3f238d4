// Engine micro-benchmark through the cv8 C API alone (no Swift, no worker process):
//   fresh:  cv8_engine_create + run "1+1" + cv8_engine_free, i.e. a new isolate from the runtime snapshot
//   warm:   run "1+1" in an existing engine (a fresh context per run, as every stateless call gets)
//   checkpoint: a stateful run from the runtime / from a small heap / from a 1 MB heap, each
//           including restoring the heap and snapshotting the end state; and sealing/opening
//           that 1 MB heap's envelope (LZ4 + SHA-256)
//   floor:  a bare v8::Isolate::New + Dispose with V8's own snapshot, no context: the least any
//           fresh isolate costs on this machine; and a bare v8::SnapshotCreator from V8's own
//           snapshot, an empty context, `var x = 1` and CreateBlob: the least any stateful run
//           costs in this V8, whatever the embedder does (the two places V8 is used here directly)
// Prints one JSON object of medians in milliseconds.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include <memory>

#include <v8.h>

#include "cv8.h"

namespace {
double median(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

cv8_run_request one_plus_one() {
  static const char code[] = "1+1";
  cv8_run_request request{};
  request.code = code;
  request.code_length = strlen(code);
  request.timeout_ms = 5000;
  request.output_limit_bytes = 1 << 20;
  return request;
}

bool run_checked(cv8_engine *engine) {
  cv8_run_request request = one_plus_one();
  cv8_run_result result = cv8_engine_run(engine, &request);
  bool ok = result.status == CV8_STATUS_COMPLETED && result.result_json && strcmp(result.result_json, "2") == 0;
  cv8_run_result_free(&result);
  return ok;
}
}  // namespace

int main(int argc, char **argv) {
  int iterations = argc > 1 ? atoi(argv[1]) : 200;
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };

  auto started = Clock::now();
  cv8_runtime *runtime = cv8_runtime_create(nullptr);
  double runtime_ms = ms(Clock::now() - started);
  if (!runtime) return 1;

  std::vector<double> fresh, warm, create, prepare;
  for (int i = 0; i < iterations; i++) {
    auto t0 = Clock::now();
    cv8_engine *engine = cv8_engine_create(runtime, 8, nullptr);
    auto t1 = Clock::now();
    cv8_engine_prepare(engine);
    auto t2 = Clock::now();
    bool ok = run_checked(engine);
    fresh.push_back(ms(Clock::now() - t0));
    create.push_back(ms(t1 - t0));
    prepare.push_back(ms(t2 - t1));
    cv8_engine_free(engine);
    if (!ok) return 2;
  }
  std::vector<double> floor;
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator(v8::ArrayBuffer::Allocator::NewDefaultAllocator());
  for (int i = 0; i < iterations; i++) {
    auto t0 = Clock::now();
    v8::Isolate::CreateParams params;
    params.array_buffer_allocator = allocator.get();
    params.constraints.ConfigureDefaultsFromHeapSize(0, 8u << 20);
    v8::Isolate *isolate = v8::Isolate::New(params);
    floor.push_back(ms(Clock::now() - t0));
    isolate->Dispose();
  }

  std::vector<double> checkpoint_floor;
  for (int i = 0; i < iterations / 5 + 1; i++) {
    auto t0 = Clock::now();
    v8::SnapshotCreator creator;
    v8::Isolate *isolate = creator.GetIsolate();
    {
      v8::HandleScope handle_scope(isolate);
      v8::Local<v8::Context> context = v8::Context::New(isolate);
      v8::Context::Scope context_scope(context);
      v8::Local<v8::String> source = v8::String::NewFromUtf8Literal(isolate, "var x = 1");
      if (v8::Script::Compile(context, source).ToLocalChecked()->Run(context).IsEmpty()) return 5;
      creator.SetDefaultContext(context);
    }
    v8::StartupData blob = creator.CreateBlob(v8::SnapshotCreator::FunctionCodeHandling::kKeep);
    delete[] blob.data;
    checkpoint_floor.push_back(ms(Clock::now() - t0));
  }

  // Stateful runs.
  auto checkpoint = [&](cv8_checkpointer *checkpointer, const std::vector<uint8_t> *heap, const char *code,
                        std::vector<uint8_t> *out) {
    cv8_run_request request = one_plus_one();
    request.code = code;
    request.code_length = strlen(code);
    cv8_checkpoint_result result = cv8_checkpointer_run(checkpointer, heap ? heap->data() : nullptr,
                                                        heap ? heap->size() : 0, &request);
    bool ok = result.run.status == CV8_STATUS_COMPLETED && result.snapshot;
    if (ok && out) out->assign(result.snapshot, result.snapshot + result.snapshot_length);
    cv8_checkpoint_result_free(&result);
    return ok;
  };
  cv8_checkpointer *checkpointer = cv8_checkpointer_create(runtime, 64);
  std::vector<uint8_t> small_heap, big_heap;
  if (!checkpoint(checkpointer, nullptr, "var x = 1", &small_heap) ||
      !checkpoint(checkpointer, nullptr,
                  "var data = Array.from({length: 10000}, (_, i) => ({id: i, name: 'item ' + i, tags: ['a', 'b']}))",
                  &big_heap))
    return 3;
  int stateful_iterations = iterations / 5 > 10 ? iterations / 5 : 10;
  std::vector<double> from_runtime, from_small, from_big, seal, open;
  for (int i = 0; i < stateful_iterations; i++) {
    auto t0 = Clock::now();
    if (!checkpoint(checkpointer, nullptr, "var x = 1", nullptr)) return 3;
    auto t1 = Clock::now();
    if (!checkpoint(checkpointer, &small_heap, "x += 1", nullptr)) return 3;
    auto t2 = Clock::now();
    if (!checkpoint(checkpointer, &big_heap, "data.length", nullptr)) return 3;
    auto t3 = Clock::now();
    cv8_sealed_heap sealed;
    if (cv8_heap_seal(big_heap.data(), big_heap.size(), &sealed, nullptr) != 0) return 4;
    auto t4 = Clock::now();
    uint8_t *payload;
    size_t payload_length;
    char id[65];
    if (cv8_heap_open(sealed.bytes, sealed.length, &payload, &payload_length, id, nullptr) != 0) return 4;
    auto t5 = Clock::now();
    from_runtime.push_back(ms(t1 - t0));
    from_small.push_back(ms(t2 - t1));
    from_big.push_back(ms(t3 - t2));
    seal.push_back(ms(t4 - t3));
    open.push_back(ms(t5 - t4));
    cv8_free(sealed.bytes);
    cv8_free(payload);
  }
  cv8_checkpointer_free(checkpointer);

  cv8_engine *engine = cv8_engine_create(runtime, 8, nullptr);
  for (int i = 0; i < iterations; i++) {
    cv8_engine_prepare(engine);  // as a worker does between runs, off the caller's path
    auto t0 = Clock::now();
    bool ok = run_checked(engine);
    warm.push_back(ms(Clock::now() - t0));
    if (!ok) return 2;
  }
  printf("{\"runtime_snapshot_ms\": %.3f, \"snapshot_bytes\": %zu, \"fresh_isolate_run_ms\": %.4f, "
         "\"isolate_create_ms\": %.4f, \"context_create_ms\": %.4f, \"bare_isolate_floor_ms\": %.4f, "
         "\"prepared_context_run_ms\": %.4f, \"iterations\": %d, "
         "\"checkpoint_from_runtime_ms\": %.3f, \"checkpoint_from_small_heap_ms\": %.3f, "
         "\"checkpoint_from_big_heap_ms\": %.3f, \"small_heap_bytes\": %zu, \"big_heap_bytes\": %zu, "
         "\"seal_big_heap_ms\": %.3f, \"open_big_heap_ms\": %.3f, \"bare_checkpoint_floor_ms\": %.3f}\n",
         runtime_ms, cv8_runtime_snapshot_size(runtime), median(fresh), median(create), median(prepare), median(floor),
         median(warm), iterations, median(from_runtime), median(from_small), median(from_big), small_heap.size(),
         big_heap.size(), median(seal), median(open), median(checkpoint_floor));
  cv8_engine_free(engine);
  cv8_runtime_free(runtime);
  return 0;
}
