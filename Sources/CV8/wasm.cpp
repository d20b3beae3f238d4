// Pre-loaded WebAssembly modules: compiled once per server, recreated in every engine's runs.
#include <memory>

#include "internal.h"

using namespace v8;
using cv8::to_utf8;

extern "C" {

cv8_wasm_module *cv8_wasm_module_compile(const cv8_runtime *runtime, const char *name, const uint8_t *bytes,
                                         size_t length, char **error_out) {
  // A throwaway isolate compiles it; the compiled module belongs to V8's process-wide wasm engine
  // and outlives that isolate, so every engine recreates it without compiling again.
  std::unique_ptr<ArrayBuffer::Allocator> allocator(ArrayBuffer::Allocator::NewDefaultAllocator());
  Isolate::CreateParams params;
  params.snapshot_blob = const_cast<StartupData *>(&runtime->blob);
  params.external_references = cv8::external_references;
  params.array_buffer_allocator = allocator.get();
  Isolate *isolate = Isolate::New(params);
  cv8_wasm_module *module = nullptr;
  {
    Locker locker(isolate);
    Isolate::Scope isolate_scope(isolate);
    HandleScope handle_scope(isolate);
    Local<Context> context = Context::New(isolate);
    Context::Scope context_scope(context);
    TryCatch try_catch(isolate);
    Local<WasmModuleObject> object;
    if (WasmModuleObject::Compile(isolate, MemorySpan<const uint8_t>(bytes, length)).ToLocal(&object)) {
      module = new cv8_wasm_module{name, std::make_unique<CompiledWasmModule>(object->GetCompiledModule())};
    } else if (error_out) {
      *error_out = cv8::copy_string(try_catch.HasCaught() ? to_utf8(isolate, try_catch.Exception())
                                                          : "it does not compile as WebAssembly");
    }
  }
  isolate->Dispose();
  return module;
}

void cv8_wasm_module_free(cv8_wasm_module *module) { delete module; }

}  // extern "C"
