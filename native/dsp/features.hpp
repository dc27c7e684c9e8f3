// Feature extraction pipeline (librosa definitions): centre padding, pre-emphasis, window, rFFT,
// power/magnitude, mel, log, DCT-II ortho, deltas, fixed-length shaping, normalization.
#pragma once

#include <cstdint>
#include <vector>

#include "pair_fft.hpp"
#include "status.hpp"

namespace sd {

struct FeatureParams {
  int sample_rate = 8000;
  int kind = SD_KIND_MFCC;
  int n_fft = 256;
  int win_length = 200;
  int hop_length = 80;
  int window = SD_WINDOW_HANN;
  bool center = true;
  int pad_mode = SD_PAD_CONSTANT;
  double pre_emphasis = 0;
  int power = 2;
  int n_mels = 40;
  double f_min = 20;
  double f_max = 4000;
  int mel_scale = SD_MEL_SCALE_SLANEY;
  int mel_norm = SD_MEL_NORM_SLANEY;
  int log_type = SD_LOG_DB;
  double amin = 1e-10;
  bool has_top_db = true;
  double top_db = 80;
  bool ref_is_max = false;
  double ref = 1;
  double ln_floor = 1e-6;
  // Per-channel energy normalization (SD_LOG_PCEN): an automatic gain control by a smoothed
  // energy M per band, then root compression: (E / (eps + M)^gain + bias)^power - bias^power.
  double pcen_time_constant = 0.4;  // seconds, of the smoother M
  double pcen_gain = 0.98;
  double pcen_bias = 2;
  double pcen_power = 0.5;
  double pcen_eps = 1e-6;
  int n_mfcc = 20;
  int deltas = 0;
  int delta_width = 9;
  int num_frames = 100;
  std::vector<float> mean, stddev;  // empty = no normalization

  int base_dims() const;
  int dims() const { return base_dims() * (1 + deltas); }
};

// Parses and validates the flat parameter array of the C API.
Status parse_feature_params(const double *params, int32_t n_params, FeatureParams &out);
Status validate_feature_params(const FeatureParams &p);

// Mel filterbank (librosa.filters.mel) as dense [n_mels x (n_fft/2+1)] weights, in double.
std::vector<double> mel_filterbank(int sample_rate, int n_fft, int n_mels, double f_min, double f_max, int scale,
                                   int norm);
// DCT-II with orthonormal scaling, [n_out x n_in], row k = basis function k.
std::vector<double> dct2_ortho_matrix(int n_out, int n_in);

class FeatureExtractor {
 public:
  ~FeatureExtractor();
  FeatureExtractor(const FeatureExtractor &) = delete;
  FeatureExtractor &operator=(const FeatureExtractor &) = delete;

  static Status create(const FeatureParams &params, FeatureExtractor *&out);

  int dims() const { return dims_; }
  // Output frames for a clip of n samples; 0 when n is not acceptable.
  int32_t frames_for(int64_t n_samples) const;
  // Returns frames written, or -1 with status set.
  int32_t compute(const float *x, int32_t n, float *out, int64_t out_capacity, Status &status);

 private:
  explicit FeatureExtractor(const FeatureParams &params);
  int32_t natural_frames(int64_t n_samples) const;
  void apply_pcen(float *rows, int32_t frames, int width, const double *frame_energy);

  FeatureParams p_;
  int n_bins_ = 0;
  int base_ = 0;
  int dims_ = 0;
  int pad_ = 0;        // centre padding per side
  int win_offset_ = 0; // where the window starts inside the n_fft frame
  std::vector<double> window_;  // win_length values
  PairFft *fft_ = nullptr;
  QuadFft *quad_ = nullptr;  // four frames per call where AVX2 runs
  // Sparse mel weights: filter m covers bins [mel_start_[m], mel_start_[m] + mel_len_[m]).
  std::vector<int> mel_start_, mel_len_, mel_offset_;
  std::vector<double> mel_weights_;
  std::vector<float> dct_;  // n_mels x n_mfcc (transposed for the inner loop)
  std::vector<float> inv_std_;

  // Scratch, grown on demand and reused so steady-state calls allocate nothing.
  std::vector<float> signal_;
  std::vector<double> energy_, cum_;
  std::vector<double> spectra_;  // lane-interleaved spectra of the frames of one FFT call
  std::vector<float> rows_;  // selected frames x (n_bins or n_mels), before log
  std::vector<float> smooth_;  // PCEN's smoothed energy per band
};

}  // namespace sd
