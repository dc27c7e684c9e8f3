// Two real FFTs per call: kissfft compiled a second time (pair_fft.cpp) with a two-lane double
// "scalar", so each butterfly handles two frames at once in SIMD registers (SSE2 / wasm simd128).
// Lane results are bit-identical to the scalar double kissfft: same operations, same order.
#pragma once

namespace sd {

struct PairFft;

// nullptr when n_fft is odd or memory runs out.
PairFft *pair_fft_create(int n_fft);
void pair_fft_destroy(PairFft *fft);

// Power (power 2) or magnitude (power 1) spectra, n_fft/2+1 bins each, of two frames windowed the
// librosa way: sample frame[offset + i] * window[i] for i < length, zeros elsewhere in the n_fft
// frame. frame_b may be null (then lane b is the spectrum of silence). spectra gets n_fft/2+1
// interleaved pairs [a0, b0, a1, b1, ...].
void pair_fft_spectra(PairFft *fft, const float *frame_a, const float *frame_b, const double *window, int offset,
                      int length, int power, double *spectra);

}  // namespace sd
