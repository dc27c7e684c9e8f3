// Waveform-similarity overlap-add (WSOLA) time stretch: the voice shift's second half (a resampled
// clip brought back to its length, pitch kept) and the tempo augmentation. Every operation is the
// one the TypeScript reference (test/fixtures/wsola-reference.ts) does, in the same order and precision:
// float32 buffers, float64 sums (a float32 product is exact in float64), so both give bit-identical
// output; -ffp-contract=off keeps the compiler from fusing them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <new>
#include <vector>

#include "sd_dsp.h"
#include "status.hpp"

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int32_t kLanes = 8;
// 2^25 samples (70 minutes at 8 kHz, 87 s at 384 kHz): far beyond any clip, and the buffers stay
// under ~400 MB.
constexpr int32_t kMaxSamples = 1 << 25;

// JavaScript's Math.round for the non-negative values used here.
int32_t round_half_up(double v) { return static_cast<int32_t>(std::floor(v + 0.5)); }

sd::Status stretch(const float *x, int32_t n, int32_t rate, float *out, int32_t out_len) {
  if (rate < 1000 || rate > 384000) return sd::Status::error(SD_ERR_INPUT, "wsola: sample rate %d Hz is outside 1000..384000", rate);
  if (n < 1 || n > kMaxSamples) return sd::Status::error(SD_ERR_INPUT, "wsola: %d input samples (1..%d)", n, kMaxSamples);
  if (out_len < 1 || out_len > kMaxSamples) return sd::Status::error(SD_ERR_INPUT, "wsola: output of %d samples (1..%d)", out_len, kMaxSamples);
  if (!x || !out) return sd::Status::error(SD_ERR_INTERNAL, "wsola: null buffer");
  for (int32_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) return sd::Status::error(SD_ERR_INPUT, "wsola: sample %d is %s", i, std::isnan(x[i]) ? "NaN" : "infinite");
  }
  const int32_t win = std::max<int32_t>(16, round_half_up(0.02 * rate)) & ~1;  // 20 ms frames
  const int32_t hop = win / 2;
  const int32_t tol = round_half_up(0.005 * rate);
  const int32_t pad = win + tol;
  std::vector<float> y(static_cast<size_t>(out_len) + win, 0.0f);
  std::vector<float> norm(y.size(), 0.0f);
  std::vector<float> w(win);
  for (int32_t i = 0; i < win; ++i) w[i] = static_cast<float>(0.5 - 0.5 * std::cos((2 * kPi * i) / win));
  // x with `pad` zeros on both sides: every frame and candidate read is in range.
  std::vector<float> xp(static_cast<size_t>(n) + 2 * static_cast<size_t>(pad), 0.0f);
  std::copy(x, x + n, xp.begin() + pad);
  const double ratio = static_cast<double>(n) / out_len;
  auto in_range = [&](int64_t i) { return static_cast<size_t>(std::min<int64_t>(std::max<int64_t>(i, -pad), int64_t{n} + pad - win) + pad); };
  int64_t prev_end = 0;  // input position that naturally continues the last frame
  for (int64_t o = 0, k = 0; o < out_len; o += hop, ++k) {
    const int64_t nominal = round_half_up(static_cast<double>(o) * ratio);
    int64_t best = nominal;
    if (k > 0) {
      double best_score = -std::numeric_limits<double>::infinity();
      const float *p = xp.data() + in_range(prev_end);
      // Each candidate's sum runs in order (as the reference adds), kLanes candidates side by side:
      // independent chains the CPU overlaps, instead of one add waiting for the last.
      for (int32_t d0 = -tol; d0 <= tol; d0 += kLanes) {
        const int32_t lanes = std::min<int32_t>(kLanes, tol - d0 + 1);
        double s[kLanes] = {0};
        const int64_t first = nominal + d0;
        if (first >= -pad && first + kLanes - 1 <= int64_t{n} + pad - win) {
          // No clamping in this block: candidate l starts l samples after the first, so one load of
          // kLanes neighbouring samples feeds every lane (the compiler vectorizes across lanes).
          const float *c = xp.data() + (first + pad);
          for (int32_t i = 0; i < hop; i += 2) {
            const double pi = static_cast<double>(p[i]);
            for (int32_t l = 0; l < kLanes; ++l) s[l] += static_cast<double>(c[i + l]) * pi;
          }
        } else {
          const float *c[kLanes];
          for (int32_t l = 0; l < kLanes; ++l) c[l] = xp.data() + in_range(first + std::min(l, lanes - 1));
          for (int32_t i = 0; i < hop; i += 2) {
            const double pi = static_cast<double>(p[i]);
            for (int32_t l = 0; l < kLanes; ++l) s[l] += static_cast<double>(c[l][i]) * pi;
          }
        }
        for (int32_t l = 0; l < lanes; ++l) {
          if (s[l] > best_score) {
            best_score = s[l];
            best = nominal + d0 + l;
          }
        }
      }
    }
    const float *b = xp.data() + in_range(best);
    for (int32_t i = 0; i < win; ++i) {
      const size_t j = static_cast<size_t>(o) + i;
      y[j] = static_cast<float>(static_cast<double>(y[j]) + static_cast<double>(b[i]) * static_cast<double>(w[i]));
      norm[j] = static_cast<float>(static_cast<double>(norm[j]) + static_cast<double>(w[i]));
    }
    prev_end = best + hop;
  }
  for (int32_t i = 0; i < out_len; ++i) out[i] = norm[i] > 1e-3 ? static_cast<float>(static_cast<double>(y[i]) / static_cast<double>(norm[i])) : y[i];
  return sd::Status{};
}

}  // namespace

extern "C" {

int32_t sd_wsola_max_samples(void) { return kMaxSamples; }

int32_t sd_wsola_stretch(const float *in, int32_t n_in, int32_t sample_rate, float *out, int32_t out_len, sd_error *err) {
  try {
    const sd::Status s = stretch(in, n_in, sample_rate, out, out_len);
    s.copy_to(err);
    return s.ok() ? out_len : -1;
  } catch (const std::bad_alloc &) {
    sd::Status::error(SD_ERR_NOMEM, "wsola: out of memory").copy_to(err);
  } catch (...) {
    sd::Status::error(SD_ERR_INTERNAL, "wsola: unexpected failure").copy_to(err);
  }
  return -1;
}

}  // extern "C"
