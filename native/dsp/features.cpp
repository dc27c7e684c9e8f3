#include "features.hpp"

#include "simd.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <new>

namespace sd {

namespace {

constexpr double kPi = 3.14159265358979323846;

bool is_int(double v) { return std::isfinite(v) && v == std::floor(v); }

// librosa.hz_to_mel / mel_to_hz (Slaney's auditory toolbox scale, or HTK).
double hz_to_mel(double f, int scale) {
  if (scale == SD_MEL_SCALE_HTK) return 2595.0 * std::log10(1.0 + f / 700.0);
  const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
  const double logstep = std::log(6.4) / 27.0;
  return f >= min_log_hz ? min_log_mel + std::log(f / min_log_hz) / logstep : f / f_sp;
}

double mel_to_hz(double m, int scale) {
  if (scale == SD_MEL_SCALE_HTK) return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0);
  const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
  const double logstep = std::log(6.4) / 27.0;
  return m >= min_log_mel ? min_log_hz * std::exp(logstep * (m - min_log_mel)) : f_sp * m;
}

// Natural log of a positive, finite float using only IEEE-754 float arithmetic, so the addon
// (glibc) and the wasm build (musl) produce bit-identical features; branch-free so the log loop
// vectorizes. x = m * 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s), s = (m-1)/(m+1),
// |s| <= 0.1716, series to s^9 (truncation < 1e-9 relative); ln 2 split so e*ln2 adds no error.
inline float portable_ln(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  int32_t e = static_cast<int32_t>(bits >> 23) - 127;  // x > 0: no sign bit
  uint32_t mbits = (bits & 0x007fffffu) | 0x3f800000u;  // m in [1, 2)
  const uint32_t big = mbits > 0x3fb504f3u ? 1u : 0u;  // m > sqrt(2): use m/2, e+1
  mbits -= big << 23;
  e += static_cast<int32_t>(big);
  float m;
  std::memcpy(&m, &mbits, sizeof m);
  const float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
  const float poly = 1.0f + s2 * (1.0f / 3 + s2 * (1.0f / 5 + s2 * (1.0f / 7 + s2 * (1.0f / 9))));
  const float ef = static_cast<float>(e);
  return ef * 0.693145751953125f + (2.0f * s * poly + ef * 1.4286068203094173e-06f);
}

// e^x with the same discipline as portable_ln (float arithmetic only, no libm): x = k ln2 + r,
// |r| <= ln2/2, Taylor series to r^7 (truncation < 3e-8 relative), 2^k put in the exponent bits.
// x is clamped to [-87, 88], where 2^k stays a normal float.
inline float portable_exp(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to an integer
  const float k = (x * 1.4426950408889634f + kRound) - kRound;
  const float r = (x - k * 0.693145751953125f) - k * 1.4286068203094173e-06f;
  const float poly =
      1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040)))))));
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return poly * scale;
}

}  // namespace

int FeatureParams::base_dims() const {
  switch (kind) {
    case SD_KIND_SPECTROGRAM: return n_fft / 2 + 1;
    case SD_KIND_LOGMEL: return n_mels;
    default: return n_mfcc;
  }
}

// Power of finite but absurd samples (|x| > ~1e19) exceeds float range; saturating keeps the
// features finite instead of turning them into inf/NaN downstream (found by native/fuzz).
inline float saturate_float(double v) { return static_cast<float>(std::min(v, static_cast<double>(FLT_MAX))); }

Status parse_feature_params(const double *v, int32_t n, FeatureParams &p) {
  if (!v) return Status::error(SD_ERR_INTERNAL, "feature parameters are missing (null pointer)");
  if (n < SD_P_COUNT)
    return Status::error(SD_ERR_CONFIG, "invalid feature config: got %d parameters, expected at least %d", n,
                         SD_P_COUNT);
  // Integer fields must be exact integers in int range before they are converted.
  static const int int_fields[] = {SD_P_SAMPLE_RATE, SD_P_KIND,       SD_P_N_FFT,    SD_P_WIN_LENGTH, SD_P_HOP_LENGTH,
                                   SD_P_WINDOW,      SD_P_CENTER,     SD_P_PAD_MODE, SD_P_POWER,      SD_P_N_MELS,
                                   SD_P_MEL_SCALE,   SD_P_MEL_NORM,   SD_P_LOG_TYPE, SD_P_N_MFCC,     SD_P_DELTAS,
                                   SD_P_DELTA_WIDTH, SD_P_NUM_FRAMES, SD_P_LOG_HAS_TOP_DB, SD_P_LOG_REF_IS_MAX,
                                   SD_P_HAS_NORMALIZATION};
  static const char *const int_names[] = {"sampleRate", "kind",      "nFft",     "winLength", "hopLength",
                                          "window",     "center",    "padMode",  "power",     "nMels",
                                          "melScale",   "melNorm",   "log.type", "nMfcc",     "deltas",
                                          "deltaWidth", "numFrames", "log.topDb", "log.ref",  "normalization"};
  for (size_t i = 0; i < sizeof int_fields / sizeof int_fields[0]; ++i) {
    const double x = v[int_fields[i]];
    if (!is_int(x) || std::fabs(x) > 1e9)
      return Status::error(SD_ERR_CONFIG, "invalid feature config: %s must be an integer (got %g)", int_names[i], x);
  }
  p.sample_rate = static_cast<int>(v[SD_P_SAMPLE_RATE]);
  p.kind = static_cast<int>(v[SD_P_KIND]);
  p.n_fft = static_cast<int>(v[SD_P_N_FFT]);
  p.win_length = static_cast<int>(v[SD_P_WIN_LENGTH]);
  p.hop_length = static_cast<int>(v[SD_P_HOP_LENGTH]);
  p.window = static_cast<int>(v[SD_P_WINDOW]);
  p.center = v[SD_P_CENTER] != 0;
  p.pad_mode = static_cast<int>(v[SD_P_PAD_MODE]);
  p.pre_emphasis = v[SD_P_PRE_EMPHASIS];
  p.power = static_cast<int>(v[SD_P_POWER]);
  p.n_mels = static_cast<int>(v[SD_P_N_MELS]);
  p.f_min = v[SD_P_F_MIN];
  p.f_max = v[SD_P_F_MAX];
  p.mel_scale = static_cast<int>(v[SD_P_MEL_SCALE]);
  p.mel_norm = static_cast<int>(v[SD_P_MEL_NORM]);
  p.log_type = static_cast<int>(v[SD_P_LOG_TYPE]);
  p.amin = v[SD_P_LOG_AMIN];
  p.has_top_db = v[SD_P_LOG_HAS_TOP_DB] != 0;
  p.top_db = v[SD_P_LOG_TOP_DB];
  p.ref_is_max = v[SD_P_LOG_REF_IS_MAX] != 0;
  p.ref = v[SD_P_LOG_REF];
  p.ln_floor = v[SD_P_LOG_FLOOR];
  p.pcen_time_constant = v[SD_P_PCEN_TIME_CONSTANT];
  p.pcen_gain = v[SD_P_PCEN_GAIN];
  p.pcen_bias = v[SD_P_PCEN_BIAS];
  p.pcen_power = v[SD_P_PCEN_POWER];
  p.pcen_eps = v[SD_P_PCEN_EPS];
  p.n_mfcc = static_cast<int>(v[SD_P_N_MFCC]);
  p.deltas = static_cast<int>(v[SD_P_DELTAS]);
  p.delta_width = static_cast<int>(v[SD_P_DELTA_WIDTH]);
  p.num_frames = static_cast<int>(v[SD_P_NUM_FRAMES]);
  p.mean.clear();
  p.stddev.clear();
  // Validate before dims() is trusted to size the normalization block.
  Status s = validate_feature_params(p);
  if (!s.ok()) return s;
  const bool has_norm = v[SD_P_HAS_NORMALIZATION] != 0;
  const int d = p.dims();
  const int64_t expected = SD_P_COUNT + (has_norm ? 2 * static_cast<int64_t>(d) : 0);
  if (n != expected) {
    if (has_norm)
      return Status::error(SD_ERR_CONFIG,
                           "invalid feature config: normalization statistics have %lld values each; the features "
                           "have %d",
                           static_cast<long long>((n - SD_P_COUNT) / 2), d);
    return Status::error(SD_ERR_CONFIG, "invalid feature config: got %d parameters, expected %lld", n,
                         static_cast<long long>(expected));
  }
  if (has_norm) {
    p.mean.resize(d);
    p.stddev.resize(d);
    for (int i = 0; i < d; ++i) {
      const double m = v[SD_P_COUNT + i], sd = v[SD_P_COUNT + d + i];
      // Bounded so (x - mean) / std stays inside float range for every feature value the
      // pipeline can produce (log features |x| < 1e5, PCEN <= kMaxPcen before the DCT and deltas);
      // found by native/fuzz (std 1e-300 became inf).
      if (!std::isfinite(m) || !std::isfinite(sd) || !(sd >= 1e-12) || !(std::fabs(m) <= 1e12) || !(sd <= 1e12))
        return Status::error(SD_ERR_CONFIG,
                             "invalid feature config: normalization statistics must be finite with std > 0 (std in "
                             "[1e-12, 1e12], |mean| <= 1e12; feature %d: mean %g, std %g)",
                             i, m, sd);
      p.mean[i] = static_cast<float>(m);
      p.stddev[i] = static_cast<float>(sd);
    }
  }
  return Status();
}

Status validate_feature_params(const FeatureParams &p) {
#define SD_FAIL(...) return Status::error(SD_ERR_CONFIG, "invalid feature config: " __VA_ARGS__)
  if (p.sample_rate < 1000 || p.sample_rate > 192000)
    SD_FAIL("sampleRate %d must be an integer in 1000..192000", p.sample_rate);
  if (p.kind < SD_KIND_SPECTROGRAM || p.kind > SD_KIND_MFCC) SD_FAIL("kind must be spectrogram, logmel or mfcc");
  if (p.n_fft < 16 || p.n_fft > 65536 || (p.n_fft & (p.n_fft - 1)) != 0)
    SD_FAIL("nFft %d must be a power of two in 16..65536", p.n_fft);
  if (p.win_length < 2 || p.win_length > p.n_fft) SD_FAIL("winLength %d must be in 2..nFft (%d)", p.win_length, p.n_fft);
  if (p.hop_length < 1 || p.hop_length > p.n_fft) SD_FAIL("hopLength %d must be in 1..nFft (%d)", p.hop_length, p.n_fft);
  if (p.window != SD_WINDOW_HANN && p.window != SD_WINDOW_HAMMING) SD_FAIL("window must be hann or hamming");
  if (p.pad_mode != SD_PAD_CONSTANT && p.pad_mode != SD_PAD_REFLECT) SD_FAIL("padMode must be constant or reflect");
  if (!(p.pre_emphasis >= 0 && p.pre_emphasis < 1)) SD_FAIL("preEmphasis %g must be in [0, 1)", p.pre_emphasis);
  if (p.power != 1 && p.power != 2) SD_FAIL("power %d must be 1 or 2", p.power);
  const int n_bins = p.n_fft / 2 + 1;
  const double nyquist = p.sample_rate / 2.0;
  if (p.kind != SD_KIND_SPECTROGRAM) {
    if (p.n_mels < 1 || p.n_mels > n_bins) SD_FAIL("nMels %d must be in 1..nFft/2+1 (%d)", p.n_mels, n_bins);
    if (!(p.f_min >= 0 && p.f_min < p.f_max)) SD_FAIL("fMin %g must be >= 0 and below fMax %g", p.f_min, p.f_max);
    if (!(p.f_max <= nyquist))
      SD_FAIL("fMax %g is above the Nyquist frequency %g of sampleRate %d", p.f_max, nyquist, p.sample_rate);
    if (p.mel_scale != SD_MEL_SCALE_SLANEY && p.mel_scale != SD_MEL_SCALE_HTK) SD_FAIL("melScale must be slaney or htk");
    if (p.mel_norm != SD_MEL_NORM_SLANEY && p.mel_norm != SD_MEL_NORM_NONE) SD_FAIL("melNorm must be slaney or none");
  }
  if (p.kind == SD_KIND_MFCC && (p.n_mfcc < 1 || p.n_mfcc > p.n_mels))
    SD_FAIL("nMfcc %d must be in 1..nMels (%d)", p.n_mfcc, p.n_mels);
  if (p.log_type == SD_LOG_DB) {
    // amin is applied in float: below FLT_MIN it rounds to 0 and silence becomes -inf dB (native/fuzz).
    if (!(p.amin >= FLT_MIN) || !std::isfinite(p.amin)) SD_FAIL("log.amin %g must be > 0 and at least 1.2e-38 (float range)", p.amin);
    if (p.has_top_db && !(p.top_db > 0 && std::isfinite(p.top_db))) SD_FAIL("log.topDb %g must be > 0 or null", p.top_db);
    if (!p.ref_is_max && !(p.ref > 0 && std::isfinite(p.ref))) SD_FAIL("log.ref must be 'max' or a positive number");
  } else if (p.log_type == SD_LOG_LN) {
    if (!(p.ln_floor >= FLT_MIN) || !std::isfinite(p.ln_floor))
      SD_FAIL("log.floor %g must be > 0 and at least 1.2e-38 (float range)", p.ln_floor);
  } else if (p.log_type == SD_LOG_PCEN) {
    if (!(p.pcen_time_constant >= 1e-3 && p.pcen_time_constant <= 100))
      SD_FAIL("log.timeConstant %g must be in 0.001..100 seconds", p.pcen_time_constant);
    if (!(p.pcen_gain >= 0 && p.pcen_gain <= 1)) SD_FAIL("log.gain %g must be in 0..1", p.pcen_gain);
    if (!(p.pcen_bias >= 1e-6 && p.pcen_bias <= 1e6)) SD_FAIL("log.bias %g must be in 1e-6..1e6", p.pcen_bias);
    if (!(p.pcen_power >= 1e-3 && p.pcen_power <= 1)) SD_FAIL("log.power %g must be in 0.001..1", p.pcen_power);
    if (!(p.pcen_eps >= 1e-12 && p.pcen_eps <= 1000)) SD_FAIL("log.eps %g must be in 1e-12..1000", p.pcen_eps);
  } else {
    SD_FAIL("log.type must be db, ln or pcen");
  }
  if (p.deltas < 0 || p.deltas > 2) SD_FAIL("deltas %d must be 0, 1 or 2", p.deltas);
  if (p.delta_width < 3 || p.delta_width % 2 == 0 || p.delta_width > 99)
    SD_FAIL("deltaWidth %d must be an odd integer in 3..99", p.delta_width);
  if (p.num_frames < 0 || p.num_frames > 100000) SD_FAIL("numFrames %d must be an integer in 0..100000", p.num_frames);
#undef SD_FAIL
  return Status();
}

std::vector<double> mel_filterbank(int sr, int n_fft, int n_mels, double f_min, double f_max, int scale, int norm) {
  const int n_bins = n_fft / 2 + 1;
  std::vector<double> mel_f(n_mels + 2);
  const double lo = hz_to_mel(f_min, scale), hi = hz_to_mel(f_max, scale);
  for (int i = 0; i < n_mels + 2; ++i) mel_f[i] = mel_to_hz(lo + (hi - lo) * i / (n_mels + 1), scale);
  std::vector<double> w(static_cast<size_t>(n_mels) * n_bins, 0.0);
  for (int m = 0; m < n_mels; ++m) {
    const double fdiff_lo = mel_f[m + 1] - mel_f[m], fdiff_hi = mel_f[m + 2] - mel_f[m + 1];
    const double enorm = norm == SD_MEL_NORM_SLANEY ? 2.0 / (mel_f[m + 2] - mel_f[m]) : 1.0;
    for (int k = 0; k < n_bins; ++k) {
      const double f = static_cast<double>(k) * sr / n_fft;
      const double lower = (f - mel_f[m]) / fdiff_lo, upper = (mel_f[m + 2] - f) / fdiff_hi;
      const double v = std::max(0.0, std::min(lower, upper));
      w[static_cast<size_t>(m) * n_bins + k] = v * enorm;
    }
  }
  return w;
}

std::vector<double> dct2_ortho_matrix(int n_out, int n_in) {
  std::vector<double> d(static_cast<size_t>(n_out) * n_in);
  for (int k = 0; k < n_out; ++k) {
    const double scale = k == 0 ? std::sqrt(1.0 / n_in) : std::sqrt(2.0 / n_in);
    for (int n = 0; n < n_in; ++n) d[static_cast<size_t>(k) * n_in + n] = scale * std::cos(kPi * k * (2 * n + 1) / (2.0 * n_in));
  }
  return d;
}

FeatureExtractor::FeatureExtractor(const FeatureParams &params) : p_(params) {}

FeatureExtractor::~FeatureExtractor() {
  pair_fft_destroy(fft_);
  quad_fft_destroy(quad_);
}

Status FeatureExtractor::create(const FeatureParams &params, FeatureExtractor *&out) {
  out = nullptr;
  Status s = validate_feature_params(params);
  if (!s.ok()) return s;
  if (!params.mean.empty() &&
      (static_cast<int>(params.mean.size()) != params.dims() || params.stddev.size() != params.mean.size()))
    return Status::error(SD_ERR_CONFIG, "invalid feature config: normalization statistics have %d values; the features have %d",
                         static_cast<int>(params.mean.size()), params.dims());
  FeatureExtractor *ex = new (std::nothrow) FeatureExtractor(params);
  if (!ex) return Status::error(SD_ERR_NOMEM, "out of memory creating the feature extractor");
  const FeatureParams &p = ex->p_;
  ex->n_bins_ = p.n_fft / 2 + 1;
  ex->base_ = p.base_dims();
  ex->dims_ = p.dims();
  ex->pad_ = p.center ? p.n_fft / 2 : 0;
  ex->win_offset_ = (p.n_fft - p.win_length) / 2;
  // Periodic window (librosa fftbins=True / torch periodic=True), zero-padded to n_fft by the offset.
  ex->window_.resize(p.win_length);
  const double a0 = p.window == SD_WINDOW_HANN ? 0.5 : 0.54;
  for (int i = 0; i < p.win_length; ++i)
    ex->window_[i] = (a0 - (1.0 - a0) * std::cos(2.0 * kPi * i / p.win_length));
  ex->fft_ = pair_fft_create(p.n_fft);
  if (quad_fft_supported()) ex->quad_ = quad_fft_create(p.n_fft);  // stays null without AVX2
  if (!ex->fft_) {
    delete ex;
    return Status::error(SD_ERR_NOMEM, "out of memory allocating the FFT plan");
  }
  if (p.kind != SD_KIND_SPECTROGRAM) {
    const std::vector<double> w = mel_filterbank(p.sample_rate, p.n_fft, p.n_mels, p.f_min, p.f_max, p.mel_scale, p.mel_norm);
    // fMin a rounding error below fMax makes adjacent mel edges equal: 0/0 weights (native/fuzz).
    for (double v : w)
      if (!std::isfinite(v)) {
        const Status s = Status::error(
            SD_ERR_CONFIG, "invalid feature config: fMin %g and fMax %g are too close for %d mel bands; widen the range",
            p.f_min, p.f_max, p.n_mels);
        delete ex;  // p refers into ex
        return s;
      }
    const int nb = ex->n_bins_;
    for (int m = 0; m < p.n_mels; ++m) {
      int first = nb, last = -1;
      for (int k = 0; k < nb; ++k)
        if (w[static_cast<size_t>(m) * nb + k] != 0.0) {
          first = std::min(first, k);
          last = k;
        }
      if (last < 0) first = 0, last = -1;  // an empty filter (too many mels for nFft) yields 0 power
      ex->mel_start_.push_back(first);
      ex->mel_len_.push_back(last - first + 1);
      ex->mel_offset_.push_back(static_cast<int>(ex->mel_weights_.size()));
      for (int k = first; k <= last; ++k) ex->mel_weights_.push_back((w[static_cast<size_t>(m) * nb + k]));
    }
  }
  if (p.kind == SD_KIND_MFCC) {
    const std::vector<double> d = dct2_ortho_matrix(p.n_mfcc, p.n_mels);
    ex->dct_.resize(d.size());
    for (int c = 0; c < p.n_mfcc; ++c)
      for (int m = 0; m < p.n_mels; ++m)
        ex->dct_[static_cast<size_t>(m) * p.n_mfcc + c] = static_cast<float>(d[static_cast<size_t>(c) * p.n_mels + m]);
  }
  if (!p.stddev.empty()) {
    ex->inv_std_.resize(p.stddev.size());
    for (size_t i = 0; i < p.stddev.size(); ++i) ex->inv_std_[i] = 1.0f / p.stddev[i];
  }
  ex->spectra_.resize(4 * static_cast<size_t>(ex->n_bins_));
  out = ex;
  return Status();
}

int32_t FeatureExtractor::natural_frames(int64_t n_samples) const {
  const int64_t padded = std::max<int64_t>(n_samples + 2 * static_cast<int64_t>(pad_), p_.n_fft);
  return static_cast<int32_t>(1 + (padded - p_.n_fft) / p_.hop_length);
}

int32_t FeatureExtractor::frames_for(int64_t n_samples) const {
  if (n_samples <= 0 || n_samples > SD_MAX_INPUT_SAMPLES) return 0;
  const int32_t frames = p_.num_frames > 0 ? p_.num_frames : natural_frames(n_samples);
  return static_cast<int64_t>(frames) * dims_ > SD_MAX_OUTPUT_VALUES ? 0 : frames;
}

int32_t FeatureExtractor::compute(const float *x, int32_t n, float *out, int64_t out_capacity, Status &status) {
  if (n <= 0) {
    status = Status::error(SD_ERR_INPUT, "audio is empty (0 samples); pass at least one sample");
    return -1;
  }
  if (n > SD_MAX_INPUT_SAMPLES) {
    status = Status::error(SD_ERR_INPUT, "audio has %d samples; at most %d are accepted per call", n, SD_MAX_INPUT_SAMPLES);
    return -1;
  }
  const int32_t out_frames = frames_for(n);
  if (out_frames == 0) {
    status = Status::error(SD_ERR_INPUT,
                           "audio of %d samples would give %lld feature values (more than %d); split it or use a "
                           "larger hopLength",
                           n, static_cast<long long>(natural_frames(n)) * dims_, SD_MAX_OUTPUT_VALUES);
    return -1;
  }
  // Size errors first: a binding may pass no samples just to learn what is wrong with the length.
  if (!x) {
    status = Status::error(SD_ERR_INTERNAL, "samples pointer is null");
    return -1;
  }
  // Exponent bits all ones = NaN or Inf; an integer OR-reduction vectorizes, the slow search only
  // runs for bad input.
  uint32_t non_finite = 0;
  for (int32_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    non_finite |= (bits & 0x7f800000u) == 0x7f800000u ? 1u : 0u;
  }
  for (int32_t i = 0; non_finite && i < n; ++i)
    if (!std::isfinite(x[i])) {
      status = Status::error(SD_ERR_INPUT, "audio sample %d is %s; samples must be finite numbers", i,
                             std::isnan(x[i]) ? "NaN" : "infinite");
      return -1;
    }
  if (!out || out_capacity < static_cast<int64_t>(out_frames) * dims_) {
    status = Status::error(SD_ERR_INTERNAL, "output buffer holds %lld floats; %lld are needed",
                           static_cast<long long>(out ? out_capacity : 0), static_cast<long long>(out_frames) * dims_);
    return -1;
  }

  // 1. The signal to frame. A clip too short for numFrames is extended with silence first (centred),
  //    so padded frames are exactly the features of silence next to the clip.
  const int n_fft = p_.n_fft, hop = p_.hop_length, pad = pad_;
  const int32_t natural = natural_frames(n);
  int64_t lead = 0, len = n;
  if (p_.num_frames > 0 && natural < p_.num_frames) {
    lead = static_cast<int64_t>((p_.num_frames - natural) / 2) * hop;
    len = static_cast<int64_t>(p_.num_frames - 1) * hop + n_fft - 2 * static_cast<int64_t>(pad);
  }
  const int64_t padded = std::max<int64_t>(len + 2 * static_cast<int64_t>(pad), n_fft);
  if (static_cast<int64_t>(signal_.size()) < padded) signal_.resize(padded);
  float *sig = signal_.data();
  std::fill(sig, sig + padded, 0.0f);
  float *y = sig + pad;
  std::copy(x, x + n, y + lead);
  const float a = static_cast<float>(p_.pre_emphasis);
  if (a != 0.0f) {
    const int64_t last = std::min<int64_t>(lead + n, len - 1);  // silence after the clip gets -a*x[n-1]
    for (int64_t i = last; i > lead; --i) y[i] -= a * y[i - 1];
  }
  if (pad > 0 && p_.pad_mode == SD_PAD_REFLECT) {
    // numpy 'reflect' (edge sample not repeated), mirrored repeatedly when the pad exceeds the signal.
    const int64_t period = 2 * (len - 1);
    auto mirror = [&](int64_t j) -> float {
      if (len == 1) return y[0];
      j %= period;
      if (j < 0) j += period;
      return y[j < len ? j : period - j];
    };
    for (int i = 1; i <= pad; ++i) {
      y[-i] = mirror(-i);
      y[len - 1 + i] = mirror(len - 1 + i);
    }
  }

  // 2. Windowed frame energies: they pick the frames to keep when cropping, and let silent frames
  //    skip the FFT (an all-zero frame has an all-zero spectrum).
  const int32_t total = natural_frames(len);
  const int wo = win_offset_, wl = p_.win_length;
  const double *win = window_.data();
  if (static_cast<int32_t>(energy_.size()) < total) energy_.resize(total);
  if (static_cast<int32_t>(cum_.size()) < total + 1) cum_.resize(total + 1);
  double *energy = energy_.data(), *cum = cum_.data();
  cum[0] = 0.0;
  for (int32_t t = 0; t < total; ++t) {
    const float *f = sig + static_cast<int64_t>(t) * hop + wo;
    // Eight independent partial sums: vectorizable without reassociation (same result everywhere).
    double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int i = 0;
    for (; i + 8 <= wl; i += 8)
      for (int j = 0; j < 8; ++j) {
        const double v = static_cast<double>(f[i + j]) * win[i + j];
        lanes[j] += v * v;
      }
    for (; i < wl; ++i) {
      const double v = static_cast<double>(f[i]) * win[i];
      lanes[0] += v * v;
    }
    const double e = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
    energy[t] = e;
    cum[t + 1] = cum[t] + e;
  }
  int32_t first = 0;
  if (p_.num_frames > 0 && total > p_.num_frames) {
    // The loudest numFrames-long stretch (the earliest one on ties).
    const int32_t want = p_.num_frames;
    double best = -1.0;
    for (int32_t s = 0; s + want <= total; ++s) {
      const double e = cum[s + want] - cum[s];
      if (e > best * (1.0 + 1e-12) + 1e-300) best = e, first = s;
    }
  }

  // 3. Spectrum (and mel) for each kept frame, two non-silent frames per FFT call.
  const int width = p_.kind == SD_KIND_SPECTROGRAM ? n_bins_ : p_.n_mels;
  const int64_t rows_needed = static_cast<int64_t>(out_frames) * width;
  if (static_cast<int64_t>(rows_.size()) < rows_needed) rows_.resize(rows_needed);
  float *rows = rows_.data();
  auto frame_at = [&](int32_t k) { return sig + static_cast<int64_t>(first + k) * hop + wo; };
  // Rows of up to `lanes` frames from lane-interleaved spectra (ks[l] < 0: no frame in lane l);
  // the frames go through the mel weights together, two lanes per vector.
  const int lanes = quad_ ? 4 : 2;
  auto finish_rows = [&](const int32_t *ks, const double *spectra) {
    for (int l = 0; l < lanes; ++l) {
      if (ks[l] < 0 || p_.kind != SD_KIND_SPECTROGRAM) continue;
      float *row = rows + static_cast<int64_t>(ks[l]) * width;
      for (int b = 0; b < n_bins_; ++b) row[b] = saturate_float(spectra[lanes * b + l]);
    }
    if (p_.kind == SD_KIND_SPECTROGRAM) return;
    const double *wts = mel_weights_.data();
    for (int g = 0; g < lanes; g += 2) {
      if (ks[g] < 0 && ks[g + 1] < 0) continue;
      float *row_a = ks[g] >= 0 ? rows + static_cast<int64_t>(ks[g]) * width : nullptr;
      float *row_b = ks[g + 1] >= 0 ? rows + static_cast<int64_t>(ks[g + 1]) * width : nullptr;
      for (int m = 0; m < p_.n_mels; ++m) {
        const double *wm = wts + mel_offset_[m];
        const double *pm = spectra + lanes * mel_start_[m] + g;
        v2d acc = {0.0, 0.0};
        for (int j = 0, len_m = mel_len_[m]; j < len_m; ++j) acc += wm[j] * load2(pm + lanes * j);
        if (row_a) row_a[m] = saturate_float(acc[0]);
        if (row_b) row_b[m] = saturate_float(acc[1]);
      }
    }
  };
  double *spectra = spectra_.data();
  int32_t batch[4] = {-1, -1, -1, -1};
  const float *frames[4] = {nullptr, nullptr, nullptr, nullptr};
  int filled = 0;
  auto flush = [&]() {
    if (filled == 0) return;
    if (quad_)
      quad_fft_spectra(quad_, frames, window_.data(), wo, wl, p_.power, spectra);
    else
      pair_fft_spectra(fft_, frames, window_.data(), wo, wl, p_.power, spectra);
    finish_rows(batch, spectra);
    for (int l = 0; l < 4; ++l) batch[l] = -1, frames[l] = nullptr;
    filled = 0;
  };
  for (int32_t k = 0; k < out_frames; ++k) {
    if (energy[first + k] == 0.0) {
      float *row = rows + static_cast<int64_t>(k) * width;
      std::fill(row, row + width, 0.0f);
      continue;
    }
    batch[filled] = k;
    frames[filled] = frame_at(k);
    if (++filled == lanes) flush();
  }
  flush();

  // 4. Log compression over the kept rows (reference and top_db are per output, as librosa does per clip).
  const int64_t count = rows_needed;
  if (p_.log_type == SD_LOG_DB) {
    const float amin = static_cast<float>(p_.amin);
    double ref = p_.ref;
    if (p_.ref_is_max) {
      float mx = 0.0f;
      for (int64_t i = 0; i < count; ++i) mx = std::max(mx, rows[i]);
      ref = mx;
    }
    const float ref_db = static_cast<float>(10.0 * std::log10(std::max(ref, p_.amin)));
    constexpr float kDbPerNat = 4.342944819032518f;  // 10 / ln(10)
    for (int64_t i = 0; i < count; ++i) rows[i] = kDbPerNat * portable_ln(std::max(rows[i], amin)) - ref_db;
    float tops[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    int64_t i = 0;
    for (; i + 8 <= count; i += 8)
      for (int j = 0; j < 8; ++j) tops[j] = tops[j] > rows[i + j] ? tops[j] : rows[i + j];
    for (; i < count; ++i) tops[0] = std::max(tops[0], rows[i]);
    float top = tops[0];
    for (int j = 1; j < 8; ++j) top = std::max(top, tops[j]);
    if (p_.has_top_db) {
      const float lo = top - static_cast<float>(p_.top_db);
      for (int64_t i = 0; i < count; ++i) rows[i] = std::max(rows[i], lo);
    }
  } else if (p_.log_type == SD_LOG_LN) {
    const float fl = static_cast<float>(p_.ln_floor);
    for (int64_t i = 0; i < count; ++i) rows[i] = portable_ln(rows[i] + fl);
  } else {
    apply_pcen(rows, out_frames, width, energy + first);
  }

  // 5. Base features into the output (DCT for MFCC).
  const int dims = dims_, base = base_;
  for (int32_t r = 0; r < out_frames; ++r) {
    const float *src = rows + static_cast<int64_t>(r) * width;
    float *dst = out + static_cast<int64_t>(r) * dims;
    if (p_.kind == SD_KIND_MFCC) {
      // dct_ is stored mel-major, so the inner loop runs across coefficients (independent sums
      // that vectorize) while each coefficient still adds its terms in mel order.
      // Blocks of 8 coefficients accumulate in registers (two 4-lane vectors).
      const int nm = p_.n_mels, nc = p_.n_mfcc;
      const float *dct = dct_.data();
      int c0 = 0;
      for (; c0 + 8 <= nc; c0 += 8) {
        v4f lo = {0, 0, 0, 0}, hi = {0, 0, 0, 0};
        for (int m = 0; m < nm; ++m) {
          const float *basis = dct + static_cast<int64_t>(m) * nc + c0;
          const float v = src[m];
          lo += load4(basis) * v;
          hi += load4(basis + 4) * v;
        }
        store4(dst + c0, lo);
        store4(dst + c0 + 4, hi);
      }
      for (; c0 + 4 <= nc; c0 += 4) {
        v4f acc = {0, 0, 0, 0};
        for (int m = 0; m < nm; ++m) acc += load4(dct + static_cast<int64_t>(m) * nc + c0) * src[m];
        store4(dst + c0, acc);
      }
      for (; c0 < nc; ++c0) {
        float acc = 0.0f;
        for (int m = 0; m < nm; ++m) acc += dct[static_cast<int64_t>(m) * nc + c0] * src[m];
        dst[c0] = acc;
      }
    } else {
      std::copy(src, src + width, dst);
    }
  }

  // 6. Deltas (torchaudio.functional.compute_deltas: replicate edges), delta-deltas from deltas.
  if (p_.deltas > 0) {
    const int half = (p_.delta_width - 1) / 2;
    const float denom = static_cast<float>(2.0 * half * (half + 1) * (2 * half + 1) / 6.0);
    for (int order = 1; order <= p_.deltas; ++order) {
      const int from = (order - 1) * base, to = order * base;
      for (int32_t r = 0; r < out_frames; ++r) {
        float *dst = out + static_cast<int64_t>(r) * dims + to;
        for (int c = 0; c < base; ++c) dst[c] = 0.0f;
        for (int k = 1; k <= half; ++k) {
          const int32_t ahead = std::min(r + k, out_frames - 1), behind = std::max(r - k, 0);
          const float *pa = out + static_cast<int64_t>(ahead) * dims + from;
          const float *pb = out + static_cast<int64_t>(behind) * dims + from;
          for (int c = 0; c < base; ++c) dst[c] += static_cast<float>(k) * (pa[c] - pb[c]);
        }
        for (int c = 0; c < base; ++c) dst[c] /= denom;
      }
    }
  }

  // 7. Per-feature normalization with stored statistics.
  if (!inv_std_.empty()) {
    const float *mean = p_.mean.data(), *is = inv_std_.data();
    for (int32_t r = 0; r < out_frames; ++r) {
      float *row = out + static_cast<int64_t>(r) * dims;
      for (int c = 0; c < dims; ++c) row[c] = (row[c] - mean[c]) * is[c];
    }
  }
  status = Status();
  return out_frames;
}

// PCEN (Wang et al. 2017; librosa.pcen's formula): per band, M[t] = (1 - s) M[t-1] + s E[t] with M
// starting at the first frame's E (librosa starts it at 1, the steady state of a unit energy, which is
// meant for int32-scaled input: here it would be 10^6 times a quiet band's energy), then
// (E / (eps + M)^gain + bias)^power - bias^power. s comes from the time constant T as librosa
// derives it: t = T * rate / hop frames, s = (sqrt(1 + 4 t^2) - 1) / (2 t^2). Frames that are
// exact silence (the centred padding of a short clip, zero energy) give 0 and leave M alone, so
// the gain control starts from the clip's first sound rather than from digital zeros.
// PCEN's largest output. The DCT is orthonormal, so an MFCC is at most sqrt(2 nMels) <= 256 times it
// (nMels <= 32769); a delta's weights sum to at most 1, so deltas are no larger than what they are of;
// normalization by std >= 1e-12 around |mean| <= 1e12 then gives at most (2.6e22 + 1e12) * 1e12, about
// 2.6e34: inside float.
constexpr float kMaxPcen = 1e20f;

void FeatureExtractor::apply_pcen(float *rows, int32_t frames, int width, const double *frame_energy) {
  const double t = p_.pcen_time_constant * p_.sample_rate / p_.hop_length;
  const float s = static_cast<float>((std::sqrt(1.0 + 4.0 * t * t) - 1.0) / (2.0 * t * t));
  const float gain = static_cast<float>(p_.pcen_gain), eps = static_cast<float>(p_.pcen_eps);
  const float bias = static_cast<float>(p_.pcen_bias), power = static_cast<float>(p_.pcen_power);
  const float bias_root = portable_exp(power * portable_ln(bias));
  if (static_cast<int>(smooth_.size()) < width) smooth_.resize(width);
  float *m = smooth_.data();
  bool started = false;
  for (int32_t r = 0; r < frames; ++r) {
    float *row = rows + static_cast<int64_t>(r) * width;
    if (frame_energy[r] == 0.0) {
      std::fill(row, row + width, 0.0f);
      continue;
    }
    if (!started) std::copy(row, row + width, m), started = true;
    for (int c = 0; c < width; ++c) {
      const float e = row[c];
      m[c] += s * (e - m[c]);
      const float agc = e * portable_exp(-gain * portable_ln(eps + m[c]));
      // Saturated like the energies: with power near 1 and gain near 0 PCEN is close to linear, so
      // absurd samples would give ~FLT_MAX here and the DCT, deltas or normalization would overflow
      // (found by native/fuzz). No clip of samples in [-1, 1] comes near the bound.
      row[c] = std::min(kMaxPcen, portable_exp(power * portable_ln(agc + bias)) - bias_root);  // (a NaN would become the bound too)
    }
  }
}

}  // namespace sd
