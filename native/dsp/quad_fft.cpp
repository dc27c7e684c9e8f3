// Four frames per FFT call with AVX2, chosen at run time on x86-64 CPUs that have it (CMake
// compiles this file alone with -mavx2); elsewhere, including wasm, it reports itself unavailable.
#include "pair_fft.hpp"

#if defined(SD_QUAD_FFT_AVX2) && defined(__AVX2__)

#define SD_LANES 4
#define SD_FFT_NAME(x) sd_quadfft_##x
#define SD_FFT_STRUCT QuadFft
#include "lanes_fft.inc"

namespace sd {

// Callers check quad_fft_supported() (pair_fft.cpp) first.
QuadFft *quad_fft_create(int n_fft) { return create_plan(n_fft); }
void quad_fft_destroy(QuadFft *fft) { destroy_plan(fft); }
void quad_fft_spectra(QuadFft *fft, const float *const frames[4], const double *window, int offset, int length,
                      int power, double *spectra) {
  plan_spectra(fft, frames, window, offset, length, power, spectra);
}

}  // namespace sd

#else

namespace sd {

struct QuadFft {};
QuadFft *quad_fft_create(int) { return nullptr; }
void quad_fft_destroy(QuadFft *) {}
void quad_fft_spectra(QuadFft *, const float *const *, const double *, int, int, int, double *) {}

}  // namespace sd

#endif
