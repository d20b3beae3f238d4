// One run in a prepared context, from compile to result: the event loop that drives it to its
// end within its limits, and how it reports a failure or a stop.
#include <condition_variable>
#include <optional>
#include <string_view>

#include "internal.h"

using namespace v8;
using cv8::to_utf8;

namespace {

/// The stack V8 may use below the point where a run starts. Hosts run engines on threads with
/// far larger stacks (cv8.h, at cv8_engine_run), so the guest's deep recursion ends as a
/// RangeError, not a fault.
constexpr uintptr_t kStackBudgetBytes = 1024 * 1024;
/// How long the loop sleeps at most while background work (WebAssembly compilation) is pending.
constexpr auto kPlatformPollInterval = std::chrono::milliseconds(1);
/// The import.meta property that carries a module's last expression value back to the host.
constexpr const char *kModuleResultProperty = "__mcpv8_result__";

/// True when a classic-script compile failed only because the code is an ES module.
bool is_module_only_syntax(const std::string &message) {
  static const char *const markers[] = {
      "Cannot use import statement outside a module",
      "Unexpected token 'export'",
      "await is only valid in async functions and the top level bodies of modules",
      "Cannot use 'import.meta' outside a module",
  };
  for (const char *marker : markers)
    if (message.find(marker) != std::string::npos) return true;
  return false;
}

/// JSON.stringify writes a lone surrogate as an escape (\ud800) that is not valid Unicode, which
/// JSON decoders outside V8 reject: such escapes become U+FFFD, as lone surrogates do in output.
void replace_lone_surrogate_escapes(std::string &json) {
  auto code_unit_at = [&](size_t at) -> int {
    if (at + 6 > json.size() || json[at] != '\\' || json[at + 1] != 'u') return -1;
    return static_cast<int>(strtol(json.substr(at + 2, 4).c_str(), nullptr, 16));
  };
  for (size_t i = 0; i < json.size(); i++) {
    if (json[i] != '\\') continue;
    int unit = code_unit_at(i);
    if (unit < 0) {
      i++;  // a two-character escape such as \\ or \"
      continue;
    }
    bool high = unit >= 0xD800 && unit <= 0xDBFF, low = unit >= 0xDC00 && unit <= 0xDFFF;
    int next = high ? code_unit_at(i + 6) : -1;
    if (high && next >= 0xDC00 && next <= 0xDFFF) {
      i += 11;  // a valid pair
    } else if (high || low) {
      json.replace(i, 6, "\\ufffd");
      i += 5;
    } else {
      i += 5;
    }
  }
}

bool mentions_module_syntax(const char *code, size_t length) {
  std::string_view text(code, length);
  return text.find("await") != std::string_view::npos || text.find("import") != std::string_view::npos ||
         text.find("export") != std::string_view::npos;
}

/// Whether `await` is followed, after blanks, by `(`, `[` or a template: what a script reads as
/// an expression on a variable named await.
bool mentions_await_before_bracket(const char *code, size_t length) {
  std::string_view text(code, length);
  for (size_t at = text.find("await"); at != std::string_view::npos; at = text.find("await", at + 5)) {
    size_t next = text.find_first_not_of(" \t\r\n", at + 5);
    if (next != std::string_view::npos && (text[next] == '(' || text[next] == '[' || text[next] == '`')) return true;
  }
  return false;
}

std::string megabytes(uint32_t mb) { return std::to_string(mb) + " MB"; }

/// One run, from compile to result, in the engine's prepared context.
class Run {
 public:
  Run(cv8::RunControl *control, const cv8_run_request *request, Local<Context> context, Local<Object> internals,
      MicrotaskQueue *queue, bool snapshotting)
      : snapshotting_(snapshotting),
        control_(control),
        isolate_(control->isolate),
        request_(request),
        context_(context),
        internals_(internals),
        queue_(queue),
        deadline_(cv8::Clock::now() + std::chrono::milliseconds(request->timeout_ms)) {}

  cv8_run_result execute(cv8::RunState *state) {
    state->started = Clock::now();
    state_ = state;
    TryCatch try_catch(isolate_);
    Local<Value> snapshotting = Boolean::New(isolate_, snapshotting_);
    call_internal("beginRun", 1, &snapshotting);
    install_wasm_modules();
    install_capabilities();
    Local<Value> completion;
    if (!fail_status_ && evaluate(&completion) && !fail_status_) drive(completion);
    if (!fail_status_ && snapshotting_) refuse_unstorable_heap();
    return finish();
  }

 private:
  using Clock = cv8::Clock;

  // ---- pre-loaded WebAssembly modules -------------------------------------------------------

  void install_wasm_modules() {
    for (size_t index = 0; index < request_->wasm_module_count && !fail_status_; index++) {
      const cv8_wasm_module *module = request_->wasm_modules[index];
      TryCatch try_catch(isolate_);
      Local<WasmModuleObject> object;
      Local<Value> arguments[2], ignored;
      if (!WasmModuleObject::FromCompiledModule(isolate_, *module->compiled).ToLocal(&object)) {
        fail(CV8_STATUS_INTERNAL, "the WebAssembly module '" + module->name + "' could not be recreated");
        return;
      }
      arguments[0] = String::NewFromUtf8(isolate_, module->name.c_str()).ToLocalChecked();
      arguments[1] = object;
      if (!call_internal("installWasmModule", 2, arguments).ToLocal(&ignored)) {
        if (stopped_or_terminated(try_catch)) return;
        std::string reason = try_catch.HasCaught() ? to_utf8(isolate_, try_catch.Exception()) : "unknown error";
        fail(CV8_STATUS_ERROR, "the pre-loaded WebAssembly module '" + module->name + "' could not be instantiated: " + reason);
      }
    }
  }

  // ---- capabilities -------------------------------------------------------------------------

  void install_capabilities() {
    TryCatch try_catch(isolate_);
    std::string error;
    if (!cv8::install_capability_preludes(context_, internals_, request_->capabilities, request_->capability_count,
                                          &error) &&
        !stopped_or_terminated(try_catch))
      fail(CV8_STATUS_INTERNAL, error);
  }

  /// Hands the host calls that ended to JavaScript; false when the run has failed.
  bool deliver_host_calls() {
    std::deque<cv8::HostCallChannel::Completion> ended;
    {
      // What the answers claimed is theirs until here: from now on the ArrayBuffers count them.
      std::lock_guard<std::mutex> lock(state_->host_calls->mutex);
      ended.swap(state_->host_calls->completions);
      for (const auto &completion : ended) state_->host_calls->claimed -= completion.claimed;
    }
    auto *allocator = static_cast<cv8::CappedAllocator *>(isolate_->GetData(cv8::kAllocatorSlot));
    state_->host_calls_reported -= ended.size();
    cv8::report_waiting_host_calls(isolate_, state_);
    for (auto &completion : ended) {
      state_->host_calls_outstanding--;
      if (completion.ok && completion.has_bytes && allocator && !allocator->fits(completion.bytes.size())) {
        completion = {completion.id, false, true, cv8::buffer_limit_failure(completion.bytes.size()), false, {}, 0};
      }
      HandleScope scope(isolate_);
      TryCatch try_catch(isolate_);
      Local<Value> arguments[4] = {Number::New(isolate_, static_cast<double>(completion.id)),
                                   Boolean::New(isolate_, completion.ok), Null(isolate_), Undefined(isolate_)};
      if (completion.has_json) {
        Local<String> json = source_string(completion.json);
        if (json.IsEmpty()) return fail(CV8_STATUS_ERROR, "a capability answered with more text than a string can hold");
        arguments[2] = json;
      }
      if (completion.has_bytes) {
        Local<ArrayBuffer> buffer = ArrayBuffer::New(isolate_, completion.bytes.size());
        if (!completion.bytes.empty())
          memcpy(buffer->GetBackingStore()->Data(), completion.bytes.data(), completion.bytes.size());
        arguments[3] = Uint8Array::New(buffer, 0, completion.bytes.size());
      }
      Local<Value> ignored;
      if (!call_internal("completeHostCall", 4, arguments).ToLocal(&ignored)) return fail_from(try_catch);
    }
    return true;
  }

  // ---- compile and evaluate -----------------------------------------------------------------

  /// Runs the code; `completion` is the script's value, or for a module a promise of its
  /// last expression's value.
  bool evaluate(Local<Value> *completion) {
    TryCatch try_catch(isolate_);
    Local<String> source = source_string(std::string(request_->code, request_->code_length));
    if (source.IsEmpty()) return fail(CV8_STATUS_ERROR, "the code is longer than V8's maximum string length");
    ScriptOrigin origin(isolate_, String::NewFromUtf8Literal(isolate_, "main.js"));
    Local<Script> script;
    if (Script::Compile(context_, source, &origin).ToLocal(&script)) {
      if (awaits_in_parentheses(source)) return evaluate_module(completion);
      if (script->Run(context_).ToLocal(completion)) return true;
      return fail_from(try_catch);
    }
    if (stopped_or_terminated(try_catch) || too_deep_to_parse(try_catch)) return false;
    if (try_catch.Message().IsEmpty()) return fail_from(try_catch);
    // V8 names module-only syntax in most messages; `[await x]` and the like only read as an
    // unexpected token, so code that mentions module syntax is also tried as a module, and
    // keeps the script's error if it does not compile as one either.
    if (!is_module_only_syntax(to_utf8(isolate_, try_catch.Message()->Get())) &&
        !(mentions_module_syntax(request_->code, request_->code_length) && compiles_as_module(source)))
      return fail_syntax(try_catch);
    try_catch.Reset();
    return evaluate_module(completion);
  }

  /// A script reads a top-level `await (p)` or `await [a, b]` as a call of (or an index into) a
  /// variable named await, which then does not exist: code that means an await runs as a module.
  bool awaits_in_parentheses(Local<String> source) {
    return mentions_await_before_bracket(request_->code, request_->code_length) && compiles_as_module(source) &&
           cv8::has_top_level_await(std::string(request_->code, request_->code_length));
  }

  bool compiles_as_module(Local<String> source) {
    TryCatch try_catch(isolate_);
    ScriptCompiler::Source compiler_source(source, module_origin());
    return !ScriptCompiler::CompileModule(isolate_, &compiler_source).IsEmpty();
  }

  ScriptOrigin module_origin() {
    return ScriptOrigin(isolate_, String::NewFromUtf8Literal(isolate_, "main.js"), 0, 0, false, -1, Local<Value>(),
                        false, false, true);
  }

  bool evaluate_module(Local<Value> *completion) {
    TryCatch try_catch(isolate_);
    std::string code(request_->code, request_->code_length);
    std::string rewritten = cv8::capture_completion_value(code, kModuleResultProperty);
    bool has_result = !rewritten.empty();
    Local<String> source = source_string(has_result ? rewritten : code);
    ScriptCompiler::Source compiler_source(source, module_origin());
    Local<Module> module;
    if (!ScriptCompiler::CompileModule(isolate_, &compiler_source).ToLocal(&module)) {
      if (stopped_or_terminated(try_catch) || too_deep_to_parse(try_catch)) return false;
      return fail_syntax(try_catch);
    }
    Local<Value> evaluation;
    size_t handle = cv8::register_main_module(isolate_, state_, module);
    if (module->GetModuleRequests()->Length() > 0) {
      // Its imports load asynchronously (through a modules capability): the runtime's loader
      // links, instantiates and evaluates once they are all in.
      Local<Value> handle_value = Integer::NewFromUnsigned(isolate_, static_cast<uint32_t>(handle));
      if (!call_internal("loadMainModule", 1, &handle_value).ToLocal(&evaluation)) return fail_from(try_catch);
    } else {
      if (!module->InstantiateModule(context_, cv8::resolve_imported_module).FromMaybe(false))
        return fail_from(try_catch);
      if (!module->Evaluate(context_).ToLocal(&evaluation)) return fail_from(try_catch);
    }
    module_has_result_ = has_result;
    *completion = evaluation;
    module_evaluation_.Reset(isolate_, evaluation.As<Promise>());
    return true;
  }

  // ---- the event loop -----------------------------------------------------------------------

  /// Runs microtasks, platform tasks and timers until the result is settled and nothing is
  /// left pending, or a limit stops the run.
  void drive(Local<Value> completion) {
    result_.Reset(isolate_, completion);
    for (;;) {
      if (!deliver_host_calls() || !checkpoint()) return;
      if (!module_evaluation_.IsEmpty() && !take_module_result()) return;
      double delay = number_internal("nextTimerDelay");
      if (fail_status_) return;
      if (delay == 0) {
        TryCatch try_catch(isolate_);
        Local<Value> ignored;
        if (!call_internal("runNextDueTimer", 0, nullptr).ToLocal(&ignored)) {
          fail_from(try_catch);
          return;
        }
        continue;
      }
      double pending_operations = number_internal("pendingOperations");
      if (fail_status_) return;
      if (delay < 0 && pending_operations == 0 && state_->host_calls_outstanding == 0) {
        if (result_pending()) {
          fail(CV8_STATUS_ERROR,
               "The result is a promise that can never settle: nothing is left that could settle it "
               "(no timers, no pending operations).");
        }
        return;
      }
      // Host calls wake the loop when they end; background compilation has to be polled.
      auto until_timer = delay < 0 ? deadline_ - Clock::now()
                                   : std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double, std::milli>(delay));
      auto wake_at = Clock::now() + (pending_operations > 0 ? std::min<Clock::duration>(kPlatformPollInterval, until_timer)
                                                            : until_timer);
      cv8::HostCallChannel &channel = *state_->host_calls;
      std::unique_lock<std::mutex> lock(channel.mutex);
      channel.wake.wait_until(lock, std::min(wake_at, deadline_ + std::chrono::milliseconds(5)), [&] {
        return control_->stopped() != cv8::StopReason::none || !channel.completions.empty();
      });
      if (control_->stopped() != cv8::StopReason::none) {
        fail_stopped();
        return;
      }
    }
  }

  /// Drains microtasks and platform tasks; false when the run has failed.
  bool checkpoint() {
    do {
      // A fresh context has a queue of its own; a checkpoint context uses the isolate's.
      if (queue_) {
        queue_->PerformCheckpoint(isolate_);
      } else {
        isolate_->PerformMicrotaskCheckpoint();
      }
      if (control_->stopped() != cv8::StopReason::none || isolate_->IsExecutionTerminating()) return fail_stopped();
      if (!check_unhandled_rejections()) return false;
    } while (v8::platform::PumpMessageLoop(cv8::platform(), isolate_, platform::MessageLoopBehavior::kDoNotWait));
    return true;
  }

  /// A module's evaluation has settled: its result becomes the value of its last expression.
  bool take_module_result() {
    Local<Promise> evaluation = module_evaluation_.Get(isolate_);
    if (evaluation->State() == Promise::kPending) return true;
    module_evaluation_.Reset();
    if (evaluation->State() == Promise::kRejected) return fail_with_exception(evaluation->Result(), false);
    Local<Value> value = Undefined(isolate_);
    // Read from import.meta, not the module's namespace: V8 cannot snapshot a namespace object.
    if (module_has_result_ && !state_->main_import_meta.IsEmpty()) {
      Local<Object> meta = state_->main_import_meta.Get(isolate_);
      Local<String> key = String::NewFromUtf8(isolate_, kModuleResultProperty).ToLocalChecked();
      TryCatch try_catch(isolate_);
      if (!meta->Get(context_, key).ToLocal(&value) || meta->Delete(context_, key).IsNothing()) return fail_from(try_catch);
    }
    result_.Reset(isolate_, value);
    return true;
  }

  bool result_pending() {
    if (!module_evaluation_.IsEmpty()) return true;
    Local<Value> result = result_.Get(isolate_);
    return result->IsPromise() && result.As<Promise>()->State() == Promise::kPending;
  }

  bool check_unhandled_rejections() {
    auto &list = state_->unhandled_rejections;
    for (auto it = list.begin(); it != list.end(); ++it) {
      Local<Promise> promise = it->Get(isolate_);
      if (is_result_promise(promise)) continue;
      Local<Value> reason = promise->Result();
      list.clear();
      return fail_with_exception(reason, true);
    }
    return true;
  }

  bool is_result_promise(Local<Promise> promise) {
    if (!module_evaluation_.IsEmpty() && module_evaluation_.Get(isolate_) == promise) return true;
    return !result_.IsEmpty() && result_.Get(isolate_) == promise;
  }

  // ---- finishing ----------------------------------------------------------------------------

  cv8_run_result finish() {
    cv8_run_result result{};
    if (!fail_status_) convert_result(&result);
    result.status = fail_status_ ? *fail_status_ : CV8_STATUS_COMPLETED;
    if (fail_status_) result.error = cv8::copy_string(error_);
    result.output_truncated = state_->output_truncated;
    result.output_bytes = state_->output_bytes;
    return result;
  }

  void convert_result(cv8_run_result *out) {
    Local<Value> value = result_.IsEmpty() ? Undefined(isolate_).As<Value>() : result_.Get(isolate_);
    if (value->IsPromise()) {
      Local<Promise> promise = value.As<Promise>();
      if (promise->State() == Promise::kRejected) {
        fail_with_exception(promise->Result(), false);
        return;
      }
      value = promise->Result();
    }
    if (value->IsUndefined()) return;
    TryCatch try_catch(isolate_);
    Local<Value> json;
    Local<Value> argument = value;
    if (!call_internal("resultJSON", 1, &argument).ToLocal(&json)) {
      fail_from(try_catch);
      return;
    }
    if (!json->IsString()) return;
    std::string text = to_utf8(isolate_, json);
    replace_lone_surrogate_escapes(text);
    if (text.size() > request_->output_limit_bytes) {
      fail(CV8_STATUS_ERROR, "The result is " + std::to_string(text.size()) + " bytes of JSON, over the output limit of " +
                                 std::to_string(request_->output_limit_bytes) +
                                 " bytes. Return less, or raise the limit (--max-output-bytes).");
      return;
    }
    out->result_json = cv8::copy_string(text);
  }

  /// A heap the runtime could not go on with (a frozen globalThis) fails the run: nothing is stored.
  void refuse_unstorable_heap() {
    TryCatch try_catch(isolate_);
    Local<Value> function, reason;
    // A heap stored by an older runtime carries that runtime's internals, which lack the check.
    if (!internals_->Get(context_, String::NewFromUtf8Literal(isolate_, "unstorableReason")).ToLocal(&function) ||
        !function->IsFunction())
      return;
    if (!call_internal("unstorableReason", 0, nullptr).ToLocal(&reason)) {
      fail_from(try_catch);
    } else if (reason->IsString()) {
      fail(CV8_STATUS_ERROR, to_utf8(isolate_, reason));
    }
  }

  // ---- failures -----------------------------------------------------------------------------

  bool fail(cv8_status status, const std::string &message) {
    if (!fail_status_) {
      fail_status_ = status;
      error_ = message;
    }
    return false;
  }

  bool stopped_or_terminated(TryCatch &try_catch) {
    if (control_->stopped() != cv8::StopReason::none || try_catch.HasTerminated()) {
      fail_stopped();
      return true;
    }
    return false;
  }

  /// Says which limit stopped the run; how far it may be raised is the host's to say (cv8.h).
  bool fail_stopped() {
    uint32_t seconds = (request_->timeout_ms + 999) / 1000;
    switch (control_->stopped()) {
      case cv8::StopReason::timed_out:
        return fail(CV8_STATUS_TIMED_OUT, "Execution timed out after " + std::to_string(seconds) + " s.");
      case cv8::StopReason::cancelled: return fail(CV8_STATUS_CANCELLED, "Execution cancelled.");
      case cv8::StopReason::out_of_memory:
        return fail(CV8_STATUS_OUT_OF_MEMORY,
                    "Out of memory: the JavaScript heap limit of " + megabytes(control_->heap_limit_mb) + " was reached.");
      case cv8::StopReason::none: break;
    }
    return fail(CV8_STATUS_INTERNAL, "The engine stopped the run for an unknown reason.");
  }

  bool fail_from(TryCatch &try_catch) {
    if (stopped_or_terminated(try_catch)) return false;
    if (!try_catch.HasCaught()) return fail(CV8_STATUS_INTERNAL, "The engine failed without an exception.");
    return fail_with_exception(try_catch.Exception(), false);
  }

  bool fail_with_exception(Local<Value> exception, bool unhandled_rejection) {
    if (fail_status_) return false;
    TryCatch try_catch(isolate_);
    Local<Value> text;
    std::string message;
    if (call_internal("formatError", 1, &exception).ToLocal(&text) && text->IsString()) {
      message = to_utf8(isolate_, text);
    } else {
      if (stopped_or_terminated(try_catch)) return false;
      message = "Uncaught exception (it could not be described)";
    }
    if (unhandled_rejection) message = "Uncaught (in promise) " + message;
    // Errors bigger than the output limit would only flood the caller.
    if (message.size() > request_->output_limit_bytes) message.resize(request_->output_limit_bytes);
    return fail(CV8_STATUS_ERROR, message);
  }

  /// V8's parser recurses once per nesting level and throws a RangeError when it runs out of
  /// stack: that is no syntax error (nor TypeScript for esbuild to try), so it gets its own answer.
  bool too_deep_to_parse(TryCatch &try_catch) {
    if (try_catch.Message().IsEmpty() || !try_catch.Exception()->IsNativeError() ||
        to_utf8(isolate_, try_catch.Message()->Get()).find("RangeError: Maximum call stack size exceeded") ==
            std::string::npos)
      return false;
    fail(CV8_STATUS_ERROR,
         "The code is nested too deeply to parse: V8's parser ran out of stack (Maximum call stack size "
         "exceeded). Nest fewer brackets, blocks or calls; build deep data at run time, in a loop.");
    return true;
  }

  bool fail_syntax(TryCatch &try_catch) {
    Local<Message> message = try_catch.Message();
    if (message.IsEmpty()) return fail_from(try_catch);
    std::string text = to_utf8(isolate_, message->Get());
    // V8 words compile errors as if thrown ("Uncaught SyntaxError: ..."); nothing was thrown.
    const std::string uncaught = "Uncaught ";
    if (text.compare(0, uncaught.size(), uncaught) == 0) text.erase(0, uncaught.size());
    int line = message->GetLineNumber(context_).FromMaybe(0);
    int column = std::max(0, message->GetStartColumn(context_).FromMaybe(0)) + 1;
    text += " (main.js:" + std::to_string(line) + ":" + std::to_string(column) + ")";
    Local<String> source_line;
    if (message->GetSourceLine(context_).ToLocal(&source_line)) {
      std::string code_line = to_utf8(isolate_, source_line);
      if (code_line.size() <= 200 && static_cast<size_t>(column) <= code_line.size() + 1) text += "\n" + code_line + "\n" + std::string(column - 1, ' ') + "^";
    }
    return fail(CV8_STATUS_SYNTAX_ERROR, text);
  }

  // ---- helpers ------------------------------------------------------------------------------

  Local<String> source_string(const std::string &code) {
    if (code.size() > static_cast<size_t>(String::kMaxLength)) return Local<String>();
    return String::NewFromUtf8(isolate_, code.data(), NewStringType::kNormal, static_cast<int>(code.size()))
        .FromMaybe(Local<String>());
  }

  MaybeLocal<Value> call_internal(const char *name, int argc, Local<Value> *argv) {
    Local<Value> function;
    if (!internals_->Get(context_, String::NewFromUtf8(isolate_, name).ToLocalChecked()).ToLocal(&function) ||
        !function->IsFunction()) {
      // A run stopped from outside (time, memory, cancel) fails every V8 call: say why it stopped.
      if (control_->stopped() != cv8::StopReason::none || isolate_->IsExecutionTerminating()) {
        fail_stopped();
      } else {
        fail(CV8_STATUS_INTERNAL, std::string("the runtime lacks its internal '") + name + "'");
      }
      return MaybeLocal<Value>();
    }
    return function.As<Function>()->Call(context_, internals_, argc, argv);
  }

  double number_internal(const char *name) {
    TryCatch try_catch(isolate_);
    Local<Value> value;
    if (!call_internal(name, 0, nullptr).ToLocal(&value)) {
      fail_from(try_catch);
      return -1;
    }
    return value->NumberValue(context_).FromMaybe(-1);
  }

  bool snapshotting_;
  cv8::RunControl *control_;
  Isolate *isolate_;
  const cv8_run_request *request_;
  Local<Context> context_;
  Local<Object> internals_;
  MicrotaskQueue *queue_;
  Clock::time_point deadline_;
  cv8::RunState *state_ = nullptr;

  Global<Value> result_;
  Global<Promise> module_evaluation_;
  bool module_has_result_ = false;

  std::optional<cv8_status> fail_status_;
  std::string error_;
};

}  // namespace

namespace cv8 {

cv8_run_result run_in_context(RunControl &control, Local<Context> context, Local<Object> internals,
                              MicrotaskQueue *queue, const cv8_run_request *request, bool snapshotting) {
  Isolate *isolate = control.isolate;
  int stack_marker;
  isolate->SetStackLimit(reinterpret_cast<uintptr_t>(&stack_marker) - kStackBudgetBytes);
  RunState state;
  state.request = request;
  state.internals.Reset(isolate, internals);
  state.host_calls->allocator = static_cast<CappedAllocator *>(isolate->GetData(cv8::kAllocatorSlot));
  state.host_calls->buffer_cap = static_cast<size_t>(control.heap_limit_mb) * 1024 * 1024;
  isolate->SetData(cv8::kRunSlot, &state);
  {
    std::lock_guard<std::mutex> lock(control.stop_mutex);
    control.host_calls = state.host_calls;
    control.running = true;
    control.stop_reason = 0;
    control.heap_limit_extended = false;
  }
  uint64_t token = watchdog::arm(&control, Clock::now() + std::chrono::milliseconds(request->timeout_ms));
  cv8_run_result result;
  {
    Context::Scope context_scope(context);
    Run run(&control, request, context, internals, queue, snapshotting);
    result = run.execute(&state);
  }
  watchdog::disarm(token);
  {
    std::lock_guard<std::mutex> lock(control.stop_mutex);
    control.running = false;
    control.host_calls.reset();
  }
  {
    // Calls still out end into a closed channel (cv8_host_call_complete drops them).
    std::lock_guard<std::mutex> lock(state.host_calls->mutex);
    state.host_calls->open = false;
    state.host_calls->completions.clear();
  }
  // A terminate can land after the run's last check (or inside an uninterruptible builtin);
  // it must not carry over into what the isolate does next.
  isolate->CancelTerminateExecution();
  state.unhandled_rejections.clear();
  state.host_calls_waiting.clear();
  isolate->SetData(cv8::kRunSlot, nullptr);
  return result;
}

}  // namespace cv8
