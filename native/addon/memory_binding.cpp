// releaseFreeMemory(): hands the C heap's free pages back to the system (glibc's malloc_trim). A
// normalization adaptation allocates and frees tens of MB of activations at a time; glibc keeps freed
// blocks of that size in its heaps (its mmap threshold grows past them), so the process's resident
// memory would stay at the adaptation's peak. Returns whether anything was released; false where the
// C library has no such call.
#include <napi.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "bindings.h"

namespace {

Napi::Value ReleaseFreeMemory(const Napi::CallbackInfo& info) {
#if defined(__GLIBC__)
  return Napi::Boolean::New(info.Env(), malloc_trim(0) != 0);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

}  // namespace

void RegisterMemory(Napi::Env env, Napi::Object exports) { exports.Set("releaseFreeMemory", Napi::Function::New(env, ReleaseFreeMemory, "releaseFreeMemory")); }
