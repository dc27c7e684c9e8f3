// Two frames per FFT call (SSE2 on x86-64, simd128 in wasm); see lanes_fft.inc.
#include "pair_fft.hpp"

#include <cstdlib>

#define SD_LANES 2
#define SD_FFT_NAME(x) sd_pairfft_##x
#define SD_FFT_STRUCT PairFft
#include "lanes_fft.inc"

namespace sd {

// Here, not in quad_fft.cpp: code compiled with -mavx2 must not run before this says it may.
// SPOKEN_DIGITS_NO_AVX2=1 forces the two-lane path (tests compare both).
bool quad_fft_supported() {
#if defined(SD_QUAD_FFT_AVX2) && (defined(__GNUC__) || defined(__clang__))
  const char *off = std::getenv("SPOKEN_DIGITS_NO_AVX2");
  if (off && *off && *off != '0') return false;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

PairFft *pair_fft_create(int n_fft) { return create_plan(n_fft); }
void pair_fft_destroy(PairFft *fft) { destroy_plan(fft); }
void pair_fft_spectra(PairFft *fft, const float *const frames[2], const double *window, int offset, int length,
                      int power, double *spectra) {
  plan_spectra(fft, frames, window, offset, length, power, spectra);
}

}  // namespace sd
