#include "resampler.hpp"

#include "simd.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <numeric>

namespace sd {

namespace {

constexpr double kPi = 3.14159265358979323846;

// Zeroth-order modified Bessel function of the first kind (power series; converges fast for the
// arguments a Kaiser window uses).
double bessel_i0(double x) {
  double sum = 1.0, term = 1.0;
  const double q = x * x / 4.0;
  for (int k = 1; k < 200; ++k) {
    term *= q / (static_cast<double>(k) * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

}  // namespace

Status Resampler::create(int32_t from, int32_t to, Resampler *&out) {
  out = nullptr;
  if (from < 1000 || from > 384000 || to < 1000 || to > 384000)
    return Status::error(SD_ERR_INPUT, "cannot resample from %d Hz to %d Hz: rates must be integers in 1000..384000", from, to);
  const int32_t g = std::gcd(from, to);
  const int32_t up = to / g, down = from / g;
  if (up > SD_RESAMPLER_MAX_PHASES || down > 16 * SD_RESAMPLER_MAX_PHASES)
    return Status::error(SD_ERR_INPUT,
                         "cannot resample from %d Hz to %d Hz: the ratio %d/%d is too fine-grained; use a common rate "
                         "such as 8000, 16000, 22050, 44100 or 48000",
                         from, to, up, down);
  Resampler *r = new (std::nothrow) Resampler();
  if (!r) return Status::error(SD_ERR_NOMEM, "out of memory creating a resampler");
  r->from_ = from, r->to_ = to, r->up_ = up, r->down_ = down;
  if (up == 1 && down == 1) {
    out = r;
    return Status();
  }
  // Prototype in input-sample time: g(t) = c * sinc(c * t) * kaiser(t / half), c = cutoff / (fin/2).
  const double c = kRolloff * std::min(1.0, static_cast<double>(to) / from);
  const double half = kZeroCrossings / c;  // half-length in input samples
  const int reach = static_cast<int>(std::ceil(half));
  r->taps_ = 2 * reach + 1;
  r->first_ = -reach;
  try {
    r->table_.assign(static_cast<size_t>(up) * r->taps_, 0.0f);
  } catch (const std::bad_alloc &) {
    delete r;
    return Status::error(SD_ERR_NOMEM, "out of memory building resampler filters");
  }
  const double i0_beta = bessel_i0(kKaiserBeta);
  for (int32_t ph = 0; ph < up; ++ph) {
    // Output position = integer input index n0 + frac; tap j multiplies x[n0 + first + j].
    const double frac = static_cast<double>(ph) / up;
    float *row = r->table_.data() + static_cast<size_t>(ph) * r->taps_;
    for (int j = 0; j < r->taps_; ++j) {
      const double t = frac - (r->first_ + j);  // distance from the output point to the input sample
      if (std::fabs(t) >= half) continue;
      const double x = c * t;
      const double sinc = x == 0.0 ? 1.0 : std::sin(kPi * x) / (kPi * x);
      const double u = t / half;
      const double w = bessel_i0(kKaiserBeta * std::sqrt(std::max(0.0, 1.0 - u * u))) / i0_beta;
      row[j] = static_cast<float>(c * sinc * w);
    }
  }
  out = r;
  return Status();
}

int64_t Resampler::output_length(int64_t n_in) const {
  if (n_in <= 0) return 0;
  return (n_in * up_ + down_ - 1) / down_;
}

int32_t Resampler::process(const float *in, int32_t n_in, float *out, int64_t out_capacity, Status &status) const {
  if (n_in <= 0) {
    status = Status::error(SD_ERR_INPUT, "audio is empty (0 samples); pass at least one sample");
    return -1;
  }
  if (!in) {
    status = Status::error(SD_ERR_INTERNAL, "samples pointer is null");
    return -1;
  }
  if (n_in > SD_MAX_INPUT_SAMPLES) {
    status = Status::error(SD_ERR_INPUT, "audio has %d samples; at most %d are accepted per call", n_in, SD_MAX_INPUT_SAMPLES);
    return -1;
  }
  float peak = 0;
  for (int32_t i = 0; i < n_in; ++i) {
    if (!std::isfinite(in[i])) {
      status = Status::error(SD_ERR_INPUT, "audio sample %d is %s; samples must be finite numbers", i,
                             std::isnan(in[i]) ? "NaN" : "infinite");
      return -1;
    }
    peak = std::max(peak, std::fabs(in[i]));
  }
  const int64_t n_out = output_length(n_in);
  if (n_out > INT32_MAX) {
    status = Status::error(SD_ERR_INPUT, "resampled audio would have %lld samples; that is too long", static_cast<long long>(n_out));
    return -1;
  }
  if (!out || out_capacity < n_out) {
    status = Status::error(SD_ERR_INTERNAL, "output buffer holds %lld floats; %lld are needed",
                           static_cast<long long>(out ? out_capacity : 0), static_cast<long long>(n_out));
    return -1;
  }
  if (up_ == 1 && down_ == 1) {
    std::copy(in, in + n_in, out);
    status = Status();
    return n_in;
  }
  const int taps = taps_;
  // Near FLT_MAX the float partial sums overflow although the filtered value is bounded by
  // peak * sum|h|: such (absurd, but finite) clips take a double-precision path that saturates
  // at the float range instead of returning infinities.
  if (peak > 1e30f) {
    for (int64_t m = 0; m < n_out; ++m) {
      const int64_t pos = m * down_;
      const int64_t n0 = pos / up_;
      const float *h = table_.data() + static_cast<size_t>(pos - n0 * up_) * taps;
      const int64_t start = n0 + first_;
      double acc = 0;
      for (int64_t j = std::max<int64_t>(0, -start); j < taps && start + j < n_in; ++j) acc += static_cast<double>(h[j]) * in[start + j];
      const double limit = std::numeric_limits<float>::max();
      out[m] = static_cast<float>(std::clamp(acc, -limit, limit));
    }
    status = Status();
    return static_cast<int32_t>(n_out);
  }
  for (int64_t m = 0; m < n_out; ++m) {
    const int64_t pos = m * down_;
    const int64_t n0 = pos / up_;
    const int ph = static_cast<int>(pos - n0 * up_);
    const float *h = table_.data() + static_cast<size_t>(ph) * taps;
    const int64_t start = n0 + first_;
    // Only the taps that land inside the clip contribute (zeros outside).
    const int j0 = start < 0 ? static_cast<int>(-start) : 0;
    const int j1 = start + taps > n_in ? static_cast<int>(n_in - start) : taps;
    // Eight running sums (two 4-lane vectors) instead of one: the dot product is no longer one
    // long dependency chain. Lanes are combined in a fixed order, so every target rounds alike.
    v4f lo = {0, 0, 0, 0}, hi = {0, 0, 0, 0};
    int j = j0;
    for (; j + 8 <= j1; j += 8) {
      lo += load4(h + j) * load4(in + start + j);
      hi += load4(h + j + 4) * load4(in + start + j + 4);
    }
    float acc = ((lo[0] + lo[1]) + (lo[2] + lo[3])) + ((hi[0] + hi[1]) + (hi[2] + hi[3]));
    for (; j < j1; ++j) acc += h[j] * in[start + j];
    out[m] = acc;
  }
  status = Status();
  return static_cast<int32_t>(n_out);
}

}  // namespace sd
