// PortAudio loaded at run time (cmake -DSPOKEN_DIGITS_PORTAUDIO_DLOPEN=ON, used for the prebuilt addon):
// the addon links no libportaudio, so it loads on a machine without one and keeps its DSP; capture
// comes when the library is there. Every PortAudio function pa_capture.cpp and the binding call is
// defined here and forwards to the library's own, found with dlopen/dlsym once, when the binding
// registers (portAudioLoadError). The addon exports only its Node-API entry points, so these
// definitions never stand in for another module's PortAudio. The library is never closed: a stream
// still running at exit keeps valid code.
#ifdef SPOKEN_DIGITS_PORTAUDIO_DLOPEN

#include "pa_dlopen.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include <portaudio.h>

namespace {

struct Api {
  void* library = nullptr;
  std::string path;
  std::string error;
  decltype(&Pa_GetVersionText) GetVersionText = nullptr;
  decltype(&Pa_GetErrorText) GetErrorText = nullptr;
  decltype(&Pa_Initialize) Initialize = nullptr;
  decltype(&Pa_Terminate) Terminate = nullptr;
  decltype(&Pa_GetHostApiInfo) GetHostApiInfo = nullptr;
  decltype(&Pa_GetDeviceCount) GetDeviceCount = nullptr;
  decltype(&Pa_GetDefaultInputDevice) GetDefaultInputDevice = nullptr;
  decltype(&Pa_GetDeviceInfo) GetDeviceInfo = nullptr;
  decltype(&Pa_IsFormatSupported) IsFormatSupported = nullptr;
  decltype(&Pa_OpenStream) OpenStream = nullptr;
  decltype(&Pa_CloseStream) CloseStream = nullptr;
  decltype(&Pa_SetStreamFinishedCallback) SetStreamFinishedCallback = nullptr;
  decltype(&Pa_StartStream) StartStream = nullptr;
  decltype(&Pa_StopStream) StopStream = nullptr;
  decltype(&Pa_AbortStream) AbortStream = nullptr;
  decltype(&Pa_IsStreamStopped) IsStreamStopped = nullptr;
  decltype(&Pa_IsStreamActive) IsStreamActive = nullptr;
};

#ifdef __APPLE__
const char* const kDefaultNames[] = {"libportaudio.2.dylib", "libportaudio.dylib"};
#else
const char* const kDefaultNames[] = {"libportaudio.so.2", "libportaudio.so"};
#endif

// The first missing function is named in the error.
template <typename F>
bool bind(Api& a, F& slot, const char* name) {
  void* symbol = dlsym(a.library, name);
  if (!symbol) {
    a.error = a.path + " has no " + name;
    return false;
  }
  // POSIX guarantees that dlsym's object pointer converts to a function pointer.
  static_assert(sizeof(symbol) == sizeof(slot), "function and object pointers differ in size");
  std::memcpy(&slot, &symbol, sizeof(slot));
  return true;
}

Api load() {
  Api a;
  // SPOKEN_DIGITS_PORTAUDIO_LIB names the library to load instead of the system's.
  const char* given = std::getenv("SPOKEN_DIGITS_PORTAUDIO_LIB");
  std::string tried;
  if (given && *given) {
    a.path = given;
    a.library = dlopen(given, RTLD_NOW | RTLD_LOCAL);
    if (!a.library) tried = dlerror();
  } else {
    for (const char* name : kDefaultNames) {
      a.library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      if (a.library) {
        a.path = name;
        break;
      }
      if (!tried.empty()) tried += "; ";
      tried += dlerror();
    }
  }
  if (!a.library) {
    a.error = "PortAudio could not be loaded (" + tried + ")";
    return a;
  }
  const bool ok = bind(a, a.GetVersionText, "Pa_GetVersionText") && bind(a, a.GetErrorText, "Pa_GetErrorText") &&
                  bind(a, a.Initialize, "Pa_Initialize") && bind(a, a.Terminate, "Pa_Terminate") &&
                  bind(a, a.GetHostApiInfo, "Pa_GetHostApiInfo") && bind(a, a.GetDeviceCount, "Pa_GetDeviceCount") &&
                  bind(a, a.GetDefaultInputDevice, "Pa_GetDefaultInputDevice") && bind(a, a.GetDeviceInfo, "Pa_GetDeviceInfo") &&
                  bind(a, a.IsFormatSupported, "Pa_IsFormatSupported") && bind(a, a.OpenStream, "Pa_OpenStream") &&
                  bind(a, a.CloseStream, "Pa_CloseStream") && bind(a, a.SetStreamFinishedCallback, "Pa_SetStreamFinishedCallback") &&
                  bind(a, a.StartStream, "Pa_StartStream") && bind(a, a.StopStream, "Pa_StopStream") &&
                  bind(a, a.AbortStream, "Pa_AbortStream") && bind(a, a.IsStreamStopped, "Pa_IsStreamStopped") &&
                  bind(a, a.IsStreamActive, "Pa_IsStreamActive");
  if (!ok) {
    dlclose(a.library);
    a.library = nullptr;
    a.error = "PortAudio could not be loaded (" + a.error + ")";
  }
  return a;
}

const Api& api() {
  static std::once_flag once;
  // Never destroyed: nothing at exit can read a freed error string or function table.
  static const Api* a = nullptr;
  std::call_once(once, [] { a = new Api(load()); });
  return *a;
}

}  // namespace

namespace spoken_digits {

const char* portAudioLoadError() {
  const Api& a = api();
  return a.library ? nullptr : a.error.c_str();
}

const char* portAudioLibrary() { return api().path.c_str(); }

}  // namespace spoken_digits

// The binding registers capture only when portAudioLoadError() is null, so past that point every
// pointer is set; the checks keep a direct caller from jumping to null all the same.
#define SD_PA_CALL(fn, fallback, ...) \
  const Api& a = api();               \
  return a.library ? a.fn(__VA_ARGS__) : (fallback)

const char* Pa_GetVersionText(void) { SD_PA_CALL(GetVersionText, "PortAudio (not loaded)"); }
const char* Pa_GetErrorText(PaError errorCode) {
  const Api& a = api();
  return a.library ? a.GetErrorText(errorCode) : a.error.c_str();
}
PaError Pa_Initialize(void) { SD_PA_CALL(Initialize, paNotInitialized); }
PaError Pa_Terminate(void) { SD_PA_CALL(Terminate, paNotInitialized); }
const PaHostApiInfo* Pa_GetHostApiInfo(PaHostApiIndex hostApi) { SD_PA_CALL(GetHostApiInfo, nullptr, hostApi); }
PaDeviceIndex Pa_GetDeviceCount(void) { SD_PA_CALL(GetDeviceCount, paNotInitialized); }
PaDeviceIndex Pa_GetDefaultInputDevice(void) { SD_PA_CALL(GetDefaultInputDevice, paNoDevice); }
const PaDeviceInfo* Pa_GetDeviceInfo(PaDeviceIndex device) { SD_PA_CALL(GetDeviceInfo, nullptr, device); }
PaError Pa_IsFormatSupported(const PaStreamParameters* inputParameters, const PaStreamParameters* outputParameters, double sampleRate) {
  SD_PA_CALL(IsFormatSupported, paNotInitialized, inputParameters, outputParameters, sampleRate);
}
PaError Pa_OpenStream(PaStream** stream, const PaStreamParameters* inputParameters, const PaStreamParameters* outputParameters,
                      double sampleRate, unsigned long framesPerBuffer, PaStreamFlags streamFlags, PaStreamCallback* streamCallback,
                      void* userData) {
  SD_PA_CALL(OpenStream, paNotInitialized, stream, inputParameters, outputParameters, sampleRate, framesPerBuffer, streamFlags,
             streamCallback, userData);
}
PaError Pa_CloseStream(PaStream* stream) { SD_PA_CALL(CloseStream, paNotInitialized, stream); }
PaError Pa_SetStreamFinishedCallback(PaStream* stream, PaStreamFinishedCallback* streamFinishedCallback) {
  SD_PA_CALL(SetStreamFinishedCallback, paNotInitialized, stream, streamFinishedCallback);
}
PaError Pa_StartStream(PaStream* stream) { SD_PA_CALL(StartStream, paNotInitialized, stream); }
PaError Pa_StopStream(PaStream* stream) { SD_PA_CALL(StopStream, paNotInitialized, stream); }
PaError Pa_AbortStream(PaStream* stream) { SD_PA_CALL(AbortStream, paNotInitialized, stream); }
PaError Pa_IsStreamStopped(PaStream* stream) { SD_PA_CALL(IsStreamStopped, paNotInitialized, stream); }
PaError Pa_IsStreamActive(PaStream* stream) { SD_PA_CALL(IsStreamActive, paNotInitialized, stream); }

#endif  // SPOKEN_DIGITS_PORTAUDIO_DLOPEN
