// Node-API surface of the feature extractor and resampler: argument checks and translation only;
// all validation and computation happen in the C API (native/dsp/sd_dsp.h).
#include <climits>
#include <cmath>
#include <utility>

#include "bindings.h"
#include "dsp/sd_dsp.h"

namespace {

// The TypeScript layer (src/features/native.ts) turns `sdStatus` into a typed error.
void ThrowCoreError(Napi::Env env, const sd_error &err) {
  Napi::Error e = Napi::Error::New(env, err.message);
  e.Set("sdStatus", Napi::Number::New(env, err.code));
  e.ThrowAsJavaScriptException();
}

void ThrowUsage(Napi::Env env, const char *message) {
  sd_error err{SD_ERR_INTERNAL, {0}};
  snprintf(err.message, sizeof err.message, "%s", message);
  ThrowCoreError(env, err);
}

int32_t ClampLength(size_t n) { return n > static_cast<size_t>(INT32_MAX) ? INT32_MAX : static_cast<int32_t>(n); }

class Extractor : public Napi::ObjectWrap<Extractor> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Extractor",
                       {InstanceMethod<&Extractor::Compute>("compute"), InstanceMethod<&Extractor::Dims>("dims"),
                        InstanceMethod<&Extractor::Dispose>("dispose")});
  }

  explicit Extractor(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Extractor>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
      ThrowUsage(env, "Extractor expects a Float64Array of encoded feature parameters");
      return;
    }
    Napi::Float64Array params = info[0].As<Napi::Float64Array>();
    sd_error err{};
    ex_ = sd_extractor_create(params.Data(), ClampLength(params.ElementLength()), &err);
    if (!ex_) ThrowCoreError(env, err);
  }

  ~Extractor() override { sd_extractor_destroy(ex_); }

 private:
  Napi::Value Compute(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!ex_) {
      ThrowUsage(env, "feature extractor was disposed");
      return env.Undefined();
    }
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      ThrowUsage(env, "compute expects a Float32Array of samples");
      return env.Undefined();
    }
    Napi::Float32Array samples = info[0].As<Napi::Float32Array>();
    const int32_t n = ClampLength(samples.ElementLength());
    const int32_t frames = sd_extractor_frames(ex_, n);
    const int32_t dims = sd_extractor_dims(ex_);
    sd_error err{};
    if (frames <= 0) {  // let the core say what is wrong with the input
      sd_extractor_compute(ex_, samples.Data(), n, nullptr, 0, &err);
      ThrowCoreError(env, err);
      return env.Undefined();
    }
    const size_t count = static_cast<size_t>(frames) * static_cast<size_t>(dims);
    Napi::Float32Array out = Napi::Float32Array::New(env, count);
    const int32_t written =
        sd_extractor_compute(ex_, samples.Data(), n, out.Data(), ClampLength(count), &err);
    if (written < 0) {
      ThrowCoreError(env, err);
      return env.Undefined();
    }
    return out;
  }

  Napi::Value Dims(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), sd_extractor_dims(ex_)); }

  Napi::Value Dispose(const Napi::CallbackInfo &info) {
    sd_extractor_destroy(ex_);
    ex_ = nullptr;
    return info.Env().Undefined();
  }

  sd_extractor *ex_ = nullptr;
};

class Resampler : public Napi::ObjectWrap<Resampler> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Resampler",
                       {InstanceMethod<&Resampler::Process>("process"), InstanceMethod<&Resampler::Dispose>("dispose")});
  }

  explicit Resampler(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Resampler>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
      ThrowUsage(env, "Resampler expects (fromRate, toRate)");
      return;
    }
    // Whole numbers the core can judge: 8000.5 or 2^32 + 48000 are refused here, not cut or wrapped to 8000 and 48000.
    const double from = info[0].As<Napi::Number>().DoubleValue(), to = info[1].As<Napi::Number>().DoubleValue();
    if (!isIntegerIn(from, INT32_MIN + 1.0, INT32_MAX) || !isIntegerIn(to, INT32_MIN + 1.0, INT32_MAX)) {
      Napi::RangeError::New(env, "cannot resample from " + Napi::Number::New(env, from).ToString().Utf8Value() + " Hz to " +
                                     Napi::Number::New(env, to).ToString().Utf8Value() + " Hz: rates must be integers in 1000..384000")
          .ThrowAsJavaScriptException();
      return;
    }
    sd_error err{};
    rs_ = sd_resampler_create(static_cast<int32_t>(from), static_cast<int32_t>(to), &err);
    if (!rs_) ThrowCoreError(env, err);
  }

  ~Resampler() override { sd_resampler_destroy(rs_); }

 private:
  Napi::Value Process(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!rs_) {
      ThrowUsage(env, "resampler was disposed");
      return env.Undefined();
    }
    if (info.Length() < 1 || !info[0].IsTypedArray() ||
        info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      ThrowUsage(env, "process expects a Float32Array of samples");
      return env.Undefined();
    }
    Napi::Float32Array in = info[0].As<Napi::Float32Array>();
    const int32_t n = ClampLength(in.ElementLength());
    const int32_t n_out = sd_resampler_output_length(rs_, n);
    sd_error err{};
    Napi::Float32Array out = Napi::Float32Array::New(env, n_out > 0 ? static_cast<size_t>(n_out) : 0);
    const int32_t written = sd_resampler_process(rs_, in.Data(), n, n_out > 0 ? out.Data() : nullptr, n_out, &err);
    if (written < 0) {
      ThrowCoreError(env, err);
      return env.Undefined();
    }
    return out;
  }

  Napi::Value Dispose(const Napi::CallbackInfo &info) {
    sd_resampler_destroy(rs_);
    rs_ = nullptr;
    return info.Env().Undefined();
  }

  sd_resampler *rs_ = nullptr;
};

// wsolaStretch(samples: Float32Array, outLength, sampleRate): Float32Array of outLength samples.
Napi::Value WsolaStretch(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
      !info[1].IsNumber() || !info[2].IsNumber()) {
    ThrowUsage(env, "wsolaStretch expects (samples: Float32Array, outLength, sampleRate)");
    return env.Undefined();
  }
  Napi::Float32Array in = info[0].As<Napi::Float32Array>();
  // Whole numbers in int32 range; the core checks the ranges it takes before anything is written.
  const double want = info[1].As<Napi::Number>().DoubleValue();
  const double rate = info[2].As<Napi::Number>().DoubleValue();
  sd_error err{SD_ERR_INPUT, {0}};
  for (const auto &[name, v] : {std::pair<const char *, double>{"output length", want}, {"sample rate", rate}}) {
    if (!isIntegerIn(v, 1, INT32_MAX)) {
      snprintf(err.message, sizeof err.message, "wsola: %s %g is not a whole number in 1..%d", name, v, INT32_MAX);
      ThrowCoreError(env, err);
      return env.Undefined();
    }
  }
  const int32_t out_len = static_cast<int32_t>(want);
  if (out_len > sd_wsola_max_samples()) {
    snprintf(err.message, sizeof err.message, "wsola: output of %d samples (1..%d)", out_len, sd_wsola_max_samples());
    ThrowCoreError(env, err);
    return env.Undefined();
  }
  Napi::Float32Array out = Napi::Float32Array::New(env, static_cast<size_t>(out_len));
  if (sd_wsola_stretch(in.Data(), ClampLength(in.ElementLength()), static_cast<int32_t>(rate), out.Data(), out_len, &err) < 0) {
    ThrowCoreError(env, err);
    return env.Undefined();
  }
  return out;
}

}  // namespace

void RegisterFeatures(Napi::Env env, Napi::Object exports) {
  exports.Set("wsolaStretch", Napi::Function::New(env, WsolaStretch, "wsolaStretch"));
  exports.Set("Extractor", Extractor::Define(env));
  exports.Set("Resampler", Resampler::Define(env));
  exports.Set("SD_P_COUNT", Napi::Number::New(env, SD_P_COUNT));
  exports.Set("WSOLA_MAX_SAMPLES", Napi::Number::New(env, sd_wsola_max_samples()));
}
