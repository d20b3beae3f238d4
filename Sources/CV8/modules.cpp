// ES module imports: the natives the runtime's module loader (prelude/80-modules.js) builds a run's module
// graph with, and the callbacks V8 calls to resolve, describe and dynamically import modules.
// Sources come from a modules capability through the loader; this file only compiles and links.
#include "internal.h"

using namespace v8;

namespace cv8 {

namespace {

/// The name the main program's module has in the registry: one no loader can answer with.
constexpr const char *kMainModuleURL = "mcp-v8:main";

/// The run's registry, or null (and an exception) outside a run.
ModuleRegistry *registry_of(Isolate *isolate) {
  RunState *run = current_run(isolate);
  if (!run) throw_error(isolate, "modules are only available during a run");
  return run ? &run->modules : nullptr;
}

/// The handle argument at `index`, or SIZE_MAX (and an exception) when it names no module.
size_t handle_argument(const FunctionCallbackInfo<Value> &info, int index, ModuleRegistry *registry) {
  if (!info[index]->IsUint32() || info[index].As<Uint32>()->Value() >= registry->modules.size()) {
    throw_error(info.GetIsolate(), "no such module in this run");
    return SIZE_MAX;
  }
  return info[index].As<Uint32>()->Value();
}

ScriptOrigin module_origin(Isolate *isolate, Local<String> url) {
  return ScriptOrigin(isolate, url, 0, 0, false, -1, Local<Value>(), false, false, true);
}

/// A compile error's text, saying where: "Unexpected token (url:3:7)".
std::string syntax_error_text(Isolate *isolate, Local<Context> context, Local<Message> message, const std::string &url) {
  std::string text = to_utf8(isolate, message->Get());
  for (const char *prefix : {"Uncaught SyntaxError: ", "SyntaxError: "})
    if (text.rfind(prefix, 0) == 0) text.erase(0, strlen(prefix));
  int line = message->GetLineNumber(context).FromMaybe(0);
  int column = std::max(0, message->GetStartColumn(context).FromMaybe(0)) + 1;
  return text + " (" + url + ":" + std::to_string(line) + ":" + std::to_string(column) + ")";
}

/// Which registered module `module` is; SIZE_MAX for one this run did not compile.
size_t handle_of(Isolate *isolate, ModuleRegistry &registry, Local<Module> module) {
  auto range = registry.by_identity_hash.equal_range(module->GetIdentityHash());
  for (auto it = range.first; it != range.second; ++it)
    if (registry.modules[it->second] == module) return it->second;
  return SIZE_MAX;
}

size_t add_module(Isolate *isolate, ModuleRegistry &registry, Local<Module> module, const std::string &url) {
  size_t handle = registry.modules.size();
  registry.modules.emplace_back(isolate, module);
  registry.urls.push_back(url);
  registry.by_url[url] = handle;
  registry.by_identity_hash.emplace(module->GetIdentityHash(), handle);
  return handle;
}

Local<Object> run_internals(Isolate *isolate, RunState *run) { return run->internals.Get(isolate); }

MaybeLocal<Promise> import_dynamically(Local<Context> context, Local<Data>, Local<Value> resource_name,
                                       Local<String> specifier, Local<FixedArray>) {
  Isolate *isolate = context->GetIsolate();
  RunState *run = current_run(isolate);
  Local<Value> referrer = Null(isolate);
  if (run && resource_name->IsString()) {
    // Only a module the loader gave has a URL to resolve against; the main program has none.
    std::string name = to_utf8(isolate, resource_name);
    if (run->modules.by_url.count(name)) referrer = resource_name;
  }
  Local<Value> import_function, promise;
  Local<Value> arguments[2] = {specifier, referrer};
  if (!run || run->internals.IsEmpty() ||
      !run_internals(isolate, run)->Get(context, String::NewFromUtf8Literal(isolate, "importDynamically")).ToLocal(&import_function) ||
      !import_function->IsFunction()) {
    throw_error(isolate, "cannot import '" + to_utf8(isolate, specifier) + "' outside a run");
    return MaybeLocal<Promise>();
  }
  if (!import_function.As<Function>()->Call(context, run_internals(isolate, run), 2, arguments).ToLocal(&promise) ||
      !promise->IsPromise())
    return MaybeLocal<Promise>();
  return promise.As<Promise>();
}

void initialize_import_meta(Local<Context> context, Local<Module> module, Local<Object> meta) {
  Isolate *isolate = context->GetIsolate();
  RunState *run = current_run(isolate);
  if (!run) return;
  size_t handle = handle_of(isolate, run->modules, module);
  if (handle == SIZE_MAX) return;
  if (run->modules.urls[handle] == kMainModuleURL) {
    run->main_import_meta.Reset(isolate, meta);
    return;
  }
  meta->CreateDataProperty(context, String::NewFromUtf8Literal(isolate, "url"),
                           String::NewFromUtf8(isolate, run->modules.urls[handle].c_str()).ToLocalChecked())
      .Check();
}

}  // namespace

MaybeLocal<Module> resolve_imported_module(Local<Context> context, Local<String> specifier, Local<FixedArray>,
                                  Local<Module> referrer) {
  Isolate *isolate = context->GetIsolate();
  RunState *run = current_run(isolate);
  std::string name = to_utf8(isolate, specifier);
  if (run) {
    size_t handle = handle_of(isolate, run->modules, referrer);
    auto link = run->modules.links.find({handle, name});
    if (handle != SIZE_MAX && link != run->modules.links.end()) return run->modules.modules[link->second].Get(isolate);
  }
  throw_error(isolate, "cannot import '" + name + "': it was not loaded");
  return MaybeLocal<Module>();
}

/// compileModule(url, source): [handle, isNew]. A URL this run already compiled gives its module
/// again (isNew false): a module is evaluated once per run, however many import it.
void native_compile_module(const FunctionCallbackInfo<Value> &info) {
  Isolate *isolate = info.GetIsolate();
  ModuleRegistry *registry = registry_of(isolate);
  if (!registry) return;
  if (!info[0]->IsString() || !info[1]->IsString()) return throw_error(isolate, "compileModule expects a URL and a source");
  std::string url = to_utf8(isolate, info[0]);
  Local<Context> context = isolate->GetCurrentContext();
  auto existing = registry->by_url.find(url);
  size_t handle;
  bool is_new = existing == registry->by_url.end();
  if (is_new) {
    std::string syntax_error;
    Local<Module> module;
    {
      TryCatch try_catch(isolate);
      ScriptCompiler::Source source(info[1].As<String>(), module_origin(isolate, info[0].As<String>()));
      if (!ScriptCompiler::CompileModule(isolate, &source).ToLocal(&module)) {
        if (try_catch.HasTerminated() || try_catch.Message().IsEmpty()) {
          try_catch.ReThrow();
          return;
        }
        syntax_error = syntax_error_text(isolate, context, try_catch.Message(), url);
      }
    }
    if (module.IsEmpty()) {
      isolate->ThrowException(Exception::SyntaxError(String::NewFromUtf8(isolate, syntax_error.c_str()).ToLocalChecked()));
      return;
    }
    handle = add_module(isolate, *registry, module, url);
  } else {
    handle = existing->second;
  }
  Local<Value> pair[2] = {Integer::NewFromUnsigned(isolate, static_cast<uint32_t>(handle)), Boolean::New(isolate, is_new)};
  info.GetReturnValue().Set(Array::New(isolate, pair, 2));
}

/// moduleRequests(handle): the specifiers the module imports statically, in source order.
void native_module_requests(const FunctionCallbackInfo<Value> &info) {
  Isolate *isolate = info.GetIsolate();
  ModuleRegistry *registry = registry_of(isolate);
  size_t handle = registry ? handle_argument(info, 0, registry) : SIZE_MAX;
  if (handle == SIZE_MAX) return;
  Local<Context> context = isolate->GetCurrentContext();
  Local<FixedArray> requests = registry->modules[handle].Get(isolate)->GetModuleRequests();
  Local<Array> specifiers = Array::New(isolate, requests->Length());
  for (int index = 0; index < requests->Length(); index++) {
    Local<ModuleRequest> request = requests->Get(context, index).As<ModuleRequest>();
    specifiers->Set(context, index, request->GetSpecifier()).Check();
  }
  info.GetReturnValue().Set(specifiers);
}

/// linkModule(handle, specifier, target): the module `handle` imports `specifier` as `target`.
void native_link_module(const FunctionCallbackInfo<Value> &info) {
  Isolate *isolate = info.GetIsolate();
  ModuleRegistry *registry = registry_of(isolate);
  if (!registry) return;
  size_t referrer = handle_argument(info, 0, registry);
  size_t target = referrer == SIZE_MAX ? SIZE_MAX : handle_argument(info, 2, registry);
  if (target == SIZE_MAX) return;
  if (!info[1]->IsString()) return throw_error(isolate, "linkModule expects a specifier");
  registry->links[{referrer, to_utf8(isolate, info[1])}] = target;
}

/// instantiateModule(handle): links the module and everything it imports; throws what fails.
void native_instantiate_module(const FunctionCallbackInfo<Value> &info) {
  Isolate *isolate = info.GetIsolate();
  ModuleRegistry *registry = registry_of(isolate);
  size_t handle = registry ? handle_argument(info, 0, registry) : SIZE_MAX;
  if (handle == SIZE_MAX) return;
  registry->modules[handle].Get(isolate)->InstantiateModule(isolate->GetCurrentContext(), resolve_imported_module).IsNothing();
}

/// evaluateModule(handle): the promise of the module's evaluation (the same one each time).
void native_evaluate_module(const FunctionCallbackInfo<Value> &info) {
  Isolate *isolate = info.GetIsolate();
  ModuleRegistry *registry = registry_of(isolate);
  size_t handle = registry ? handle_argument(info, 0, registry) : SIZE_MAX;
  if (handle == SIZE_MAX) return;
  Local<Value> evaluation;
  if (registry->modules[handle].Get(isolate)->Evaluate(isolate->GetCurrentContext()).ToLocal(&evaluation))
    info.GetReturnValue().Set(evaluation);
}

/// moduleNamespace(handle): the namespace object of an evaluated module.
void native_module_namespace(const FunctionCallbackInfo<Value> &info) {
  Isolate *isolate = info.GetIsolate();
  ModuleRegistry *registry = registry_of(isolate);
  size_t handle = registry ? handle_argument(info, 0, registry) : SIZE_MAX;
  if (handle == SIZE_MAX) return;
  Local<Module> module = registry->modules[handle].Get(isolate);
  if (module->GetStatus() < Module::kInstantiated) return throw_error(isolate, "the module is not instantiated");
  info.GetReturnValue().Set(module->GetModuleNamespace());
}

size_t register_main_module(Isolate *isolate, RunState *run, Local<Module> module) {
  return add_module(isolate, run->modules, module, kMainModuleURL);
}

void install_module_callbacks(Isolate *isolate) {
  isolate->SetHostImportModuleDynamicallyCallback(import_dynamically);
  isolate->SetHostInitializeImportMetaObjectCallback(initialize_import_meta);
}

}  // namespace cv8
