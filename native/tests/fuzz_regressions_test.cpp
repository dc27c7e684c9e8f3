// Regression tests for what native/fuzz found in the feature extractor, one case per finding, run
// under ASan/UBSan by native/tests/run.sh. Each case is the fuzzer's failing config, reduced.
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../dsp/sd_dsp.h"
#include "check.h"
#include "extractor_fixture.h"

using namespace spoken_digits_test;

namespace {

bool all_finite(const std::vector<float> &v) {
  for (float f : v)
    if (!std::isfinite(f)) return false;
  return !v.empty();
}

}  // namespace

int main() {

  // 1. Finite but huge samples (|x| ~ 1e38): the power spectrum overflowed float into inf features.
  std::vector<float> huge(800);
  for (size_t i = 0; i < huge.size(); ++i) huge[i] = (i % 2 ? -1.8e38f : 1.8e38f) * static_cast<float>(std::sin(0.3 * i));
  // (ref 'max' included: an inf row made the reference inf and every feature -inf; the pair/quad
  // FFT rewrite lost the saturation once, which this case now catches.)
  for (int kind : {SD_KIND_SPECTROGRAM, SD_KIND_LOGMEL, SD_KIND_MFCC})
    for (int log_type : {SD_LOG_DB, SD_LOG_LN, SD_LOG_PCEN})
      for (int ref_is_max : {0, 1}) {
        std::vector<double> p = params(kind, log_type, 13);
        p[SD_P_DELTAS] = 2;
        p[SD_P_LOG_REF_IS_MAX] = ref_is_max;
        const Run r = run(p, huge);
        CHECK(r.status == SD_OK && all_finite(r.data),
              "kind %d log %d ref max %d: huge finite samples gave non-finite features (%s)", kind, log_type,
              ref_is_max, r.status != SD_OK ? r.message.c_str() : "inf/nan in output");
      }

  // 1b. PCEN close to linear (gain 0, power 1) on the same samples: its output reached ~FLT_MAX and the
  // DCT summed it to inf. Deltas and the most extreme normalization the validator allows ride along.
  for (int kind : {SD_KIND_SPECTROGRAM, SD_KIND_LOGMEL, SD_KIND_MFCC}) {
    std::vector<double> p = params(kind, SD_LOG_PCEN, 19);
    p[SD_P_PCEN_GAIN] = 0;
    p[SD_P_PCEN_POWER] = 1;
    p[SD_P_PCEN_BIAS] = 1e6;
    p[SD_P_DELTAS] = 2;
    const Run probe = run(p, huge);
    const int dims = probe.dims;
    p[SD_P_HAS_NORMALIZATION] = 1;
    for (int i = 0; i < dims; ++i) p.push_back(-1e12);
    for (int i = 0; i < dims; ++i) p.push_back(1e-12);
    const Run r = run(p, huge);
    CHECK(probe.status == SD_OK && r.status == SD_OK && all_finite(r.data),
          "kind %d: near-linear PCEN of huge samples gave non-finite features (%s)", kind,
          r.status != SD_OK ? r.message.c_str() : "inf/nan in output");
  }

  // 2. log.amin / log.floor below float range rounded to 0: silence became -inf.
  std::vector<float> silence(800, 0.0f);
  {
    std::vector<double> p = params(SD_KIND_LOGMEL, SD_LOG_DB, 13);
    p[SD_P_LOG_AMIN] = 1e-300;
    p[SD_P_LOG_HAS_TOP_DB] = 0;
    CHECK(run(p, silence).status == SD_ERR_CONFIG, "amin 1e-300 accepted");
    p[SD_P_LOG_AMIN] = 1e-30;
    Run r = run(p, silence);
    CHECK(r.status == SD_OK && all_finite(r.data), "amin 1e-30 (float-representable) should work: %s", r.message.c_str());
    std::vector<double> q = params(SD_KIND_LOGMEL, SD_LOG_LN, 13);
    q[SD_P_LOG_FLOOR] = 1e-320;
    CHECK(run(q, silence).status == SD_ERR_CONFIG, "ln floor 1e-320 accepted");
  }

  // 3. Normalization std that rounds to 0 in float (1e-300) made 1/std = inf.
  {
    std::vector<double> p = params(SD_KIND_MFCC, SD_LOG_DB, 13);
    p[SD_P_HAS_NORMALIZATION] = 1;
    for (int i = 0; i < 13; ++i) p.push_back(0.0);
    for (int i = 0; i < 13; ++i) p.push_back(i == 5 ? 1e-300 : 1.0);
    CHECK(run(p, silence).status == SD_ERR_CONFIG, "std 1e-300 accepted");
    p[SD_P_COUNT + 13 + 5] = 1e-3;
    p[SD_P_COUNT + 2] = 1e300;
    CHECK(run(p, silence).status == SD_ERR_CONFIG, "mean 1e300 accepted");
    p[SD_P_COUNT + 2] = -40;
    const Run r = run(p, silence);
    CHECK(r.status == SD_OK && all_finite(r.data), "sane normalization refused: %s", r.message.c_str());
  }

  // 4. fMin one rounding error below fMax: adjacent mel edges equal, 0/0 filter weights -> NaN.
  {
    std::vector<double> p = params(SD_KIND_LOGMEL, SD_LOG_LN, 13);
    p[SD_P_SAMPLE_RATE] = 11025;
    p[SD_P_N_FFT] = 128;
    p[SD_P_WIN_LENGTH] = 25;
    p[SD_P_HOP_LENGTH] = 8;
    p[SD_P_N_MELS] = 61;
    p[SD_P_MEL_SCALE] = SD_MEL_SCALE_HTK;
    p[SD_P_F_MIN] = 5512.4999999999918;
    p[SD_P_F_MAX] = 5512.5;
    const Run r = run(p, huge);
    CHECK(r.status == SD_ERR_CONFIG && r.message.find("too close") != std::string::npos,
          "degenerate mel range: expected a config error, got %s", r.status != SD_OK ? r.message.c_str() : "features");
  }

  {
    // resampler_fuzz: a finite clip peaking near FLT_MAX overflowed the float partial sums of the
    // polyphase filter and came out as -inf; it must stay finite and bounded by the filter gain.
    sd_error err{};
    sd_resampler *rs = sd_resampler_create(48000, 8000, &err);
    CHECK(rs != nullptr, "resampler_create: %s", err.message);
    std::vector<float> x(480);
    for (size_t i = 0; i < x.size(); ++i) x[i] = (i % 7 < 3 ? 3e38f : -3e38f);
    std::vector<float> y(static_cast<size_t>(sd_resampler_output_length(rs, static_cast<int32_t>(x.size()))));
    const int32_t got = sd_resampler_process(rs, x.data(), static_cast<int32_t>(x.size()), y.data(), static_cast<int32_t>(y.size()), &err);
    CHECK(got == static_cast<int32_t>(y.size()), "resampled %d of %zu samples: %s", got, y.size(), err.message);
    for (size_t i = 0; i < y.size(); ++i) CHECK(std::isfinite(y[i]), "y[%zu] = %g", i, y[i]);
    sd_resampler_destroy(rs);
  }

  // Same finding at other ratios (up- and down-sampling, 441:320), runs of 3 equal samples.
  {
    sd_error err{};
    std::vector<float> x(2000);
    for (size_t i = 0; i < x.size(); ++i) x[i] = (i / 3) % 2 ? 3.4e38f : -3.4e38f;
    const int32_t rates[][2] = {{8000, 16000}, {44100, 8000}, {48000, 16000}, {11025, 8000}};
    for (const auto &r : rates) {
      sd_resampler *rs = sd_resampler_create(r[0], r[1], &err);
      CHECK(rs != nullptr, "resampler %d -> %d: %s", r[0], r[1], err.message);
      if (!rs) continue;
      std::vector<float> y(static_cast<size_t>(sd_resampler_output_length(rs, static_cast<int32_t>(x.size()))));
      const int32_t n = sd_resampler_process(rs, x.data(), static_cast<int32_t>(x.size()), y.data(),
                                             static_cast<int32_t>(y.size()), &err);
      CHECK(n == static_cast<int32_t>(y.size()) && all_finite(y), "resample %d -> %d of +-3.4e38 gave inf/NaN", r[0],
            r[1]);
      sd_resampler_destroy(rs);
    }
  }

  return spoken_digits_test::finish("fuzz_regressions_test");
}
