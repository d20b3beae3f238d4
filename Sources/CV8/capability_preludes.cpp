// Capability preludes: each runs once per context as `function (host) { ... }`, and a context
// (or a snapshot or heap made from one) records which list it ran, so it is not run again.
#include <openssl/sha.h>

#include "internal.h"

using namespace v8;
using cv8::to_utf8;

namespace cv8 {

/// Names a list of capability preludes: SHA-256 over the count and each prelude's length and bytes.
/// A worker passes the same list on every run, so the last one is kept: comparing its bytes costs
/// far less than hashing them again on each run's path.
static const std::string &capability_fingerprint(const cv8_capability *capabilities, size_t count) {
  thread_local std::vector<std::string> last_preludes;
  thread_local std::string last_fingerprint;
  bool same = !last_fingerprint.empty() && last_preludes.size() == count;
  for (size_t index = 0; same && index < count; index++)
    same = last_preludes[index].compare(0, std::string::npos, capabilities[index].prelude,
                                        capabilities[index].prelude_length) == 0;
  if (same) return last_fingerprint;
  last_preludes.clear();
  std::string named = std::to_string(count);
  for (size_t index = 0; index < count; index++) {
    last_preludes.emplace_back(capabilities[index].prelude, capabilities[index].prelude_length);
    named += ':' + std::to_string(capabilities[index].prelude_length) + ':' + last_preludes.back();
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char *>(named.data()), named.size(), digest);
  last_fingerprint = hex(digest, sizeof digest);
  return last_fingerprint;
}

bool install_capability_preludes(Local<Context> context, Local<Object> internals, const cv8_capability *capabilities,
                                 size_t count, std::string *error) {
  Isolate *isolate = context->GetIsolate();
  // A context from a snapshot (the runtime's, or a stored heap) that already ran exactly these
  // preludes keeps what they made: running them again would only cost time, with whatever
  // globals the guest has changed since.
  Local<String> key = String::NewFromUtf8Literal(isolate, "installedCapabilities");
  const std::string fingerprint = capability_fingerprint(capabilities, count);
  Local<Value> installed;
  if (internals->Get(context, key).ToLocal(&installed) && installed->IsString() &&
      to_utf8(isolate, installed) == fingerprint)
    return true;
  for (size_t index = 0; index < count; index++) {
    const cv8_capability &capability = capabilities[index];
    TryCatch try_catch(isolate);
    Local<String> body;
    Local<String> parameter = String::NewFromUtf8Literal(isolate, "host");
    Local<Function> prelude;
    Local<Value> host, make_host_value, ignored;
    Local<Value> index_value = Integer::NewFromUnsigned(isolate, static_cast<uint32_t>(index));
    bool installed =
        String::NewFromUtf8(isolate, capability.prelude, NewStringType::kNormal, static_cast<int>(capability.prelude_length))
            .ToLocal(&body) &&
        internals->Get(context, String::NewFromUtf8Literal(isolate, "capabilityHost")).ToLocal(&make_host_value) &&
        make_host_value->IsFunction() &&
        make_host_value.As<Function>()->Call(context, internals, 1, &index_value).ToLocal(&host);
    if (installed) {
      ScriptOrigin origin(isolate, String::NewFromUtf8Literal(isolate, "mcp-v8:capability.js"));
      ScriptCompiler::Source source(body, origin);
      installed = ScriptCompiler::CompileFunction(context, &source, 1, &parameter).ToLocal(&prelude) &&
                  prelude->Call(context, Undefined(isolate), 1, &host).ToLocal(&ignored);
    }
    if (!installed) {
      std::string reason = try_catch.HasCaught() ? to_utf8(isolate, try_catch.Exception()) : "it could not be compiled";
      *error = "capability " + std::to_string(index) + " failed to install: " + reason;
      return false;
    }
  }
  if (!internals->Set(context, key, String::NewFromUtf8(isolate, fingerprint.c_str()).ToLocalChecked()).FromMaybe(false)) {
    *error = "the installed capabilities could not be recorded";
    return false;
  }
  return true;
}

}  // namespace cv8
