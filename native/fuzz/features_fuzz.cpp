// libFuzzer target: the feature extractor C API (sd_dsp.h) with fuzzer-chosen configs and samples.
//
// The first byte picks how the config is built: raw doubles straight from the input (exercises the
// validator with garbage, NaN, huge and fractional values) or a structured config whose fields are
// drawn from their legal ranges (so most inputs get past validation and reach the pipeline). The
// rest of the input becomes samples, either raw float bits (NaN, Inf, denormals, 1e38) or int16 PCM.
//
// Oracles beyond the sanitizers: every call returns OK or a documented error code with a non-empty
// message; an accepted clip of finite samples gives exactly frames_for(n) frames of finite values;
// a clip containing NaN/Inf is refused with SD_ERR_INPUT; a too-small output buffer is refused.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "sd_dsp.h"

#define FUZZ_TARGET_NAME "features_fuzz"
#define FUZZ_CHECK_CONTEXT() dump_params()
#include "fuzz_check.h"

namespace {

// The config of the input being run, printed when a check fails so a finding explains itself.
std::vector<double> g_params;
void dump_params() {
  std::fprintf(stderr, "config (%zu values):", g_params.size());
  for (size_t i = 0; i < g_params.size(); ++i) std::fprintf(stderr, "%s%.17g", i ? ", " : " ", g_params[i]);
  std::fprintf(stderr, "\n");
}

// Work bound per input so a legal-but-enormous config (nFft 65536, numFrames 100000) is skipped
// rather than reported as a timeout: those are slow by design, not a bug.
constexpr int64_t kMaxOutputValues = 4 << 20;
constexpr int32_t kMaxSamples = 1 << 18;

void check_error(const sd_error &err, int32_t expected_code_or_any) {
  CHECK(err.code >= SD_ERR_CONFIG && err.code <= SD_ERR_INTERNAL, "bad error code %d", err.code);
  CHECK(std::memchr(err.message, '\0', SD_ERROR_MESSAGE_SIZE) != nullptr, "message not terminated");
  CHECK(err.message[0] != '\0', "empty error message (code %d)", err.code);
  if (expected_code_or_any >= 0) CHECK(err.code == expected_code_or_any, "code %d, expected %d: %s", err.code,
                                       expected_code_or_any, err.message);
}

std::vector<double> structured_params(FuzzedDataProvider &in) {
  std::vector<double> p(SD_P_COUNT);
  const int rates[] = {1000, 8000, 11025, 16000, 22050, 44100, 48000, 192000};
  const int sr = in.ConsumeBool() ? rates[in.ConsumeIntegralInRange<int>(0, 7)] : in.ConsumeIntegralInRange<int>(999, 192001);
  const int n_fft = 1 << in.ConsumeIntegralInRange<int>(4, 12);
  p[SD_P_SAMPLE_RATE] = sr;
  p[SD_P_KIND] = in.ConsumeIntegralInRange<int>(0, 2);
  p[SD_P_N_FFT] = n_fft;
  p[SD_P_WIN_LENGTH] = in.ConsumeIntegralInRange<int>(1, n_fft + 1);
  p[SD_P_HOP_LENGTH] = in.ConsumeIntegralInRange<int>(1, n_fft);
  p[SD_P_WINDOW] = in.ConsumeIntegralInRange<int>(0, 1);
  p[SD_P_CENTER] = in.ConsumeBool();
  p[SD_P_PAD_MODE] = in.ConsumeIntegralInRange<int>(0, 1);
  p[SD_P_PRE_EMPHASIS] = in.ConsumeBool() ? 0.0 : in.ConsumeFloatingPointInRange<double>(0, 0.999);
  p[SD_P_POWER] = in.ConsumeIntegralInRange<int>(1, 2);
  const int n_bins = n_fft / 2 + 1;
  const int n_mels = in.ConsumeIntegralInRange<int>(1, std::min(n_bins, 256));
  p[SD_P_N_MELS] = n_mels;
  const double nyq = sr / 2.0;
  const double f_max = in.ConsumeBool() ? nyq : in.ConsumeFloatingPointInRange<double>(1, nyq);
  p[SD_P_F_MIN] = in.ConsumeFloatingPointInRange<double>(0, f_max);
  p[SD_P_F_MAX] = f_max;
  p[SD_P_MEL_SCALE] = in.ConsumeIntegralInRange<int>(0, 1);
  p[SD_P_MEL_NORM] = in.ConsumeIntegralInRange<int>(0, 1);
  p[SD_P_LOG_TYPE] = in.ConsumeIntegralInRange<int>(0, 2);
  p[SD_P_LOG_AMIN] = in.ConsumeBool() ? 1e-10 : in.ConsumeFloatingPointInRange<double>(1e-300, 1);
  p[SD_P_LOG_HAS_TOP_DB] = in.ConsumeBool();
  p[SD_P_LOG_TOP_DB] = in.ConsumeFloatingPointInRange<double>(1e-3, 200);
  p[SD_P_LOG_REF_IS_MAX] = in.ConsumeBool();
  p[SD_P_LOG_REF] = in.ConsumeFloatingPointInRange<double>(1e-6, 1e6);
  p[SD_P_LOG_FLOOR] = in.ConsumeFloatingPointInRange<double>(1e-12, 1);
  p[SD_P_PCEN_TIME_CONSTANT] = in.ConsumeFloatingPointInRange<double>(1e-3, 100);
  p[SD_P_PCEN_GAIN] = in.ConsumeFloatingPointInRange<double>(0, 1);
  p[SD_P_PCEN_BIAS] = in.ConsumeFloatingPointInRange<double>(1e-6, 1e6);
  p[SD_P_PCEN_POWER] = in.ConsumeFloatingPointInRange<double>(1e-3, 1);
  p[SD_P_PCEN_EPS] = in.ConsumeFloatingPointInRange<double>(1e-12, 1000);
  p[SD_P_N_MFCC] = in.ConsumeIntegralInRange<int>(1, n_mels);
  p[SD_P_DELTAS] = in.ConsumeIntegralInRange<int>(0, 2);
  p[SD_P_DELTA_WIDTH] = 2 * in.ConsumeIntegralInRange<int>(1, 10) + 1;
  p[SD_P_NUM_FRAMES] = in.ConsumeBool() ? 0 : in.ConsumeIntegralInRange<int>(1, 400);
  const bool norm = in.ConsumeBool();
  p[SD_P_HAS_NORMALIZATION] = norm;
  if (norm) {
    // Probe the extractor for dims (normalization length must match): build it without first.
    std::vector<double> q(p);
    q[SD_P_HAS_NORMALIZATION] = 0;
    sd_error err;
    sd_extractor *probe = sd_extractor_create(q.data(), static_cast<int32_t>(q.size()), &err);
    if (!probe) return p;  // invalid anyway; the caller sees the config error
    const int32_t d = sd_extractor_dims(probe);
    sd_extractor_destroy(probe);
    for (int i = 0; i < d; ++i) p.push_back(in.ConsumeFloatingPointInRange<double>(-100, 100));
    for (int i = 0; i < d; ++i) {
      // Mostly sane std, sometimes tiny (float underflow territory) or off by one.
      const double s = in.ConsumeBool() ? in.ConsumeFloatingPointInRange<double>(1e-3, 100)
                                        : in.ConsumeFloatingPointInRange<double>(1e-300, 1e-30);
      p.push_back(s);
    }
    if (in.ConsumeIntegralInRange<int>(0, 15) == 0) p.pop_back();
  }
  return p;
}

std::vector<double> raw_params(FuzzedDataProvider &in) {
  const size_t n = in.ConsumeIntegralInRange<size_t>(0, SD_P_COUNT + 8);
  std::vector<double> p(n);
  for (auto &v : p) {
    double x;
    if (in.remaining_bytes() >= sizeof x) {
      const auto b = in.ConsumeBytes<uint8_t>(sizeof x);
      std::memcpy(&x, b.data(), sizeof x);
    } else {
      x = in.ConsumeIntegral<int16_t>();
    }
    v = x;
  }
  return p;
}

std::vector<float> samples_from(FuzzedDataProvider &in, bool raw_bits) {
  std::vector<float> s;
  if (raw_bits) {
    const auto b = in.ConsumeRemainingBytes<uint8_t>();
    s.resize(std::min<size_t>(b.size() / 4, kMaxSamples));
    if (!s.empty()) std::memcpy(s.data(), b.data(), s.size() * 4);
  } else {
    // int16 PCM, optionally repeated to reach realistic clip lengths from short inputs.
    const int repeat = in.ConsumeIntegralInRange<int>(1, 64);
    const auto b = in.ConsumeRemainingBytes<uint8_t>();
    const size_t n = b.size() / 2;
    for (int r = 0; r < repeat && s.size() < static_cast<size_t>(kMaxSamples); ++r)
      for (size_t i = 0; i < n; ++i) {
        int16_t v;
        std::memcpy(&v, b.data() + 2 * i, 2);
        s.push_back(v / 32768.0f);
      }
  }
  return s;
}

void run_clip(sd_extractor *ex, const std::vector<float> &s) {
  const int32_t n = static_cast<int32_t>(s.size());
  const int32_t dims = sd_extractor_dims(ex);
  CHECK(dims > 0, "dims %d", dims);
  const int32_t frames = sd_extractor_frames(ex, n);
  CHECK(frames >= 0, "frames %d", frames);
  if (static_cast<int64_t>(frames) * dims > kMaxOutputValues) return;
  bool finite = true;
  for (float v : s) finite = finite && std::isfinite(v);

  std::vector<float> out(static_cast<size_t>(frames) * dims + 1, -12345.f);
  sd_error err;
  const int32_t got = sd_extractor_compute(ex, s.empty() ? nullptr : s.data(), n, out.data(),
                                           static_cast<int32_t>(out.size()), &err);
  if (got < 0) {
    check_error(err, -1);
    // A clip that frames_for() accepted may only be refused for its content (NaN/Inf).
    if (frames > 0 && finite)
      CHECK(false, "finite clip of %d samples (%d frames expected) refused: %s", n, frames, err.message);
    return;
  }
  CHECK(err.code == SD_OK, "success but err.code %d", err.code);
  CHECK(finite, "clip with NaN/Inf accepted");
  CHECK(got == frames, "wrote %d frames, frames_for said %d", got, frames);
  for (int64_t i = 0; i < static_cast<int64_t>(got) * dims; ++i)
    CHECK(std::isfinite(out[i]), "non-finite feature %g at %lld (frame %lld of %d, dims %d)", out[i],
          static_cast<long long>(i), static_cast<long long>(i / dims), got, dims);
  CHECK(out[static_cast<size_t>(got) * dims] == -12345.f, "wrote past the frames it reported");

  // Output buffer one value short must be refused, not overrun.
  if (got > 0) {
    std::vector<float> small(static_cast<size_t>(got) * dims - 1);
    const int32_t r = sd_extractor_compute(ex, s.data(), n, small.data(), static_cast<int32_t>(small.size()), &err);
    CHECK(r == -1, "too-small output buffer accepted (%d)", r);
    check_error(err, -1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider in(data, size);
  const uint8_t mode = in.ConsumeIntegral<uint8_t>();
  std::vector<double> params = (mode & 1) ? raw_params(in) : structured_params(in);
  g_params = params;
  sd_error err;
  std::memset(&err, 0x5a, sizeof err);
  sd_extractor *ex = sd_extractor_create(params.empty() ? nullptr : params.data(),
                                         static_cast<int32_t>(params.size()), &err);
  if (!ex) {
    check_error(err, -1);
    return 0;
  }
  CHECK(err.code == SD_OK, "created but err.code %d", err.code);
  const std::vector<float> s = samples_from(in, (mode & 2) != 0);
  run_clip(ex, s);
  // Second call with a shorter prefix: scratch buffers are reused, must not leak stale state.
  if (s.size() > 1) run_clip(ex, std::vector<float>(s.begin(), s.begin() + s.size() / 2));
  sd_extractor_destroy(ex);
  return 0;
}
