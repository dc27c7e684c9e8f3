// Node binding of PortAudio capture (only built when PortAudio was found): argument checks and
// conversion only. Streams still open when the environment shuts down are closed by a cleanup
// hook, so the process never exits with a live audio thread writing into freed memory.
#include <napi.h>

#ifdef SPOKEN_DIGITS_HAVE_PORTAUDIO

#include <memory>
#include <set>
#include <string>

#include "../capture/pa_capture.h"
#ifdef SPOKEN_DIGITS_PORTAUDIO_DLOPEN
#include "../capture/pa_dlopen.h"
#endif

namespace {

using spoken_digits::Capture;
using spoken_digits::CaptureOptions;

class CaptureWrap;
std::set<CaptureWrap*>& openStreams() {
  static std::set<CaptureWrap*> s;
  return s;
}

Napi::Value fail(Napi::Env env, const std::string& msg) {
  Napi::Error::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

class CaptureWrap : public Napi::ObjectWrap<CaptureWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CaptureStream",
                       {InstanceMethod("start", &CaptureWrap::Start), InstanceMethod("stop", &CaptureWrap::Stop),
                        InstanceMethod("close", &CaptureWrap::Close), InstanceMethod("read", &CaptureWrap::Read),
                        InstanceMethod("available", &CaptureWrap::Available), InstanceMethod("stats", &CaptureWrap::Stats),
                        InstanceAccessor("sampleRate", &CaptureWrap::SampleRate, nullptr)});
  }

  explicit CaptureWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CaptureWrap>(info) {
    Napi::Env env = info.Env();
    CaptureOptions o;
    if (info.Length() > 0 && info[0].IsObject()) {
      Napi::Object opts = info[0].As<Napi::Object>();
      auto num = [&](const char* key, double* dst) {
        Napi::Value v = opts.Get(key);
        if (v.IsUndefined()) return true;
        if (!v.IsNumber()) {
          Napi::TypeError::New(env, std::string("capture option ") + key + " must be a number").ThrowAsJavaScriptException();
          return false;
        }
        *dst = v.As<Napi::Number>().DoubleValue();
        return true;
      };
      double device = -1, channels = 1, frames = 0;
      if (!num("device", &device) || !num("sampleRate", &o.sampleRate) || !num("channels", &channels) ||
          !num("framesPerBuffer", &frames) || !num("bufferSeconds", &o.bufferSeconds) || !num("latency", &o.suggestedLatency))
        return;
      o.device = static_cast<int>(device);
      o.channels = static_cast<int>(channels);
      o.framesPerBuffer = frames > 0 ? static_cast<unsigned long>(frames) : 0;
    }
    std::string error;
    if (!capture_.open(o, &error)) {
      Napi::Error::New(env, error).ThrowAsJavaScriptException();
      return;
    }
    openStreams().insert(this);
  }

  ~CaptureWrap() override {
    openStreams().erase(this);
    capture_.close();
  }

  void CloseForShutdown() { capture_.close(); }

 private:
  Napi::Value Start(const Napi::CallbackInfo& info) {
    std::string error;
    if (!capture_.start(&error)) return fail(info.Env(), error);
    return info.Env().Undefined();
  }
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    std::string error;
    if (!capture_.stop(&error)) return fail(info.Env(), error);
    return info.Env().Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    capture_.close();
    openStreams().erase(this);
    return info.Env().Undefined();
  }
  // read(target: Float32Array) -> frames written (mono); never blocks.
  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      Napi::TypeError::New(env, "CaptureStream.read expects a Float32Array to fill").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Float32Array a = info[0].As<Napi::Float32Array>();
    return Napi::Number::New(env, static_cast<double>(capture_.read(a.Data(), a.ElementLength())));
  }
  Napi::Value Available(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(capture_.available())); }
  Napi::Value SampleRate(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), capture_.sampleRate()); }
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const auto s = capture_.stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("framesCaptured", static_cast<double>(s.framesCaptured));
    o.Set("framesRead", static_cast<double>(s.framesRead));
    o.Set("droppedFrames", static_cast<double>(s.droppedFrames));
    o.Set("overflows", static_cast<double>(s.overflows));
    o.Set("inputOverflows", static_cast<double>(s.inputOverflows));
    o.Set("callbacks", static_cast<double>(s.callbacks));
    o.Set("active", s.active);
    o.Set("latencyMeanMs", s.latencyMeanMs);
    o.Set("latencyMaxMs", s.latencyMaxMs);
    o.Set("latencyBlocks", static_cast<double>(s.latencySamples));
    return o;
  }

  Capture capture_;
};

Napi::Value ListDevices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<spoken_digits::CaptureDeviceInfo> devices;
  std::string error;
  if (!spoken_digits::listCaptureDevices(&devices, &error)) return fail(env, error);
  Napi::Array out = Napi::Array::New(env, devices.size());
  for (size_t i = 0; i < devices.size(); ++i) {
    const auto& d = devices[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", d.index);
    o.Set("name", d.name);
    o.Set("hostApi", d.hostApi);
    o.Set("maxInputChannels", d.maxInputChannels);
    o.Set("defaultSampleRate", d.defaultSampleRate);
    o.Set("defaultLowInputLatency", d.defaultLowInputLatency);
    o.Set("isDefault", d.isDefault);
    Napi::Array rates = Napi::Array::New(env, d.supportedRates.size());
    for (size_t r = 0; r < d.supportedRates.size(); ++r) rates.Set(static_cast<uint32_t>(r), d.supportedRates[r]);
    o.Set("supportedRates", rates);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value FindDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(env, "findDevice expects a device name or index string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string error;
  const int idx = spoken_digits::findCaptureDevice(info[0].As<Napi::String>().Utf8Value(), &error);
  if (idx < 0) return fail(env, error);
  return Napi::Number::New(env, idx);
}

void CloseAllOnShutdown(void*) {
  for (CaptureWrap* w : openStreams()) w->CloseForShutdown();
  openStreams().clear();
}

}  // namespace

void RegisterCapture(Napi::Env env, Napi::Object exports) {
#ifdef SPOKEN_DIGITS_PORTAUDIO_DLOPEN
  // A prebuilt addon: PortAudio is loaded now, and without it the addon keeps its DSP, not its capture.
  if (const char* error = spoken_digits::portAudioLoadError()) {
    exports.Set("hasCapture", Napi::Boolean::New(env, false));
    exports.Set("captureUnavailable", Napi::String::New(env, std::string(error) + "; install libportaudio2 (Debian/Ubuntu) for the addon's capture"));
    return;
  }
  exports.Set("portAudioLibrary", Napi::String::New(env, spoken_digits::portAudioLibrary()));
#endif
  exports.Set("hasCapture", Napi::Boolean::New(env, true));
  exports.Set("CaptureStream", CaptureWrap::Define(env));
  exports.Set("listCaptureDevices", Napi::Function::New(env, ListDevices, "listCaptureDevices"));
  exports.Set("findCaptureDevice", Napi::Function::New(env, FindDevice, "findCaptureDevice"));
  exports.Set("portAudioVersion", Napi::String::New(env, Pa_GetVersionText()));
  napi_add_env_cleanup_hook(env, CloseAllOnShutdown, nullptr);
}

#else  // built without PortAudio: say so, so the JS side can fall back or explain

void RegisterCapture(Napi::Env env, Napi::Object exports) {
  exports.Set("hasCapture", Napi::Boolean::New(env, false));
  exports.Set("captureUnavailable",
              Napi::String::New(env, "the native addon was built without PortAudio (portaudio19-dev was not found at build time)"));
}

#endif
