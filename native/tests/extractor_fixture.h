// The feature extractor through its C API for the C++ tests: a valid baseline config and a
// one-call extraction that captures the result or the error.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "../dsp/sd_dsp.h"

namespace spoken_digits_test {

// A valid config: 8 kHz, 256-point FFT, 25 ms windows every 10 ms, 40 Slaney mels, dB with an
// 80 dB range; no deltas, no fixed length, no normalization. Tests change single fields from here.
inline std::vector<double> params(int kind = SD_KIND_MFCC, int log_type = SD_LOG_DB, int n_mfcc = 20) {
  std::vector<double> p(SD_P_COUNT, 0.0);
  p[SD_P_SAMPLE_RATE] = 8000;
  p[SD_P_KIND] = kind;
  p[SD_P_N_FFT] = 256;
  p[SD_P_WIN_LENGTH] = 200;
  p[SD_P_HOP_LENGTH] = 80;
  p[SD_P_WINDOW] = SD_WINDOW_HANN;
  p[SD_P_CENTER] = 1;
  p[SD_P_PAD_MODE] = SD_PAD_CONSTANT;
  p[SD_P_PRE_EMPHASIS] = 0;
  p[SD_P_POWER] = 2;
  p[SD_P_N_MELS] = 40;
  p[SD_P_F_MIN] = 20;
  p[SD_P_F_MAX] = 4000;
  p[SD_P_MEL_SCALE] = SD_MEL_SCALE_SLANEY;
  p[SD_P_MEL_NORM] = SD_MEL_NORM_SLANEY;
  p[SD_P_LOG_TYPE] = log_type;
  p[SD_P_LOG_AMIN] = 1e-10;
  p[SD_P_LOG_HAS_TOP_DB] = 1;
  p[SD_P_LOG_TOP_DB] = 80;
  p[SD_P_LOG_REF_IS_MAX] = 0;
  p[SD_P_LOG_REF] = 1;
  p[SD_P_LOG_FLOOR] = 1e-6;
  p[SD_P_N_MFCC] = n_mfcc;
  p[SD_P_DELTAS] = 0;
  p[SD_P_DELTA_WIDTH] = 9;
  p[SD_P_NUM_FRAMES] = 0;
  p[SD_P_HAS_NORMALIZATION] = 0;
  p[SD_P_PCEN_TIME_CONSTANT] = 0.4;
  p[SD_P_PCEN_GAIN] = 0.98;
  p[SD_P_PCEN_BIAS] = 2;
  p[SD_P_PCEN_POWER] = 0.5;
  p[SD_P_PCEN_EPS] = 1e-6;
  return p;
}

// What one extraction gave.
struct Run {
  int status = SD_OK;
  std::string message;
  int frames = 0, dims = 0;
  std::vector<float> data;
};

// Runs one clip through a fresh extractor. On an error, status/message are the C API's; data is
// prefilled with a sentinel so a short write shows.
inline Run run(const std::vector<double> &params, const std::vector<float> &x) {
  Run r;
  sd_error err{};
  sd_extractor *ex = sd_extractor_create(params.data(), static_cast<int32_t>(params.size()), &err);
  if (!ex) {
    r.status = err.code;
    r.message = err.message;
    return r;
  }
  r.dims = sd_extractor_dims(ex);
  const int32_t n = static_cast<int32_t>(x.size());
  const int32_t frames = sd_extractor_frames(ex, n);
  r.data.assign(static_cast<size_t>(frames > 0 ? frames : 0) * r.dims, -12345.0f);
  const int32_t got = sd_extractor_compute(ex, x.empty() ? nullptr : x.data(), n, r.data.empty() ? nullptr : r.data.data(),
                                           static_cast<int32_t>(r.data.size()), &err);
  if (got < 0) {
    r.status = err.code;
    r.message = err.message;
  } else {
    r.frames = got;
  }
  sd_extractor_destroy(ex);
  return r;
}

}  // namespace spoken_digits_test
