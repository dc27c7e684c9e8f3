// Node binding of the VAD/endpointer and the valley finder: argument checks and conversion only.
#include <napi.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "../dsp/vad.h"
#include "bindings.h"

namespace {

using spoken_digits::Vad;
using spoken_digits::VadConfig;
using spoken_digits::VadEvent;
using spoken_digits::VadEventType;

const char* typeName(VadEventType t) {
  switch (t) {
    case VadEventType::Start:
      return "start";
    case VadEventType::End:
      return "end";
    case VadEventType::Abort:
      return "abort";
  }
  return "unknown";
}

const char* reasonName(spoken_digits::VadEndReason r) {
  using R = spoken_digits::VadEndReason;
  switch (r) {
    case R::None:
      return "none";
    case R::Silence:
      return "silence";
    case R::MaxLength:
      return "max-length";
    case R::Flush:
      return "flush";
    case R::TooShort:
      return "too-short";
    case R::Unvoiced:
      return "unvoiced";
    case R::Tonal:
      return "tonal";
  }
  return "unknown";
}

Napi::Value throwType(Napi::Env env, const std::string& msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value throwRange(Napi::Env env, const std::string& msg) {
  Napi::RangeError::New(env, msg).ThrowAsJavaScriptException();
  return env.Undefined();
}

class VadWrap : public Napi::ObjectWrap<VadWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Vad",
                       {InstanceMethod("process", &VadWrap::Process), InstanceMethod("flush", &VadWrap::Flush),
                        InstanceMethod("reset", &VadWrap::Reset), InstanceMethod("state", &VadWrap::State),
                        InstanceMethod("dispose", &VadWrap::Dispose)});
  }

  explicit VadWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VadWrap>(info) {
    Napi::Env env = info.Env();
    VadConfig c;
    if (info.Length() > 0 && !info[0].IsUndefined()) {
      if (!info[0].IsObject()) {
        throwType(env, "Vad options must be an object");
        return;
      }
      Napi::Object o = info[0].As<Napi::Object>();
      auto num = [&](const char* key, float* dst) {
        Napi::Value v = o.Get(key);
        if (v.IsUndefined()) return true;
        if (!v.IsNumber() || std::isnan(v.As<Napi::Number>().DoubleValue())) {
          throwType(env, std::string("Vad option ") + key + " must be a number");
          return false;
        }
        *dst = v.As<Napi::Number>().FloatValue();
        return true;
      };
      float rate = static_cast<float>(c.sampleRate);
      if (!num("sampleRate", &rate) || !num("sensitivity", &c.sensitivity) || !num("hopMs", &c.hopMs) ||
          !num("onsetMs", &c.onsetMs) || !num("hangoverMs", &c.hangoverMs) || !num("minSpeechMs", &c.minSpeechMs) ||
          !num("maxSpeechMs", &c.maxSpeechMs) || !num("minVoicedMs", &c.minVoicedMs) || !num("preRollMs", &c.preRollMs) ||
          !num("postRollMs", &c.postRollMs) || !num("minLevelDb", &c.minLevelDb) || !num("initialNoiseDb", &c.initialNoiseDb))
        return;
      // Checked before the cast (Infinity or 2^40 is no int); the core names the range.
      if (!isIntegerIn(rate, 1, 1e9)) {
        throwRange(env, "invalid VAD options: sampleRate must be an integer in 4000..192000");
        return;
      }
      c.sampleRate = static_cast<int>(rate);
    }
    std::string error;
    vad_.reset(Vad::create(c, &error));
    if (!vad_) Napi::RangeError::New(env, "invalid VAD options: " + error).ThrowAsJavaScriptException();
    events_.reserve(16);
  }

 private:
  Napi::Value Events(Napi::Env env) {
    Napi::Array out = Napi::Array::New(env, events_.size());
    for (size_t i = 0; i < events_.size(); ++i) {
      const VadEvent& e = events_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("type", typeName(e.type));
      o.Set("reason", reasonName(e.reason));
      o.Set("startSample", static_cast<double>(e.startSample));
      o.Set("endSample", static_cast<double>(e.endSample));
      out.Set(static_cast<uint32_t>(i), o);
    }
    events_.clear();
    return out;
  }

  Napi::Value Process(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!vad_) return Missing(env);
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      return throwType(env, "Vad.process expects a Float32Array");
    Napi::Float32Array a = info[0].As<Napi::Float32Array>();
    vad_->process(a.Data(), a.ElementLength(), events_);
    return Events(env);
  }

  Napi::Value Flush(const Napi::CallbackInfo& info) {
    if (!vad_) return Missing(info.Env());
    vad_->flush(events_);
    return Events(info.Env());
  }

  Napi::Value Reset(const Napi::CallbackInfo& info) {
    if (vad_) vad_->reset();
    return info.Env().Undefined();
  }

  // Frees the endpointer now rather than when the garbage collector gets to the wrapper (a settings
  // check makes one only to see that it can be made). Safe to call twice; other calls throw after it.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    vad_.reset();
    disposed_ = true;
    events_ = std::vector<VadEvent>();
    return info.Env().Undefined();
  }

  Napi::Value Missing(Napi::Env env) { return throwType(env, disposed_ ? "Vad was disposed" : "Vad was not constructed"); }

  Napi::Value State(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!vad_) return Missing(env);
    Napi::Object o = Napi::Object::New(env);
    o.Set("levelDb", vad_->takePeakLevelDb());
    o.Set("noiseDb", vad_->noiseFloorDb());
    o.Set("bandDb", vad_->lastBandDb());
    o.Set("inSpeech", vad_->inSpeech());
    o.Set("segmentAccepted", vad_->segmentAccepted());
    o.Set("silentSamples", static_cast<double>(vad_->silentSamples()));
    o.Set("samplesSeen", static_cast<double>(vad_->samplesSeen()));
    return o;
  }

  std::unique_ptr<Vad> vad_;
  std::vector<VadEvent> events_;
  bool disposed_ = false;
};

// info[0] is a Float32Array and info[1 .. numbers] are numbers, not NaN (Infinity is a limit turned
// off). The integer arguments (`integers`: a rate, a hop, a count) may be NaN here: their range check
// refuses it with a RangeError, as the wasm core does (src/stream/wasm-core.ts).
bool floatsThenNumbers(const Napi::CallbackInfo& info, size_t numbers, std::initializer_list<size_t> integers) {
  if (info.Length() < numbers + 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) return false;
  for (size_t i = 1; i <= numbers; ++i) {
    if (!info[i].IsNumber()) return false;
    const bool integer = std::find(integers.begin(), integers.end(), i) != integers.end();
    if (!integer && std::isnan(info[i].As<Napi::Number>().DoubleValue())) return false;
  }
  return true;
}

// info[i] as an integer in [lo, hi], or -1 (never a wrapped Int32Value: 2^32 + 8000 is not 8000).
int64_t intArg(const Napi::CallbackInfo& info, size_t i, double lo, double hi) {
  const double d = info[i].As<Napi::Number>().DoubleValue();
  return isIntegerIn(d, lo, hi) ? static_cast<int64_t>(d) : -1;
}

// The contour functions' sample rate: an integer up to the endpointer's 192 kHz (under 4000 they find
// nothing, as a model at 3 kHz is left uncut; a contour itself needs 4000 and up), or -1.
int contourRate(const Napi::CallbackInfo& info, size_t i, double lo = 1) {
  return static_cast<int>(intArg(info, i, lo, spoken_digits::kMaxContourRate));
}
const char* const kRateRange = "sampleRate must be an integer in 1..192000";
const char* const kContourRateRange = "sampleRate must be an integer in 4000..192000";

Napi::Array valleyArray(Napi::Env env, const std::vector<spoken_digits::Valley>& valleys) {
  Napi::Array out = Napi::Array::New(env, valleys.size());
  for (size_t i = 0; i < valleys.size(); ++i) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("sample", static_cast<double>(valleys[i].sample));
    o.Set("depthDb", valleys[i].depthDb);
    o.Set("lowMs", valleys[i].lowMs);
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

Napi::Value FindValleys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!floatsThenNumbers(info, 3, {1})) return throwType(env, "findValleys(samples: Float32Array, sampleRate, minDepthDb, minPieceMs)");
  Napi::Float32Array a = info[0].As<Napi::Float32Array>();
  const int rate = contourRate(info, 1);
  if (rate < 0) return throwRange(env, std::string("findValleys: ") + kRateRange);
  if (info[3].As<Napi::Number>().DoubleValue() < 0) return throwRange(env, "findValleys: minPieceMs must be >= 0");
  return valleyArray(env, spoken_digits::findEnergyValleys(a.Data(), a.ElementLength(), rate, info[2].As<Napi::Number>().FloatValue(),
                                                           info[3].As<Napi::Number>().FloatValue()));
}

// bandContour(samples, sampleRate, firstHop) -> { bandDb: Float32Array (hops firstHop..), settledHops }
Napi::Value BandContour(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!floatsThenNumbers(info, 2, {1, 2})) return throwType(env, "bandContour(samples: Float32Array, sampleRate, firstHop)");
  Napi::Float32Array a = info[0].As<Napi::Float32Array>();
  const int rate = contourRate(info, 1, spoken_digits::kMinContourRate);
  const int64_t firstHop = intArg(info, 2, 0, INT_MAX);
  if (rate < 0 || firstHop < 0) return throwRange(env, std::string("bandContour: ") + kContourRateRange + ", firstHop an integer >= 0");
  const int hops = spoken_digits::contourHopCount(a.ElementLength(), rate);
  Napi::Float32Array db = Napi::Float32Array::New(env, static_cast<size_t>(std::max<int64_t>(0, hops - firstHop)));
  const int settled = spoken_digits::bandContourHops(a.Data(), a.ElementLength(), rate, static_cast<int>(firstHop), db.Data());
  Napi::Object o = Napi::Object::New(env);
  o.Set("bandDb", db);
  o.Set("settledHops", settled);
  return o;
}

Napi::Value ContourValleys(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!floatsThenNumbers(info, 3, {1})) return throwType(env, "contourValleys(bandDb: Float32Array, sampleRate, minDepthDb, minPieceMs)");
  Napi::Float32Array a = info[0].As<Napi::Float32Array>();
  const int rate = contourRate(info, 1);
  if (rate < 0) return throwRange(env, std::string("contourValleys: ") + kRateRange);
  if (info[3].As<Napi::Number>().DoubleValue() < 0) return throwRange(env, "contourValleys: minPieceMs must be >= 0");
  if (a.ElementLength() > INT_MAX) return throwRange(env, "contourValleys: bandDb is too long");
  return valleyArray(env, spoken_digits::findContourValleys(a.Data(), static_cast<int>(a.ElementLength()), rate, info[2].As<Napi::Number>().FloatValue(),
                                                            info[3].As<Napi::Number>().FloatValue()));
}

Napi::Array extentArray(Napi::Env env, int64_t start, int64_t end) {
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, static_cast<double>(start));
  out.Set(1u, static_cast<double>(end));
  return out;
}

Napi::Value SpeechExtent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const bool keepGiven = info.Length() > 4 && !info[4].IsUndefined();
  if (!floatsThenNumbers(info, 3, {1}) || (keepGiven && (!info[4].IsNumber() || !std::isfinite(info[4].As<Napi::Number>().DoubleValue()))))
    return throwType(env, "speechExtent(samples: Float32Array, sampleRate, dropDb, marginMs, keepWithinDb?), finite numbers");
  Napi::Float32Array a = info[0].As<Napi::Float32Array>();
  const float keepWithinDb = keepGiven ? info[4].As<Napi::Number>().FloatValue() : 0.f;
  const int rate = contourRate(info, 1);
  if (rate < 0) return throwRange(env, std::string("speechExtent: ") + kRateRange);
  if (info[3].As<Napi::Number>().DoubleValue() < 0) return throwRange(env, "speechExtent: marginMs must be >= 0");
  int64_t start = 0, end = 0;
  if (!spoken_digits::findSpeechExtent(a.Data(), a.ElementLength(), rate, info[2].As<Napi::Number>().FloatValue(), info[3].As<Napi::Number>().FloatValue(),
                                       keepWithinDb, &start, &end))
    return env.Null();
  return extentArray(env, start, end);
}

// contourSpeechExtent(bandDb, samples, sampleRate, dropDb, marginMs, keepWithinDb): speechExtent of
// `samples` samples from the contour bandContour made of them.
Napi::Value ContourSpeechExtent(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!floatsThenNumbers(info, 5, {1, 2})) return throwType(env, "contourSpeechExtent(bandDb: Float32Array, samples, sampleRate, dropDb, marginMs, keepWithinDb)");
  Napi::Float32Array a = info[0].As<Napi::Float32Array>();
  const int64_t n = intArg(info, 1, 1, 9007199254740991.0);
  const int rate = contourRate(info, 2, spoken_digits::kMinContourRate);
  if (n <= 0 || rate < 0 || static_cast<int64_t>(a.ElementLength()) != spoken_digits::contourHopCount(static_cast<size_t>(n), rate))
    return throwRange(env, "contourSpeechExtent: bandDb must hold the contour of all `samples` samples (samples / (sampleRate / 100) hops, sampleRate an integer in 4000..192000)");
  if (info[4].As<Napi::Number>().DoubleValue() < 0) return throwRange(env, "contourSpeechExtent: marginMs must be >= 0");
  int64_t start = 0, end = 0;
  if (!spoken_digits::contourSpeechExtent(a.Data(), static_cast<int>(a.ElementLength()), static_cast<size_t>(n), rate, info[3].As<Napi::Number>().FloatValue(),
                                          info[4].As<Napi::Number>().FloatValue(), info[5].As<Napi::Number>().FloatValue(), &start, &end))
    return env.Null();
  return extentArray(env, start, end);
}

}  // namespace

void RegisterVad(Napi::Env env, Napi::Object exports) {
  exports.Set("Vad", VadWrap::Define(env));
  exports.Set("findValleys", Napi::Function::New(env, FindValleys, "findValleys"));
  exports.Set("bandContour", Napi::Function::New(env, BandContour, "bandContour"));
  exports.Set("contourValleys", Napi::Function::New(env, ContourValleys, "contourValleys"));
  exports.Set("speechExtent", Napi::Function::New(env, SpeechExtent, "speechExtent"));
  exports.Set("contourSpeechExtent", Napi::Function::New(env, ContourSpeechExtent, "contourSpeechExtent"));
}
