// Core DSP tests through the public C API (plus the mel/DCT builders): error paths, filterbank and
// DCT properties, fixed-length shaping, resampler frequency response, random configs under ASan.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../dsp/features.hpp"
#include "../dsp/pair_fft.hpp"
#include "../dsp/sd_dsp.h"
#include "check.h"
#include "extractor_fixture.h"

using namespace spoken_digits_test;


namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<float> sine(int sr, double f, int n, double amp = 0.5, double phase = 0) {
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>(amp * std::sin(2 * kPi * f * i / sr + phase));
  return x;
}

void test_config_errors() {
  struct Case {
    int index;
    double value;
    const char *needle;
  } cases[] = {
      {SD_P_N_FFT, 300, "nFft 300 must be a power of two"},
      {SD_P_N_FFT, 8, "nFft 8 must be a power of two"},
      {SD_P_WIN_LENGTH, 400, "winLength 400"},
      {SD_P_HOP_LENGTH, 0, "hopLength 0"},
      {SD_P_N_MELS, 200, "nMels 200 must be in 1..nFft/2+1 (129)"},
      {SD_P_F_MAX, 5000, "fMax 5000 is above the Nyquist frequency 4000"},
      {SD_P_F_MIN, 4000, "fMin 4000 must be >= 0 and below fMax"},
      {SD_P_SAMPLE_RATE, 500, "sampleRate 500"},
      {SD_P_SAMPLE_RATE, 8000.5, "sampleRate must be an integer"},
      {SD_P_SAMPLE_RATE, NAN, "sampleRate must be an integer"},
      {SD_P_N_MFCC, 41, "nMfcc 41 must be in 1..nMels (40)"},
      {SD_P_WINDOW, 7, "window must be hann or hamming"},
      {SD_P_KIND, -1, "kind must be spectrogram, logmel or mfcc"},
      {SD_P_LOG_AMIN, 0, "log.amin 0 must be > 0"},
      {SD_P_LOG_TOP_DB, -3, "log.topDb -3 must be > 0"},
      {SD_P_LOG_REF, 0, "log.ref must be 'max' or a positive number"},
      {SD_P_DELTAS, 3, "deltas 3 must be 0, 1 or 2"},
      {SD_P_DELTA_WIDTH, 4, "deltaWidth 4 must be an odd integer"},
      {SD_P_PRE_EMPHASIS, 1.0, "preEmphasis 1 must be in [0, 1)"},
      {SD_P_POWER, 3, "power 3 must be 1 or 2"},
      {SD_P_NUM_FRAMES, -1, "numFrames -1"},
  };
  const std::vector<float> x = sine(8000, 440, 800);
  for (const Case &c : cases) {
    std::vector<double> p = params();
    p[c.index] = c.value;
    Run r = run(p, x);
    CHECK(r.status == SD_ERR_CONFIG, "param %d = %g: status %d (%s)", c.index, c.value, r.status, r.message.c_str());
    CHECK(r.message.find(c.needle) != std::string::npos, "param %d = %g: message '%s' lacks '%s'", c.index, c.value,
          r.message.c_str(), c.needle);
  }
  // Normalization statistics: wrong count, non-finite values, std <= 0.
  std::vector<double> p = params();
  p[SD_P_HAS_NORMALIZATION] = 1;
  for (int i = 0; i < 2 * 19; ++i) p.push_back(1.0);
  Run r = run(p, x);
  CHECK(r.status == SD_ERR_CONFIG && r.message.find("normalization statistics have 19 values") != std::string::npos,
        "short statistics: %s", r.message.c_str());
  p = params();
  p[SD_P_HAS_NORMALIZATION] = 1;
  for (int i = 0; i < 40; ++i) p.push_back(i == 25 ? 0.0 : 1.0);
  r = run(p, x);
  CHECK(r.status == SD_ERR_CONFIG && r.message.find("std > 0") != std::string::npos, "zero std: %s", r.message.c_str());
  sd_error err{};
  CHECK(sd_extractor_create(nullptr, 0, &err) == nullptr && err.code != SD_OK, "null params accepted");
  CHECK(sd_extractor_create(p.data(), 3, &err) == nullptr && err.code == SD_ERR_CONFIG, "3 params accepted");
}

void test_input_errors() {
  const std::vector<double> p = params();
  Run r = run(p, {});
  CHECK(r.status == SD_ERR_INPUT && r.message.find("empty") != std::string::npos, "empty: %d %s", r.status, r.message.c_str());
  std::vector<float> x = sine(8000, 440, 1000);
  x[500] = NAN;
  r = run(p, x);
  CHECK(r.status == SD_ERR_INPUT && r.message.find("sample 500 is NaN") != std::string::npos, "NaN: %s", r.message.c_str());
  x[500] = INFINITY;
  r = run(p, x);
  CHECK(r.status == SD_ERR_INPUT && r.message.find("sample 500 is infinite") != std::string::npos, "Inf: %s", r.message.c_str());
  // Too many output values (hop 1, full spectrogram) is bad input, not an allocation attempt.
  {
    std::vector<double> q = params();
    q[SD_P_KIND] = SD_KIND_SPECTROGRAM;
    q[SD_P_HOP_LENGTH] = 1;
    q[SD_P_N_FFT] = 1024;
    q[SD_P_WIN_LENGTH] = 1024;
    sd_error e{};
    sd_extractor *big = sd_extractor_create(q.data(), SD_P_COUNT, &e);
    CHECK(big && sd_extractor_frames(big, 1 << 20) == 0, "oversized output not refused by frames()");
    std::vector<float> long_clip(1 << 20, 0.1f);
    CHECK(sd_extractor_compute(big, long_clip.data(), 1 << 20, nullptr, 0, &e) == -1 && e.code == SD_ERR_INPUT &&
              std::strstr(e.message, "feature values"),
          "oversized output: %s", e.message);
    sd_extractor_destroy(big);
  }
  // Output buffer too small is reported, not overrun.
  sd_error err{};
  sd_extractor *ex = sd_extractor_create(p.data(), SD_P_COUNT, &err);
  std::vector<float> out(10);
  const std::vector<float> y = sine(8000, 440, 1000);
  CHECK(sd_extractor_compute(ex, y.data(), 1000, out.data(), 10, &err) == -1 && err.code == SD_ERR_INTERNAL,
        "small output accepted");
  CHECK(sd_extractor_compute(nullptr, y.data(), 1000, out.data(), 10, &err) == -1, "null extractor accepted");
  sd_extractor_destroy(ex);
  // Resampler rates.
  CHECK(sd_resampler_create(0, 8000, &err) == nullptr && err.code == SD_ERR_INPUT, "rate 0 accepted");
  CHECK(sd_resampler_create(8000, 8001, &err) == nullptr && err.code == SD_ERR_INPUT &&
            std::strstr(err.message, "too fine-grained"),
        "8000->8001: %s", err.message);
  sd_resampler *rs = sd_resampler_create(48000, 8000, &err);
  CHECK(rs != nullptr, "48000->8000 refused: %s", err.message);
  float o[4];
  CHECK(sd_resampler_process(rs, nullptr, 0, o, 4, &err) == -1 && err.code == SD_ERR_INPUT, "empty resample accepted");
  x = sine(48000, 440, 60);
  x[3] = NAN;
  std::vector<float> ro(10);
  CHECK(sd_resampler_process(rs, x.data(), 60, ro.data(), 10, &err) == -1 && err.code == SD_ERR_INPUT, "NaN resample accepted");
  sd_resampler_destroy(rs);
}

void test_wsola() {
  sd_error err{};
  std::vector<float> x = sine(8000, 200, 4800);
  std::vector<float> y(4000);
  CHECK(sd_wsola_stretch(x.data(), 4800, 8000, y.data(), 4000, &err) == 4000, "4800 -> 4000 failed: %s", err.message);
  double peak = 0;
  for (float v : y) peak = std::max(peak, std::fabs(static_cast<double>(v)));
  CHECK(peak > 0.3 && peak < 1.5, "a stretched sine has peak %g", peak);
  // Edges: one sample in or out, shorter than a frame (ASan checks every read and write).
  float one = 0.5f, tiny[3];
  CHECK(sd_wsola_stretch(&one, 1, 8000, tiny, 3, &err) == 3, "1 -> 3 failed: %s", err.message);
  CHECK(sd_wsola_stretch(x.data(), 4800, 8000, tiny, 1, &err) == 1, "4800 -> 1 failed: %s", err.message);
  std::vector<float> big(200000);
  CHECK(sd_wsola_stretch(x.data(), 37, 44100, big.data(), 200000, &err) == 200000, "37 -> 200000 failed: %s", err.message);
  CHECK(sd_wsola_stretch(x.data(), 0, 8000, y.data(), 10, &err) == -1 && err.code == SD_ERR_INPUT, "empty input accepted");
  CHECK(sd_wsola_stretch(x.data(), 100, 8000, y.data(), 0, &err) == -1 && err.code == SD_ERR_INPUT, "empty output accepted");
  CHECK(sd_wsola_stretch(x.data(), 100, 8000, y.data(), (1 << 25) + 1, &err) == -1 && err.code == SD_ERR_INPUT, "enormous output accepted");
  CHECK(sd_wsola_stretch(x.data(), 100, 999, y.data(), 10, &err) == -1 && err.code == SD_ERR_INPUT, "rate 999 accepted");
  CHECK(sd_wsola_stretch(nullptr, 100, 8000, y.data(), 10, &err) == -1 && err.code == SD_ERR_INTERNAL, "null input accepted");
  x[7] = NAN;
  CHECK(sd_wsola_stretch(x.data(), 100, 8000, y.data(), 10, &err) == -1 && err.code == SD_ERR_INPUT &&
            std::string(err.message).find("sample 7 is NaN") != std::string::npos,
        "NaN accepted: %s", err.message);
}

void test_mel_and_dct() {
  // Slaney-normalized filters have unit area in Hz (height 2/(f_hi - f_lo), triangular).
  const int sr = 16000, n_fft = 2048, n_mels = 40;
  for (int scale : {SD_MEL_SCALE_SLANEY, SD_MEL_SCALE_HTK}) {
    std::vector<double> w = sd::mel_filterbank(sr, n_fft, n_mels, 0, 8000, scale, SD_MEL_NORM_SLANEY);
    const int nb = n_fft / 2 + 1;
    const double df = static_cast<double>(sr) / n_fft;
    for (int m = 2; m < n_mels; ++m) {  // the lowest filters are too narrow for a Riemann sum
      double area = 0, mn = 0;
      for (int k = 0; k < nb; ++k) {
        area += w[static_cast<size_t>(m) * nb + k] * df;
        mn = std::min(mn, w[static_cast<size_t>(m) * nb + k]);
      }
      CHECK(std::fabs(area - 1.0) < 0.02, "scale %d filter %d area %g", scale, m, area);
      CHECK(mn >= 0, "negative weight");
    }
    std::vector<double> u = sd::mel_filterbank(sr, n_fft, n_mels, 0, 8000, scale, SD_MEL_NORM_NONE);
    for (int m = 0; m < n_mels; ++m) {
      double peak = 0;
      for (int k = 0; k < nb; ++k) peak = std::max(peak, u[static_cast<size_t>(m) * nb + k]);
      CHECK(peak > 0.5 && peak <= 1.0 + 1e-12, "unnormalized filter %d peak %g", m, peak);
    }
  }
  // HTK: 1000 Hz is ~1000 mel, so with fMin 0, fMax 2000 Hz (1521.4 mel) and 1 filter the centre
  // (mel 760.7 -> 700*(10^(760.7/2595)-1) = 675.2 Hz) gets the largest weight.
  {
    std::vector<double> w = sd::mel_filterbank(8000, 4096, 1, 0, 2000, SD_MEL_SCALE_HTK, SD_MEL_NORM_NONE);
    int best = 0;
    for (int k = 0; k < 2049; ++k)
      if (w[k] > w[best]) best = k;
    const double f = best * 8000.0 / 4096;
    CHECK(std::fabs(f - 675.2) < 2.0, "htk centre at %g Hz", f);
  }
  // DCT-II ortho: the square matrix is orthonormal.
  for (int n : {1, 13, 40}) {
    std::vector<double> d = sd::dct2_ortho_matrix(n, n);
    double worst = 0;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        double dot = 0;
        for (int k = 0; k < n; ++k) dot += d[static_cast<size_t>(i) * n + k] * d[static_cast<size_t>(j) * n + k];
        worst = std::max(worst, std::fabs(dot - (i == j ? 1.0 : 0.0)));
      }
    CHECK(worst < 1e-12, "DCT %d not orthonormal (%g)", n, worst);
  }
}

// Fixed-length shaping: a short clip padded to N frames equals the natural features of the same
// clip with silence added around it, so padded frames are exactly what silence produces.
void test_shaping() {
  for (int kind : {SD_KIND_LOGMEL, SD_KIND_MFCC}) {
    for (int deltas : {0, 2}) {
      std::vector<double> p = params();
      p[SD_P_KIND] = kind;
      p[SD_P_DELTAS] = deltas;
      std::mt19937 rng(7);
      std::normal_distribution<float> g(0, 0.1f);
      std::vector<float> clip(2000);
      for (auto &v : clip) v = g(rng) + 0.3f * static_cast<float>(std::sin(0.3 * (&v - clip.data())));
      p[SD_P_NUM_FRAMES] = 100;
      Run shaped = run(p, clip);
      const int natural = 1 + 2000 / 80;  // 26 frames with centre padding
      const int lead = (100 - natural) / 2;
      std::vector<float> padded(static_cast<size_t>(lead) * 80, 0.0f);
      padded.insert(padded.end(), clip.begin(), clip.end());
      padded.resize(99 * 80, 0.0f);
      p[SD_P_NUM_FRAMES] = 0;
      Run ref = run(p, padded);
      CHECK(shaped.frames == 100 && ref.frames == 100, "frames %d / %d", shaped.frames, ref.frames);
      double worst = 0;
      for (size_t i = 0; i < shaped.data.size() && i < ref.data.size(); ++i)
        worst = std::max(worst, static_cast<double>(std::fabs(shaped.data[i] - ref.data[i])));
      CHECK(worst < 1e-4, "kind %d deltas %d: padded differs from silence by %g", kind, deltas, worst);
      if (worst >= 1e-4 && std::getenv("VERBOSE"))
        for (int t = 0; t < 100; ++t)
          std::fprintf(stderr, "row %d: %g vs %g\n", t, shaped.data[static_cast<size_t>(t) * shaped.dims], ref.data[static_cast<size_t>(t) * ref.dims]);
    }
  }
  // Cropping keeps the loudest stretch: a burst at 3.0-3.4 s of a 5 s clip lands inside 1 s.
  std::vector<double> p = params();
  p[SD_P_NUM_FRAMES] = 100;
  p[SD_P_KIND] = SD_KIND_LOGMEL;
  std::vector<float> x(40000, 0.0f);
  for (int i = 24000; i < 27200; ++i) x[i] = 0.5f * static_cast<float>(std::sin(2 * kPi * 700 * i / 8000.0));
  Run r = run(p, x);
  CHECK(r.frames == 100, "cropped frames %d", r.frames);
  // Loud frames (mel band near 700 Hz well above the silence value) must all be inside.
  int loud = 0;
  for (int t = 0; t < r.frames; ++t) {
    float mx = -1e9f;
    for (int m = 0; m < r.dims; ++m) mx = std::max(mx, r.data[static_cast<size_t>(t) * r.dims + m]);
    if (mx > -20) ++loud;
  }
  CHECK(loud >= 40 && loud <= 43, "crop kept %d loud frames of ~41", loud);
}

// Least-squares amplitude of a sinusoid at f over x[from, to), and the RMS of what is left.
void fit_sine(const std::vector<float> &x, int sr, double f, size_t from, size_t to, double *amp, double *resid_rms) {
  double ss = 0, cc = 0, sc = 0, xs = 0, xc = 0;
  for (size_t i = from; i < to; ++i) {
    const double s = std::sin(2 * kPi * f * i / sr), c = std::cos(2 * kPi * f * i / sr);
    ss += s * s, cc += c * c, sc += s * c, xs += x[i] * s, xc += x[i] * c;
  }
  const double det = ss * cc - sc * sc;
  const double a = (xs * cc - xc * sc) / det, b = (xc * ss - xs * sc) / det;
  *amp = std::sqrt(a * a + b * b);
  double r = 0;
  for (size_t i = from; i < to; ++i) {
    const double e = x[i] - (a * std::sin(2 * kPi * f * i / sr) + b * std::cos(2 * kPi * f * i / sr));
    r += e * e;
  }
  *resid_rms = std::sqrt(r / static_cast<double>(to - from));
}

std::vector<float> resample(int from, int to, const std::vector<float> &x) {
  sd_error err{};
  sd_resampler *rs = sd_resampler_create(from, to, &err);
  if (!rs) return {};
  std::vector<float> y(sd_resampler_output_length(rs, static_cast<int32_t>(x.size())));
  const int32_t n = sd_resampler_process(rs, x.data(), static_cast<int32_t>(x.size()), y.data(),
                                         static_cast<int32_t>(y.size()), &err);
  sd_resampler_destroy(rs);
  if (n < 0) return {};
  return y;
}

void test_resampler_response() {
  const double amp = 0.5;
  for (int rate : {48000, 44100, 22050, 16000}) {
    const int n = rate;  // 1 s
    // Down to 8 kHz: passband flat, everything above 4 kHz removed (no aliases).
    double worst_pass = 0, worst_alias = -300;
    for (double f : {100.0, 300.0, 1000.0, 2000.0, 3000.0, 3300.0}) {
      std::vector<float> y = resample(rate, 8000, sine(rate, f, n, amp));
      CHECK(y.size() == 8000, "%d->8000 length %zu", rate, y.size());
      if (y.size() != 8000) continue;
      double a, res;
      fit_sine(y, 8000, f, 1000, 7000, &a, &res);
      worst_pass = std::max(worst_pass, std::fabs(20 * std::log10(a / amp)));
      CHECK(20 * std::log10(res / amp) < -70, "%d->8000 at %g Hz: residual %.1f dB", rate, f, 20 * std::log10(res / amp));
    }
    CHECK(worst_pass < 0.05, "%d->8000 passband deviation %.3f dB", rate, worst_pass);
    for (double f : {4050.0, 4500.0, 6000.0, 7900.0, rate * 0.45}) {
      if (f >= rate / 2.0) continue;
      std::vector<float> y = resample(rate, 8000, sine(rate, f, n, amp));
      double e = 0;
      for (size_t i = 1000; i < 7000; ++i) e += static_cast<double>(y[i]) * y[i];
      const double db = 20 * std::log10(std::sqrt(e / 6000) / (amp / std::sqrt(2.0)) + 1e-300);
      worst_alias = std::max(worst_alias, db);
    }
    CHECK(worst_alias < -75, "%d->8000 worst alias %.1f dB", rate, worst_alias);
    std::printf("  resample %5d -> 8000: passband deviation %.4f dB (100-3300 Hz), worst alias %.1f dB (>= 4050 Hz)\n",
                rate, worst_pass, worst_alias);

    // Up from 8 kHz: tones survive, images above 4 kHz are suppressed.
    double worst_up = 0, worst_image = -300;
    for (double f : {200.0, 1000.0, 3000.0, 3300.0}) {
      std::vector<float> y = resample(8000, rate, sine(8000, f, 8000, amp));
      CHECK(static_cast<int>(y.size()) == rate, "8000->%d length %zu", rate, y.size());
      if (static_cast<int>(y.size()) != rate) continue;
      double a, res;
      fit_sine(y, rate, f, rate / 8, rate - rate / 8, &a, &res);
      worst_up = std::max(worst_up, std::fabs(20 * std::log10(a / amp)));
      worst_image = std::max(worst_image, 20 * std::log10(res / (amp / std::sqrt(2.0))));
    }
    CHECK(worst_up < 0.05, "8000->%d passband deviation %.3f dB", rate, worst_up);
    CHECK(worst_image < -70, "8000->%d images/residual %.1f dB", rate, worst_image);
    std::printf("  resample 8000 -> %5d: passband deviation %.4f dB, images+residual %.1f dB\n", rate, worst_up,
                worst_image);
  }
  // Identity and lengths.
  std::vector<float> x = sine(8000, 440, 1234);
  std::vector<float> y = resample(8000, 8000, x);
  CHECK(y == x, "8000->8000 is not the identity");
  CHECK(resample(44100, 8000, std::vector<float>(441, 0.1f)).size() == 80, "44100->8000 of 441 samples");
  CHECK(resample(8000, 44100, std::vector<float>(80, 0.1f)).size() == 441, "8000->44100 of 80 samples");
  CHECK(resample(48000, 8000, std::vector<float>(1, 0.1f)).size() == 1, "one sample");
}

// Random (valid and invalid) configs and input lengths: never a crash, always finite output of the
// promised shape, or an error code with a message. Run under ASan/UBSan by run.sh.
void test_random_configs() {
  std::mt19937 rng(1234);
  auto pick = [&](std::initializer_list<double> v) {
    std::uniform_int_distribution<size_t> d(0, v.size() - 1);
    return *(v.begin() + d(rng));
  };
  std::uniform_real_distribution<double> u(0, 1);
  int ok = 0, rejected = 0;
  for (int iter = 0; iter < 300; ++iter) {
    std::vector<double> p = params();
    p[SD_P_SAMPLE_RATE] = pick({8000, 16000, 22050, 44100, 999, 48000});
    p[SD_P_KIND] = pick({0, 1, 2});
    p[SD_P_N_FFT] = pick({16, 32, 64, 128, 256, 512, 1024, 100});
    p[SD_P_WIN_LENGTH] = std::floor(p[SD_P_N_FFT] * pick({1.0, 0.75, 0.5, 0.1, 1.5}));
    p[SD_P_HOP_LENGTH] = std::max(1.0, std::floor(p[SD_P_N_FFT] * pick({0.25, 0.5, 1.0, 0.01})));
    p[SD_P_WINDOW] = pick({0, 1});
    p[SD_P_CENTER] = pick({0, 1});
    p[SD_P_PAD_MODE] = pick({0, 1});
    p[SD_P_PRE_EMPHASIS] = pick({0, 0.97, 0.5});
    p[SD_P_POWER] = pick({1, 2});
    p[SD_P_N_MELS] = pick({1, 8, 40, 64, 128, 300});
    p[SD_P_F_MIN] = pick({0, 20, 300});
    p[SD_P_F_MAX] = pick({4000, 3800, 8000, 11025});
    p[SD_P_MEL_SCALE] = pick({0, 1});
    p[SD_P_MEL_NORM] = pick({0, 1});
    p[SD_P_LOG_TYPE] = pick({0, 1});
    p[SD_P_LOG_HAS_TOP_DB] = pick({0, 1});
    p[SD_P_LOG_REF_IS_MAX] = pick({0, 1});
    p[SD_P_N_MFCC] = pick({1, 13, 20, 40});
    p[SD_P_DELTAS] = pick({0, 1, 2});
    p[SD_P_DELTA_WIDTH] = pick({3, 5, 9});
    p[SD_P_NUM_FRAMES] = pick({0, 1, 7, 100});
    const int n = static_cast<int>(pick({1, 2, 15, 100, 801, 8000, 12345}));
    std::vector<float> x(n);
    const double level = pick({0.0, 1e-9, 0.3, 1.0, 30.0});
    for (auto &v : x) v = static_cast<float>(level * (2 * u(rng) - 1));
    Run r = run(p, x);
    if (r.status != SD_OK) {
      ++rejected;
      CHECK(r.status == SD_ERR_CONFIG && !r.message.empty(), "unexpected status %d (%s)", r.status, r.message.c_str());
      continue;
    }
    ++ok;
    const int expect = p[SD_P_NUM_FRAMES] > 0 ? static_cast<int>(p[SD_P_NUM_FRAMES]) : -1;
    CHECK(expect < 0 || r.frames == expect, "frames %d, expected %d", r.frames, expect);
    bool finite = true;
    for (float v : r.data) finite = finite && std::isfinite(v);
    CHECK(finite, "non-finite features (iteration %d)", iter);
  }
  std::printf("  random configs: %d computed, %d rejected\n", ok, rejected);
  CHECK(ok > 50 && rejected > 20, "random configs not mixed enough (%d ok / %d rejected)", ok, rejected);
}

// The AVX2 four-lane FFT (where this CPU has it) and the two-lane one give bit-identical features.
void test_fft_lanes_agree() {
  if (!sd::quad_fft_supported()) {
    std::printf("  fft lanes: no AVX2 here, two-lane path only\n");
    return;
  }
  std::mt19937 rng(99);
  std::normal_distribution<float> g(0, 0.2f);
  for (int kind : {SD_KIND_SPECTROGRAM, SD_KIND_LOGMEL, SD_KIND_MFCC}) {
    for (int n : {1, 333, 8000, 12001}) {
      std::vector<double> p = params();
      p[SD_P_KIND] = kind;
      p[SD_P_POWER] = n % 2 ? 1 : 2;
      std::vector<float> x(n);
      for (auto &v : x) v = g(rng);
      for (int i = 0; i < n / 3; ++i) x[i] = 0.0f;  // silent frames are skipped, shifting the lanes
      Run quad = run(p, x);
      setenv("SPOKEN_DIGITS_NO_AVX2", "1", 1);
      Run pair = run(p, x);
      unsetenv("SPOKEN_DIGITS_NO_AVX2");
      CHECK(quad.status == SD_OK && quad.data == pair.data, "kind %d n %d: four-lane and two-lane FFT differ", kind, n);
    }
  }
}

}  // namespace

int main() {
  test_config_errors();
  test_input_errors();
  test_wsola();
  test_mel_and_dct();
  test_shaping();
  test_resampler_response();
  test_random_configs();
  test_fft_lanes_agree();
  return spoken_digits_test::finish("dsp_core_test");
}
