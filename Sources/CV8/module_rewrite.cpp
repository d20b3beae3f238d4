// Reads ES-module code with acorn, run in a small isolate of its own so the parser never shares
// a heap (or a heap limit) with guest code: which expression statements give the program its
// completion value, and whether it awaits at the top level.
#include "internal.h"

using namespace v8;

namespace cv8 {

namespace {

constexpr size_t kToolingHeapBytes = 128u * 1024 * 1024;

/// Evaluates to { captureCompletion(source, target), hasTopLevelAwait(source) }.
constexpr const char *kToolingFunctions = R"JS(
(function () {
  const parse = (source) => acorn.parse(source, {
    ecmaVersion: 'latest', sourceType: 'module', allowHashBang: true,
    allowAwaitOutsideFunction: true, allowImportExportEverywhere: false,
  });
  // The expression statements a script's completion value can come from: those outside functions
  // and classes, in blocks, branches, try and catch blocks, loops, labels and switch cases.
  function completionStatements(statement, found) {
    switch (statement.type) {
      case 'ExpressionStatement':
        if (statement.directive === undefined) found.push(statement);
        break;
      case 'Program': case 'BlockStatement':
        for (const inner of statement.body) completionStatements(inner, found);
        break;
      case 'IfStatement':
        completionStatements(statement.consequent, found);
        if (statement.alternate) completionStatements(statement.alternate, found);
        break;
      case 'TryStatement':
        completionStatements(statement.block, found);
        if (statement.handler) completionStatements(statement.handler.body, found);
        break;
      case 'LabeledStatement': case 'WhileStatement': case 'DoWhileStatement':
      case 'ForStatement': case 'ForInStatement': case 'ForOfStatement':
        completionStatements(statement.body, found);
        break;
      case 'SwitchStatement':
        for (const switchCase of statement.cases) for (const inner of switchCase.consequent) completionStatements(inner, found);
        break;
    }
    return found;
  }
  const isFunction = (node) => node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression' ||
    node.type === 'ArrowFunctionExpression';
  return {
    // The source with each of those statements `e;` as `target = (e);`, or null when it has none.
    captureCompletion(source, target) {
      const statements = completionStatements(parse(source), []);
      if (statements.length === 0) return null;
      let rewritten = '', at = 0;
      for (const statement of statements) {
        rewritten += source.slice(at, statement.start) + target + ' = (' +
          source.slice(statement.expression.start, statement.expression.end) + ');';
        at = statement.end;
      }
      return rewritten + source.slice(at);
    },
    // Whether the code, read as a module, awaits outside any function.
    hasTopLevelAwait(source) {
      const pending = [parse(source)];
      while (pending.length > 0) {
        const node = pending.pop();
        if (node.type === 'AwaitExpression' || (node.type === 'ForOfStatement' && node.await)) return true;
        if (isFunction(node)) continue;
        for (const key of Object.keys(node)) {
          const value = node[key];
          if (value === null || typeof value !== 'object') continue;
          for (const child of Array.isArray(value) ? value : [value])
            if (child !== null && typeof child === 'object' && typeof child.type === 'string') pending.push(child);
        }
      }
      return false;
    },
  };
})()
)JS";

struct Tooling {
  std::mutex mutex;
  std::unique_ptr<ArrayBuffer::Allocator> allocator;
  Isolate *isolate = nullptr;
  Global<Context> context;
  Global<Object> functions;
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
  for (const std::string &text : {acorn_source(), std::string(kToolingFunctions)}) {
    Local<String> source;
    Local<Script> script;
    Local<Value> value;
    if (!String::NewFromUtf8(t.isolate, text.data(), NewStringType::kNormal, static_cast<int>(text.size()))
             .ToLocal(&source) ||
        !Script::Compile(context, source).ToLocal(&script) || !script->Run(context).ToLocal(&value))
      return false;
    if (value->IsObject()) t.functions.Reset(t.isolate, value.As<Object>());
  }
  t.context.Reset(t.isolate, context);
  return !t.functions.IsEmpty();
}

/// Calls the tooling function `name` with `module_source` and `extra` (if not empty) in the tooling
/// isolate; `use` reads the answer there. False when the tooling or the call failed (the source
/// does not parse, or nests too deeply for the parser).
template <typename Use>
bool call_tooling(const char *name, const std::string &module_source, const std::string &extra, Use use) {
  Tooling &t = tooling();
  std::lock_guard<std::mutex> lock(t.mutex);
  if (!t.isolate && !t.failed) t.failed = !start_tooling(t);
  if (t.failed) return false;

  Locker locker(t.isolate);
  Isolate::Scope isolate_scope(t.isolate);
  HandleScope handle_scope(t.isolate);
  Local<Context> context = t.context.Get(t.isolate);
  Context::Scope context_scope(context);
  TryCatch try_catch(t.isolate);
  Local<Value> arguments[2], function, answer;
  auto string = [&](const std::string &text, Local<Value> *out) {
    Local<String> value;
    if (!String::NewFromUtf8(t.isolate, text.data(), NewStringType::kNormal, static_cast<int>(text.size()))
             .ToLocal(&value))
      return false;
    *out = value;
    return true;
  };
  int argc = extra.empty() ? 1 : 2;
  Local<Object> functions = t.functions.Get(t.isolate);
  if (!string(module_source, &arguments[0]) || (argc == 2 && !string(extra, &arguments[1])) ||
      !functions->Get(context, String::NewFromUtf8(t.isolate, name).ToLocalChecked()).ToLocal(&function) ||
      !function->IsFunction() ||
      !function.As<Function>()->Call(context, functions, argc, arguments).ToLocal(&answer))
    return false;
  use(t.isolate, answer);
  return true;
}

}  // namespace

std::string capture_completion_value(const std::string &module_source, const std::string &property) {
  std::string rewritten;
  call_tooling("captureCompletion", module_source, "import.meta." + property, [&](Isolate *isolate, Local<Value> answer) {
    if (answer->IsString()) rewritten = to_utf8(isolate, answer);
  });
  return rewritten;
}

bool has_top_level_await(const std::string &module_source) {
  bool found = false;
  call_tooling("hasTopLevelAwait", module_source, "", [&](Isolate *, Local<Value> answer) { found = answer->IsTrue(); });
  return found;
}

}  // namespace cv8
