// Several real FFTs per call: kissfft compiled again (lanes_fft.inc) with a multi-lane double
// "scalar", so each butterfly transforms 2 (PairFft: SSE2 / wasm simd128) or 4 (QuadFft: AVX2,
// x86-64 only, picked at run time) frames at once. Each lane's result is bit-identical to the
// scalar double kissfft: same operations in the same order, no FMA.
#pragma once

namespace sd {

// Power (power 2) or magnitude (power 1) spectra of frames windowed the librosa way: sample
// frame[offset + i] * window[i] for i < length, zeros elsewhere in the n_fft frame. A null frame
// is silence. spectra gets n_fft/2+1 bins, each holding one value per lane (lane-interleaved).
struct PairFft;
PairFft *pair_fft_create(int n_fft);  // nullptr when n_fft is odd or memory runs out
void pair_fft_destroy(PairFft *fft);
void pair_fft_spectra(PairFft *fft, const float *const frames[2], const double *window, int offset, int length,
                      int power, double *spectra);

struct QuadFft;
bool quad_fft_supported();           // this build has the AVX2 variant and this CPU runs it
QuadFft *quad_fft_create(int n_fft);  // only after quad_fft_supported(); nullptr when not built in
void quad_fft_destroy(QuadFft *fft);
void quad_fft_spectra(QuadFft *fft, const float *const frames[4], const double *window, int offset, int length,
                      int power, double *spectra);

}  // namespace sd
