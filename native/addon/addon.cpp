// Module entry point: hands the exports object to each binding file's Register* function.
#include <napi.h>

#include "bindings.h"

namespace {

using Registrar = void (*)(Napi::Env, Napi::Object);

// One entry per binding file (declared in bindings.h).
const Registrar kRegistrars[] = {
    RegisterFeatures,
    RegisterVad,
    RegisterCapture,
    RegisterMemory,
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (Registrar r : kRegistrars) {
    r(env, exports);
    if (env.IsExceptionPending()) break;
  }
  return exports;
}

}  // namespace

NODE_API_MODULE(spoken_digits, Init)
