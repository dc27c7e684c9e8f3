// Node binding of PortAudio capture (only built when PortAudio was found): argument checks and
// conversion only. Streams still open when their environment (the main thread, or a worker) shuts
// down are closed by that environment's cleanup hook, so no audio thread outlives the memory it
// writes into; each environment, and each load of the addon in it, keeps its own list, so a worker
// that exits closes its own streams only. (process.exit() runs no cleanup hooks: the JS side closes
// its streams on the process's 'exit' event.)
#include <napi.h>

#ifdef SPOKEN_DIGITS_HAVE_PORTAUDIO

#include <climits>
#include <cmath>
#include <memory>
#include <set>
#include <string>

#include "../capture/pa_capture.h"
#include "bindings.h"
#ifdef SPOKEN_DIGITS_PORTAUDIO_DLOPEN
#include "../capture/pa_dlopen.h"
#endif

namespace {

using spoken_digits::Capture;
using spoken_digits::CaptureOptions;

class CaptureWrap;
// The streams open in one environment, for one load of the addon. Shared with its streams, so a
// stream finalized after the environment's cleanup hook ran still has it to leave.
struct OpenStreams {
  std::set<CaptureWrap*> streams;
};
using OpenStreamsRef = std::shared_ptr<OpenStreams>;

Napi::Value fail(Napi::Env env, const std::string& msg) {
  Napi::Error::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

class CaptureWrap : public Napi::ObjectWrap<CaptureWrap> {
 public:
  // `streams`: this load's OpenStreamsRef, handed to every constructor call as the class's data.
  static Napi::Function Define(Napi::Env env, OpenStreamsRef* streams) {
    return DefineClass(env, "CaptureStream",
                       {InstanceMethod("start", &CaptureWrap::Start), InstanceMethod("stop", &CaptureWrap::Stop),
                        InstanceMethod("close", &CaptureWrap::Close), InstanceMethod("read", &CaptureWrap::Read),
                        InstanceMethod("available", &CaptureWrap::Available), InstanceMethod("stats", &CaptureWrap::Stats),
                        InstanceAccessor("sampleRate", &CaptureWrap::SampleRate, nullptr)},
                       streams);
  }

  explicit CaptureWrap(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<CaptureWrap>(info), open_(*static_cast<OpenStreamsRef*>(info.Data())) {
    Napi::Env env = info.Env();
    CaptureOptions o;
    if (info.Length() > 0 && !info[0].IsUndefined()) {
      if (!info[0].IsObject()) {
        Napi::TypeError::New(env, "CaptureStream options must be an object").ThrowAsJavaScriptException();
        return;
      }
      Napi::Object opts = info[0].As<Napi::Object>();
      // A number in [lo, hi] (an integer where asked); the first option that is not, or whose getter throws, stops here.
      auto num = [&](const char* key, double lo, double hi, bool integer, double* dst) {
        Napi::Value v = opts.Get(key);
        if (env.IsExceptionPending()) return false;
        if (v.IsUndefined()) return true;
        const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
        if (integer ? !isIntegerIn(d, lo, hi) : !(d >= lo && d <= hi)) {
          Napi::RangeError::New(env, std::string("capture option ") + key + " must be " + (integer ? "an integer" : "a number") + " in " +
                                         std::to_string(static_cast<long long>(lo)) + ".." + std::to_string(static_cast<long long>(hi)))
              .ThrowAsJavaScriptException();
          return false;
        }
        *dst = d;
        return true;
      };
      // Wider than Capture::open's ranges where it says more (a device it does not see, a rate it cannot open).
      double device = -1, channels = 1, frames = 0;
      if (!num("device", -1, INT_MAX, true, &device) || !num("sampleRate", 0, 1e7, false, &o.sampleRate) ||
          !num("channels", 1, 32, true, &channels) || !num("framesPerBuffer", 0, 1 << 20, true, &frames) ||
          !num("bufferSeconds", 0, 600, false, &o.bufferSeconds) || !num("latency", 0, 60, false, &o.suggestedLatency))
        return;
      o.device = static_cast<int>(device);
      o.channels = static_cast<int>(channels);
      o.framesPerBuffer = static_cast<unsigned long>(frames);
    }
    std::string error;
    if (!capture_.open(o, &error)) {
      Napi::Error::New(env, error).ThrowAsJavaScriptException();
      return;
    }
    open_->streams.insert(this);
  }

  ~CaptureWrap() override {
    open_->streams.erase(this);
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
    open_->streams.erase(this);
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

  OpenStreamsRef open_;
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

// The environment's cleanup hook, once per load: closes that load's open streams and lets go of its list.
void CloseAllOnShutdown(void* arg) {
  auto* open = static_cast<OpenStreamsRef*>(arg);
  for (CaptureWrap* w : (*open)->streams) w->CloseForShutdown();
  (*open)->streams.clear();
  delete open;
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
  // Per load, not per process: its own cleanup hook argument (Node refuses the same hook and argument twice).
  auto* open = new OpenStreamsRef(std::make_shared<OpenStreams>());
  exports.Set("CaptureStream", CaptureWrap::Define(env, open));
  exports.Set("listCaptureDevices", Napi::Function::New(env, ListDevices, "listCaptureDevices"));
  exports.Set("findCaptureDevice", Napi::Function::New(env, FindDevice, "findCaptureDevice"));
  exports.Set("portAudioVersion", Napi::String::New(env, Pa_GetVersionText()));
  napi_add_env_cleanup_hook(env, CloseAllOnShutdown, open);
}

#else  // built without PortAudio: say so, so the JS side can fall back or explain

void RegisterCapture(Napi::Env env, Napi::Object exports) {
  exports.Set("hasCapture", Napi::Boolean::New(env, false));
  exports.Set("captureUnavailable",
              Napi::String::New(env, "the native addon was built without PortAudio (portaudio19-dev was not found at build time)"));
}

#endif
