// Module entry point: hands the exports object to each binding file's Register* function.
#include <napi.h>

#include "bindings.h"

namespace {

using Registrar = void (*)(Napi::Env, Napi::Object);

// One entry per binding file. Capture bindings depend on PortAudio being found by CMake.
const Registrar kRegistrars[] = {
    RegisterFeatures,
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (Registrar r : kRegistrars) {
    r(env, exports);
    if (env.IsExceptionPending()) break;
  }
#ifdef SPOKEN_DIGITS_HAVE_PORTAUDIO
  exports.Set("hasCapture", Napi::Boolean::New(env, true));
#else
  exports.Set("hasCapture", Napi::Boolean::New(env, false));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(spoken_digits, Init)
