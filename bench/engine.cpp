// Engine micro-benchmark through the cv8 C API alone (no Swift, no worker process):
//   fresh:  cv8_engine_create + run "1+1" + cv8_engine_free, i.e. a new isolate from the runtime snapshot
//   warm:   run "1+1" in an existing engine (a fresh context per run, as every stateless call gets)
//   floor:  a bare v8::Isolate::New + Dispose with V8's own snapshot, no context: the least any
//           fresh isolate costs on this machine (the one place V8 is used here directly)
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
         "\"prepared_context_run_ms\": %.4f, \"iterations\": %d}\n",
         runtime_ms, cv8_runtime_snapshot_size(runtime), median(fresh), median(create), median(prepare), median(floor),
         median(warm), iterations);
  cv8_engine_free(engine);
  cv8_runtime_free(runtime);
  return 0;
}
