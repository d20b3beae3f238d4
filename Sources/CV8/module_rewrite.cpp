// Finds the last top-level expression statement of ES-module code with acorn, run in a small
// isolate of its own so the parser never shares a heap (or a heap limit) with guest code.
#include "internal.h"

using namespace v8;

namespace cv8 {

namespace {

constexpr size_t kToolingHeapBytes = 128u * 1024 * 1024;

/// Returns [statementStart, statementEnd, expressionStart, expressionEnd] in UTF-16 code units,
/// or null when the module has no top-level expression statement.
constexpr const char *kLocateLastExpression = R"JS(
(function (source) {
  const program = acorn.parse(source, {
    ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true,
    allowAwaitOutsideFunction: true, allowImportExportEverywhere: false,
  });
  let last = null;
  for (const node of program.body) {
    if (node.type === 'ExpressionStatement' && node.directive === undefined) last = node;
  }
  if (last === null) return null;
  return [last.start, last.end, last.expression.start, last.expression.end];
})
)JS";

struct Tooling {
  std::mutex mutex;
  std::unique_ptr<ArrayBuffer::Allocator> allocator;
  Isolate *isolate = nullptr;
  Global<Context> context;
  Global<Function> locate;
  bool failed = false;
};

Tooling &tooling() {
  static Tooling *instance = new Tooling();  // lives as long as the process
  return *instance;
}

bool start_tooling(Tooling &t) {
  t.allocator.reset(ArrayBuffer::Allocator::NewDefaultAllocator());
  Isolate::CreateParams params;
  params.array_buffer_allocator = t.allocator.get();
  params.constraints.ConfigureDefaultsFromHeapSize(0, kToolingHeapBytes);
  t.isolate = Isolate::New(params);
  Locker locker(t.isolate);
  Isolate::Scope isolate_scope(t.isolate);
  HandleScope handle_scope(t.isolate);
  Local<Context> context = Context::New(t.isolate);
  Context::Scope context_scope(context);
  TryCatch try_catch(t.isolate);
  for (const std::string &text : {acorn_source(), std::string(kLocateLastExpression)}) {
    Local<String> source;
    Local<Script> script;
    Local<Value> value;
    if (!String::NewFromUtf8(t.isolate, text.data(), NewStringType::kNormal, static_cast<int>(text.size()))
             .ToLocal(&source) ||
        !Script::Compile(context, source).ToLocal(&script) || !script->Run(context).ToLocal(&value))
      return false;
    if (value->IsFunction()) t.locate.Reset(t.isolate, value.As<Function>());
  }
  t.context.Reset(t.isolate, context);
  return !t.locate.IsEmpty();
}

}  // namespace

std::string capture_last_expression(const std::string &module_source, const std::string &property) {
  Tooling &t = tooling();
  std::lock_guard<std::mutex> lock(t.mutex);
  if (!t.isolate && !t.failed) t.failed = !start_tooling(t);
  if (t.failed) return "";

  Locker locker(t.isolate);
  Isolate::Scope isolate_scope(t.isolate);
  HandleScope handle_scope(t.isolate);
  Local<Context> context = t.context.Get(t.isolate);
  Context::Scope context_scope(context);
  TryCatch try_catch(t.isolate);
  Local<String> source;
  if (!String::NewFromUtf8(t.isolate, module_source.data(), NewStringType::kNormal,
                           static_cast<int>(module_source.size()))
           .ToLocal(&source))
    return "";
  Local<Value> argument = source;
  Local<Value> found;
  if (!t.locate.Get(t.isolate)->Call(context, Undefined(t.isolate), 1, &argument).ToLocal(&found) ||
      !found->IsArray())
    return "";
  Local<Array> positions = found.As<Array>();
  uint32_t at[4];
  for (uint32_t i = 0; i < 4; i++)
    at[i] = positions->Get(context, i).ToLocalChecked()->Uint32Value(context).FromMaybe(0);

  // Positions are UTF-16 offsets: splice in UTF-16, then convert back to UTF-8.
  String::Value utf16(t.isolate, source);
  std::u16string text(reinterpret_cast<const char16_t *>(*utf16), utf16.length());
  std::u16string prefix = u"import.meta.";
  prefix.append(property.begin(), property.end());
  prefix += u" = (";
  std::u16string rewritten = text.substr(0, at[0]) + prefix + text.substr(at[2], at[3] - at[2]) + u");" +
                             text.substr(at[1]);
  Local<String> result =
      String::NewFromTwoByte(t.isolate, reinterpret_cast<const uint16_t *>(rewritten.data()), NewStringType::kNormal,
                             static_cast<int>(rewritten.size()))
          .ToLocalChecked();
  String::Utf8Value utf8(t.isolate, result);
  return std::string(*utf8, utf8.length());
}

}  // namespace cv8
