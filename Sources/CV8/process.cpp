// Process-wide pieces: V8 initialization, the capped allocator, the shared watchdog thread.
#include <condition_variable>
#include <map>
#include <memory>
#include <thread>

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

namespace cv8 {

namespace {
// Never destroyed: V8's platform threads and the watchdog thread run until the process exits,
// and static destructors must not pull their state away from under them.
v8::Platform *the_platform = nullptr;
std::once_flag initialize_once;
std::string initialize_error;

/// V8 flags for every isolate of the process.
/// - WebAssembly memories are off-heap and not counted by the heap limit: cap them at 64 MiB.
/// - Keep a terminated isolate's stack traces short and cheap.
/// - No adler32 over every snapshot V8 loads: stored heaps are checked against their SHA-256
///   envelope before V8 sees them, and the runtime snapshot never leaves the process memory.
///   (perf showed the checksum at ~4% of a stateful worker's time.)
/// - One string hash seed for every process. V8 rehashes a snapshot's tables with the loading
///   isolate's seed only when every table in it can be rehashed; a heap holding a module (a
///   program with top-level await) cannot, so with a random seed per process the next worker or
///   server looked up the runtime's own properties under other hashes and found none. A fixed
///   seed lets a guest build hash collisions on purpose, which slows only its own isolate, within
///   its time limit.
/// - GC on the isolate's own thread. Each worker already keeps a core busy, so helper threads
///   only compete with the other workers and add hand-offs: under stateful load (two full GCs
///   per checkpoint) the server did 5-10% more runs per second without them.
constexpr const char *kFlags = "--wasm-max-mem-pages=1024 --stack-trace-limit=10 --no-verify-snapshot-checksum --hash-seed=1 --single-threaded-gc";
}  // namespace

v8::Platform *platform() { return the_platform; }

// ---- fixed seed for runtime snapshots ------------------------------------------------------
// A runtime snapshot holds the identity hashes V8 gave the prelude's symbols and objects, drawn
// from the building isolate's random number generator. Random, every runtime (each capability
// set's, each worker's, each server's) had different bytes, and so did every heap made from
// it: the same code never made the same heap twice. Only the building isolates get the fixed
// seed; every other isolate (the ones runs use, whose Math.random and new hashes must stay
// unpredictable) gets V8's own entropy.
namespace {
thread_local int fixed_seed_scopes = 0;

bool entropy_source(unsigned char *buffer, size_t length) {
  if (fixed_seed_scopes == 0) return false;  // V8 reads the system's entropy itself
  for (size_t index = 0; index < length; index++) buffer[index] = static_cast<unsigned char>(0x5d + index);
  return true;
}
}  // namespace

FixedSeedScope::FixedSeedScope() { fixed_seed_scopes++; }
FixedSeedScope::~FixedSeedScope() { fixed_seed_scopes--; }

std::string prelude_source() {
  // One function expression, split into files by concern; a file may end inside a statement.
  static const char bytes[] = {
#embed "prelude/00-primordials.js"
      ,
#embed "prelude/10-inspect.js"
      ,
#embed "prelude/20-console.js"
      ,
#embed "prelude/30-timers.js"
      ,
#embed "prelude/40-encoding.js"
      ,
#embed "prelude/45-performance.js"
      ,
#embed "prelude/50-url.js"
      ,
#embed "prelude/60-wasi.js"
      ,
#embed "prelude/70-internals.js"
      ,
#embed "prelude/80-modules.js"
      ,
#embed "prelude/90-internals-object.js"
  };
  return std::string(bytes, sizeof bytes);
}

std::string acorn_source() {
  static const char bytes[] = {
#embed "acorn.js"
  };
  return std::string(bytes, sizeof bytes);
}

// ---- CappedAllocator ----------------------------------------------------------------------

bool CappedAllocator::reserve(size_t length) {
  size_t used = used_.load();
  do {
    if (length > cap_ || used > cap_ - length) return false;
  } while (!used_.compare_exchange_weak(used, used + length));
  return true;
}

void *CappedAllocator::Allocate(size_t length) {
  if (!reserve(length)) return nullptr;
  void *data = calloc(length ? length : 1, 1);
  if (!data) used_ -= length;
  return data;
}

void *CappedAllocator::AllocateUninitialized(size_t length) {
  if (!reserve(length)) return nullptr;
  void *data = malloc(length ? length : 1);
  if (!data) used_ -= length;
  return data;
}

void CappedAllocator::Free(void *data, size_t length) {
  free(data);
  used_ -= length;
}

void *CappedAllocator::Reallocate(void *data, size_t old_length, size_t new_length) {
  if (new_length > old_length && !reserve(new_length - old_length)) return nullptr;
  void *moved = realloc(data, new_length ? new_length : 1);
  if (!moved) {
    if (new_length > old_length) used_ -= new_length - old_length;
    return nullptr;
  }
  if (new_length < old_length) used_ -= old_length - new_length;
  if (new_length > old_length) memset(static_cast<char *>(moved) + old_length, 0, new_length - old_length);
  return moved;
}

// ---- watchdog -----------------------------------------------------------------------------

namespace watchdog {
namespace {
struct Entry {
  RunControl *target;
  Clock::time_point deadline;
};

/// Shared with the watchdog thread, which never ends: allocated once and never destroyed.
struct State {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<uint64_t, Entry> entries;
  uint64_t next_token = 1;
  bool thread_started = false;
};
State &state = *new State();
std::mutex &mutex = state.mutex;
std::condition_variable &changed = state.changed;
std::map<uint64_t, Entry> &entries = state.entries;

void loop() {
  std::unique_lock<std::mutex> lock(mutex);
  for (;;) {
    auto now = Clock::now();
    auto earliest = Clock::time_point::max();
    for (auto it = entries.begin(); it != entries.end();) {
      if (it->second.deadline <= now) {
        // Stopped under the lock, so disarm() cannot return while the target is being stopped.
        it->second.target->stop(StopReason::timed_out);
        it = entries.erase(it);
      } else {
        earliest = std::min(earliest, it->second.deadline);
        ++it;
      }
    }
    if (earliest == Clock::time_point::max()) {
      changed.wait(lock);
    } else {
      changed.wait_until(lock, earliest);
    }
  }
}
}  // namespace

uint64_t arm(RunControl *target, Clock::time_point deadline) {
  std::lock_guard<std::mutex> lock(mutex);
  if (!state.thread_started) {
    std::thread(loop).detach();
    state.thread_started = true;
  }
  uint64_t token = state.next_token++;
  entries[token] = Entry{target, deadline};
  changed.notify_one();
  return token;
}

void disarm(uint64_t token) {
  std::lock_guard<std::mutex> lock(mutex);
  entries.erase(token);
}
}  // namespace watchdog

}  // namespace cv8

extern "C" {

int cv8_initialize(char **error_out) {
  std::call_once(cv8::initialize_once, [] {
    // Every stateful run serializes a whole isolate into buffers of a megabyte or so (V8's
    // snapshot sinks, the blob, its sealed copy). Above glibc's default thresholds each of them
    // was fresh mmapped memory, page-faulted in and unmapped again on every run: a quarter of a
    // worker's time went to the kernel. Kept in the heap, they are reused.
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
    v8::V8::InitializeICUDefaultLocation("");
    v8::V8::SetFlagsFromString(cv8::kFlags);
    v8::V8::SetEntropySource(cv8::entropy_source);
    cv8::the_platform = v8::platform::NewDefaultPlatform(2).release();
    v8::V8::InitializePlatform(cv8::the_platform);
    if (!v8::V8::Initialize()) cv8::initialize_error = "V8::Initialize failed";
  });
  if (!cv8::initialize_error.empty()) {
    if (error_out) *error_out = cv8::copy_string(cv8::initialize_error);
    return 1;
  }
  return 0;
}

int cv8_limit_process_memory(uint64_t bytes) {
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
  // AddressSanitizer's shadow is terabytes of data mappings, which RLIMIT_DATA counts: the limit
  // would refuse every later allocation, so `make sanitize` builds run without it.
  (void)bytes;
  return 0;
#endif
#endif
  struct rlimit limit = {bytes, bytes};
  return setrlimit(RLIMIT_DATA, &limit) == 0 ? 0 : errno;
}

int cv8_process_memory_limit_reached(void) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_DATA, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 0;
  // Read without allocating: this runs when an allocation has just failed.
  char status[4096];
  int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t length = read(fd, status, sizeof status - 1);
  close(fd);
  if (length <= 0) return 0;
  status[length] = '\0';
  const char *line = strstr(status, "\nVmData:");
  if (!line) return 0;
  uint64_t used = strtoull(line + strlen("\nVmData:"), nullptr, 10) * 1024;
  // The allocation that failed was refused for what it would have added: it may have been large.
  return used + limit.rlim_cur / 8 >= limit.rlim_cur;
}


}  // extern "C"
