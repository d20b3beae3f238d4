// The runtime startup snapshots (stateless runs, new stateful heaps), which already hold the
// prelude, and the native callbacks the prelude calls.
#include <algorithm>

#include "internal.h"

using namespace v8;

namespace cv8 {

namespace {

CappedAllocator *allocator_of(Isolate *isolate) { return static_cast<CappedAllocator *>(isolate->GetData(kAllocatorSlot)); }

void throw_range_error(Isolate *isolate, const char *message) {
  isolate->ThrowException(Exception::RangeError(String::NewFromUtf8(isolate, message).ToLocalChecked()));
}

/// Console text, split into lines, counted against the run's output budget.
void native_print(const FunctionCallbackInfo<Value> &info) {
  Isolate *isolate = info.GetIsolate();
  RunState *run = current_run(isolate);
  if (!run || info.Length() < 2 || !info[1]->IsString()) return;
  int level = info[0]->Int32Value(isolate->GetCurrentContext()).FromMaybe(0);
  if (level < CV8_CONSOLE_LOG || level > CV8_CONSOLE_DEBUG) level = CV8_CONSOLE_LOG;
  String::Utf8Value text(isolate, info[1]);
  const char *start = *text;
  if (!start) return;
  const char *end = start + text.length();
  const cv8_run_request *request = run->request;
  for (const char *line = start;;) {
    const char *newline = static_cast<const char *>(memchr(line, '\n', end - line));
    const char *line_end = newline ? newline : end;
    size_t length = line_end - line;
    run->output_bytes += length + 1;
    if (run->output_bytes <= request->output_limit_bytes) {
      if (request->on_output)
        request->on_output(request->output_context, static_cast<cv8_console_level>(level), line, length);
    } else {
      run->output_truncated = true;
    }
    if (!newline) break;
    line = newline + 1;
  }
}

void native_now(const FunctionCallbackInfo<Value> &info) {
  RunState *run = current_run(info.GetIsolate());
  double ms = run ? std::chrono::duration<double, std::milli>(Clock::now() - run->started).count() : 0;
  info.GetReturnValue().Set(ms);
}

class CloneDelegate final : public ValueSerializer::Delegate {
 public:
  explicit CloneDelegate(Isolate *isolate) : isolate_(isolate) {}
  void ThrowDataCloneError(Local<String> message) override {
    Local<Context> context = isolate_->GetCurrentContext();
    Local<Value> error = Exception::Error(message);
    error.As<Object>()
        ->Set(context, String::NewFromUtf8Literal(isolate_, "name"),
              String::NewFromUtf8Literal(isolate_, "DataCloneError"))
        .Check();
    isolate_->ThrowException(error);
  }

 private:
  Isolate *isolate_;
};

/// structuredClone: V8's own serializer, so the copy never shares anything with the original.
void native_structured_clone(const FunctionCallbackInfo<Value> &info) {
  Isolate *isolate = info.GetIsolate();
  Local<Context> context = isolate->GetCurrentContext();
  CloneDelegate delegate(isolate);
  ValueSerializer serializer(isolate, &delegate);
  serializer.WriteHeader();
  if (!serializer.WriteValue(context, info[0]).FromMaybe(false)) return;
  std::pair<uint8_t *, size_t> buffer = serializer.Release();
  ValueDeserializer deserializer(isolate, buffer.first, buffer.second);
  Local<Value> copy;
  if (deserializer.ReadHeader(context).FromMaybe(false) && deserializer.ReadValue(context).ToLocal(&copy))
    info.GetReturnValue().Set(copy);
  free(buffer.first);
}

void native_is_proxy(const FunctionCallbackInfo<Value> &info) { info.GetReturnValue().Set(info[0]->IsProxy()); }

void native_proxy_target(const FunctionCallbackInfo<Value> &info) {
  if (info[0]->IsProxy()) info.GetReturnValue().Set(info[0].As<Proxy>()->GetTarget());
}

void native_promise_state(const FunctionCallbackInfo<Value> &info) {
  Isolate *isolate = info.GetIsolate();
  if (!info[0]->IsPromise()) return;
  Local<Promise> promise = info[0].As<Promise>();
  Local<Value> parts[2] = {Integer::New(isolate, 0), Undefined(isolate)};
  switch (promise->State()) {
    case Promise::kPending: break;
    case Promise::kFulfilled: parts[0] = Integer::New(isolate, 1); parts[1] = promise->Result(); break;
    case Promise::kRejected: parts[0] = Integer::New(isolate, 2); parts[1] = promise->Result(); break;
  }
  info.GetReturnValue().Set(Array::New(isolate, parts, 2));
}

/// A Uint8Array of `length` bytes, or a RangeError when the ArrayBuffer cap would be passed
/// (ArrayBuffer::New itself would end the process instead).
bool new_bytes(Isolate *isolate, size_t length, Local<Uint8Array> *out, uint8_t **data) {
  CappedAllocator *allocator = allocator_of(isolate);
  if (allocator && !allocator->fits(length)) {
    throw_range_error(isolate, "Array buffer allocation failed: the memory limit for buffers is reached");
    return false;
  }
  Local<ArrayBuffer> buffer = ArrayBuffer::New(isolate, length);
  *data = static_cast<uint8_t *>(buffer->GetBackingStore()->Data());
  *out = Uint8Array::New(buffer, 0, length);
  return true;
}

void native_utf8_encode(const FunctionCallbackInfo<Value> &info) {
  Isolate *isolate = info.GetIsolate();
  if (!info[0]->IsString()) return throw_error(isolate, "utf8Encode expects a string");
  Local<String> text = info[0].As<String>();
  int length = text->Utf8Length(isolate);
  Local<Uint8Array> array;
  uint8_t *data;
  if (!new_bytes(isolate, length, &array, &data)) return;
  text->WriteUtf8(isolate, reinterpret_cast<char *>(data), length, nullptr,
                  String::NO_NULL_TERMINATION | String::REPLACE_INVALID_UTF8);
  info.GetReturnValue().Set(array);
}

void native_utf8_decode(const FunctionCallbackInfo<Value> &info) {
  Isolate *isolate = info.GetIsolate();
  const char *data;
  size_t length;
  if (info[0]->IsArrayBufferView()) {
    Local<ArrayBufferView> view = info[0].As<ArrayBufferView>();
    data = static_cast<const char *>(view->Buffer()->GetBackingStore()->Data()) + view->ByteOffset();
    length = view->ByteLength();
  } else if (info[0]->IsArrayBuffer()) {
    Local<ArrayBuffer> buffer = info[0].As<ArrayBuffer>();
    data = static_cast<const char *>(buffer->GetBackingStore()->Data());
    length = buffer->ByteLength();
  } else {
    return throw_error(isolate, "utf8Decode expects an ArrayBuffer or a view of one");
  }
  if (length > static_cast<size_t>(String::kMaxLength))
    return throw_range_error(isolate, "the decoded string would be longer than the maximum string length");
  Local<String> text;
  if (!String::NewFromUtf8(isolate, length ? data : "", NewStringType::kNormal, static_cast<int>(length))
           .ToLocal(&text))
    return throw_range_error(isolate, "the decoded string would be longer than the maximum string length");
  info.GetReturnValue().Set(text);
}

/// Reports a host call to the host (on_host_call copies what it needs).
void report_host_call(Isolate *isolate, RunState *run, uint64_t id, size_t capability, Local<Value> operation_value,
                      Local<Value> json_value, Local<Value> bytes_value) {
  const uint8_t *bytes = nullptr;
  size_t bytes_length = 0;
  if (bytes_value->IsUint8Array()) {
    Local<Uint8Array> view = bytes_value.As<Uint8Array>();
    bytes = static_cast<const uint8_t *>(view->Buffer()->GetBackingStore()->Data()) + view->ByteOffset();
    bytes_length = view->ByteLength();
  }
  String::Utf8Value operation(isolate, operation_value);
  String::Utf8Value json(isolate, json_value);
  run->host_calls_reported++;
  auto *call = new cv8_host_call{run->host_calls, id};
  if (!*operation || !*json) {
    const char *failure = "{\"message\":\"the capability call could not be read\"}";
    cv8_host_call_complete(call, 0, failure, strlen(failure), nullptr, 0);
    return;
  }
  run->request->on_host_call(run->request->host_call_context, call, capability, *operation, *json, json.length(),
                             bytes_length ? bytes : nullptr, bytes_length);
}

/// hostCall(capability, operation, requestJSON, bytes?): reports a capability call to the host,
/// or queues it while the run has max_host_calls_in_flight out; returns its id, which the engine
/// later hands to the prelude's completeHostCall.
void native_host_call(const FunctionCallbackInfo<Value> &info) {
  Isolate *isolate = info.GetIsolate();
  RunState *run = current_run(isolate);
  const cv8_run_request *request = run ? run->request : nullptr;
  if (!request || !request->on_host_call || !info[0]->IsUint32() || !info[1]->IsString() || !info[2]->IsString())
    return throw_error(isolate, "capabilities are not available in this run");
  size_t capability = info[0].As<Uint32>()->Value();
  if (capability >= request->capability_count) return throw_error(isolate, "no such capability in this run");
  uint64_t id = ++run->last_host_call_id;
  run->host_calls_outstanding++;
  Local<Value> bytes = info[3]->IsUint8Array() ? info[3] : Undefined(isolate).As<Value>();
  size_t limit = request->max_host_calls_in_flight;
  if (limit == 0 || (run->host_calls_waiting.empty() && run->host_calls_reported < limit)) {
    report_host_call(isolate, run, id, capability, info[1], info[2], bytes);
  } else {
    run->host_calls_waiting.push_back(WaitingHostCall{id, capability, Global<String>(isolate, info[1].As<String>()),
                                                      Global<String>(isolate, info[2].As<String>()),
                                                      Global<Value>(isolate, bytes)});
  }
  info.GetReturnValue().Set(static_cast<double>(id));
}

struct NativeBinding {
  const char *name;
  FunctionCallback callback;
};

const NativeBinding kBindings[] = {
    {"print", native_print},
    {"now", native_now},
    {"structuredClone", native_structured_clone},
    {"isProxy", native_is_proxy},
    {"proxyTarget", native_proxy_target},
    {"promiseState", native_promise_state},
    {"utf8Encode", native_utf8_encode},
    {"utf8Decode", native_utf8_decode},
    {"hostCall", native_host_call},
    {"compileModule", native_compile_module},
    {"moduleRequests", native_module_requests},
    {"linkModule", native_link_module},
    {"instantiateModule", native_instantiate_module},
    {"evaluateModule", native_evaluate_module},
    {"moduleNamespace", native_module_namespace},
};

}  // namespace

void report_waiting_host_calls(Isolate *isolate, RunState *run) {
  HandleScope scope(isolate);
  size_t limit = run->request->max_host_calls_in_flight;
  while (!run->host_calls_waiting.empty() && run->host_calls_reported < limit) {
    WaitingHostCall next = std::move(run->host_calls_waiting.front());
    run->host_calls_waiting.pop_front();
    report_host_call(isolate, run, next.id, next.capability, next.operation.Get(isolate), next.request_json.Get(isolate),
                     next.bytes.Get(isolate));
  }
}

std::string buffer_limit_failure(size_t length) {
  return "{\"message\":\"the capability's answer of " + std::to_string(length) +
         " bytes does not fit in this run's memory for buffers (its heap limit, heap_memory_max_mb)\"," +
         "\"code\":\"ERR_BUFFER_LIMIT\"}";
}

bool HostCallChannel::claim(size_t length) {
  size_t in_use = claimed + (allocator ? allocator->used() : 0);
  if (!open || length > buffer_cap || in_use > buffer_cap - length) return false;
  claimed += length;
  return true;
}

// Order matters (see the declaration); append only.
const intptr_t external_references[] = {
    reinterpret_cast<intptr_t>(native_print),
    reinterpret_cast<intptr_t>(native_now),
    reinterpret_cast<intptr_t>(native_structured_clone),
    reinterpret_cast<intptr_t>(native_is_proxy),
    reinterpret_cast<intptr_t>(native_proxy_target),
    reinterpret_cast<intptr_t>(native_promise_state),
    reinterpret_cast<intptr_t>(native_utf8_encode),
    reinterpret_cast<intptr_t>(native_utf8_decode),
    reinterpret_cast<intptr_t>(native_host_call),
    reinterpret_cast<intptr_t>(native_compile_module),
    reinterpret_cast<intptr_t>(native_module_requests),
    reinterpret_cast<intptr_t>(native_link_module),
    reinterpret_cast<intptr_t>(native_instantiate_module),
    reinterpret_cast<intptr_t>(native_evaluate_module),
    reinterpret_cast<intptr_t>(native_module_namespace),
    0,
};

Local<Object> make_native_bindings(Isolate *isolate, Local<Context> context) {
  Local<Object> native = Object::New(isolate, Null(isolate), nullptr, nullptr, 0);
  for (const NativeBinding &binding : kBindings) {
    Local<Function> function = FunctionTemplate::New(isolate, binding.callback)->GetFunction(context).ToLocalChecked();
    native->Set(context, String::NewFromUtf8(isolate, binding.name).ToLocalChecked(), function).Check();
  }
  return native;
}

}  // namespace cv8

namespace {

/// V8 aborts the process when it snapshots a live Intl formatter or a FinalizationRegistry with
/// registrations, so the context stateful heaps start from never exposes their constructors.
/// (Locale methods such as toLocaleString keep working: their ICU objects live outside the heap.)
/// The accessors are part of every heap made from it, so every later generation is covered too.
constexpr const char *kSealUnsnapshottableGlobals = R"JS(
for (const name of ['Intl', 'FinalizationRegistry']) {
  Object.defineProperty(globalThis, name, {
    configurable: false, enumerable: false,
    get() {
      throw new TypeError(name + ' is not available in stateful runs: V8 cannot keep its objects in ' +
        'a heap snapshot. Use toLocaleString/localeCompare, or run with --stateless.');
    },
  });
}
)JS";

bool run_script(Isolate *isolate, Local<Context> context, const char *name, Local<String> source,
                Local<Value> *value) {
  ScriptOrigin origin(isolate, String::NewFromUtf8(isolate, name).ToLocalChecked());
  Local<Script> script;
  return Script::Compile(context, source, &origin).ToLocal(&script) && script->Run(context).ToLocal(value);
}

/// Evaluates the prelude in `context` and returns what it returns: the engine's internals.
bool evaluate_prelude(Isolate *isolate, Local<Context> context, bool lean, Local<Object> *internals,
                      std::string *error) {
  Context::Scope context_scope(context);
  TryCatch try_catch(isolate);
  std::string source_text = cv8::prelude_source();
  Local<String> source = String::NewFromUtf8(isolate, source_text.data(), NewStringType::kNormal,
                                             static_cast<int>(source_text.size()))
                             .ToLocalChecked();
  Local<Value> factory;
  Local<Value> result;
  Local<Value> arguments[3] = {cv8::make_native_bindings(isolate, context), context->Global(),
                               Boolean::New(isolate, lean)};
  if (!run_script(isolate, context, "mcp-v8:runtime.js", source, &factory) || !factory->IsFunction() ||
      !factory.As<Function>()->Call(context, Undefined(isolate), 3, arguments).ToLocal(&result) ||
      !result->IsObject()) {
    String::Utf8Value message(isolate, try_catch.Exception());
    *error = std::string("the runtime prelude failed: ") + (*message ? *message : "it did not return its internals");
    return false;
  }
  *internals = result.As<Object>();
  if (!lean) return true;
  Local<Value> ignored;
  if (!run_script(isolate, context, "mcp-v8:stateful.js",
                  String::NewFromUtf8(isolate, kSealUnsnapshottableGlobals).ToLocalChecked(), &ignored)) {
    *error = "the runtime could not hide Intl and FinalizationRegistry from stateful runs";
    return false;
  }
  return true;
}

/// A runtime snapshot: the prelude and then the capability preludes already run in its default
/// context, whose data 0 is the prelude's internals. Stateless runs and new stateful heaps get
/// separate snapshots, not two contexts of one: the functions, their bytecode and strings live in
/// a snapshot's shared part, so a lean context beside a full one would make heaps no smaller.
bool build_blob(bool lean, const cv8_capability *capabilities, size_t capability_count, std::string *bytes,
                std::string *error) {
  cv8::FixedSeedScope fixed_seed;  // the same preludes make the same bytes, in any process
  SnapshotCreator creator(cv8::external_references);
  Isolate *isolate = creator.GetIsolate();
  {
    HandleScope handle_scope(isolate);
    Local<Context> context = Context::New(isolate);
    Local<Object> internals;
    if (!evaluate_prelude(isolate, context, lean, &internals, error)) return false;
    {
      Context::Scope context_scope(context);
      if (!cv8::install_capability_preludes(context, internals, capabilities, capability_count, error)) return false;
    }
    creator.AddData(context, internals);
    creator.SetDefaultContext(context);
  }
  StartupData blob = creator.CreateBlob(SnapshotCreator::FunctionCodeHandling::kKeep);
  bytes->assign(blob.data, blob.raw_size);
  delete[] blob.data;
  return true;
}

}  // namespace

bool cv8_runtime::stateful_blob(StartupData *blob, std::string *error) const {
  std::call_once(stateful_once, [this] {
    std::vector<cv8_capability> capabilities;
    for (const std::string &prelude : capability_preludes) capabilities.push_back({prelude.data(), prelude.size()});
    if (!build_blob(true, capabilities.data(), capabilities.size(), &stateful_blob_bytes, &stateful_error))
      stateful_blob_bytes.clear();
  });
  if (stateful_blob_bytes.empty()) {
    *error = stateful_error;
    return false;
  }
  *blob = StartupData{stateful_blob_bytes.data(), static_cast<int>(stateful_blob_bytes.size())};
  return true;
}

extern "C" {

void cv8_host_call_complete(cv8_host_call *call, int ok, const char *json, size_t json_length, const uint8_t *bytes,
                            size_t bytes_length) {
  {
    cv8::HostCallChannel &channel = *call->channel;
    std::lock_guard<std::mutex> lock(channel.mutex);
    if (channel.open) {
      bool has_bytes = ok && bytes != nullptr;
      if (has_bytes && bytes_length > call->claimed && !channel.claim(bytes_length - call->claimed)) {
        channel.completions.push_back({call->id, false, true, cv8::buffer_limit_failure(bytes_length), false, {},
                                       call->claimed});
      } else {
        channel.completions.push_back({call->id, ok != 0, json != nullptr, json ? std::string(json, json_length) : "",
                                       has_bytes, std::vector<uint8_t>(bytes, bytes + (has_bytes ? bytes_length : 0)),
                                       std::max(call->claimed, has_bytes ? bytes_length : 0)});
      }
      channel.wake.notify_all();
    }
  }
  delete call;
}

int cv8_host_call_claim(cv8_host_call *call, size_t length) {
  cv8::HostCallChannel &channel = *call->channel;
  std::lock_guard<std::mutex> lock(channel.mutex);
  if (!channel.claim(length)) return 1;
  call->claimed += length;
  return 0;
}

cv8_runtime *cv8_runtime_create(char **error_out) { return cv8_runtime_create_with_capabilities(nullptr, 0, error_out); }

cv8_runtime *cv8_runtime_create_with_capabilities(const cv8_capability *capabilities, size_t capability_count,
                                                  char **error_out) {
  if (cv8_initialize(error_out) != 0) return nullptr;
  auto *runtime = new cv8_runtime();
  for (size_t index = 0; index < capability_count; index++)
    runtime->capability_preludes.emplace_back(capabilities[index].prelude, capabilities[index].prelude_length);
  std::string error;
  if (!build_blob(false, capabilities, capability_count, &runtime->blob_bytes, &error)) {
    if (error_out) *error_out = cv8::copy_string(error);
    delete runtime;
    return nullptr;
  }
  runtime->blob = StartupData{runtime->blob_bytes.data(), static_cast<int>(runtime->blob_bytes.size())};
  return runtime;
}

void cv8_runtime_free(cv8_runtime *runtime) { delete runtime; }

size_t cv8_runtime_snapshot_size(const cv8_runtime *runtime) { return runtime->blob_bytes.size(); }

}  // extern "C"
