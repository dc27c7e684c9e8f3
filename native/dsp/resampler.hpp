// Rational-ratio polyphase resampler with a Kaiser-windowed sinc prototype: enough stopband
// attenuation (~85 dB) that 48 kHz speech can be brought to 8 kHz without audible aliasing.
#pragma once

#include <cstdint>
#include <vector>

#include "status.hpp"

namespace sd {

class Resampler {
 public:
  // Zero crossings of the sinc kept on each side of the centre, at the lower of the two rates.
  static constexpr int kZeroCrossings = 32;
  static constexpr double kKaiserBeta = 8.6;
  // Cutoff as a fraction of the lower Nyquist frequency; the transition band ends at Nyquist.
  static constexpr double kRolloff = 0.915;

  static Status create(int32_t from_rate, int32_t to_rate, Resampler *&out);

  int64_t output_length(int64_t n_in) const;
  int32_t process(const float *in, int32_t n_in, float *out, int64_t out_capacity, Status &status) const;

  int32_t up() const { return up_; }
  int32_t down() const { return down_; }

 private:
  Resampler() = default;
  int32_t from_ = 0, to_ = 0, up_ = 1, down_ = 1;
  int taps_ = 0;      // per phase
  int first_ = 0;     // offset of tap 0 relative to the integer input position
  std::vector<float> table_;  // up_ phases x taps_
};

}  // namespace sd
