#include "pair_fft.hpp"

#include "simd.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace sd {

// Two doubles that behave like one scalar. A GCC/Clang vector type underneath makes every
// operation one SIMD instruction; 8-byte alignment because kissfft places arrays at 8-byte
// offsets inside its plan.
typedef v2d PairLanes;

struct PairScalar {
  PairLanes v;
  PairScalar() = default;
  PairScalar(double x) : v{x, x} {}  // NOLINT: kissfft writes `(kiss_fft_scalar) cos(phase)`
  explicit PairScalar(PairLanes lanes) : v(lanes) {}
  PairScalar operator+(PairScalar o) const { return PairScalar(v + o.v); }
  PairScalar operator-(PairScalar o) const { return PairScalar(v - o.v); }
  PairScalar operator*(PairScalar o) const { return PairScalar(v * o.v); }
  PairScalar operator-() const { return PairScalar(-v); }
  PairScalar &operator+=(PairScalar o) { v += o.v; return *this; }
  PairScalar &operator-=(PairScalar o) { v -= o.v; return *this; }
  PairScalar &operator*=(PairScalar o) { v *= o.v; return *this; }
};
static_assert(sizeof(PairScalar) == 2 * sizeof(double), "PairScalar must be two packed doubles");

}  // namespace sd

// kissfft's sources again, with every public name and type renamed so they cannot collide with
// the scalar build linked next to them.
#undef kiss_fft_scalar
#define kiss_fft_scalar sd::PairScalar
#define kiss_fft_alloc sd_pairfft_alloc
#define kiss_fft sd_pairfft
#define kiss_fft_stride sd_pairfft_stride
#define kiss_fft_cleanup sd_pairfft_cleanup
#define kiss_fft_next_fast_size sd_pairfft_next_fast_size
#define kiss_fftr_alloc sd_pairfftr_alloc
#define kiss_fftr sd_pairfftr
#define kiss_fftri sd_pairfftri
#define kiss_fft_state sd_pairfft_state
#define kiss_fftr_state sd_pairfftr_state
#define kiss_fft_cpx sd_pairfft_cpx
#define kiss_fft_cfg sd_pairfft_cfg
#define kiss_fftr_cfg sd_pairfftr_cfg
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-parameter"
#pragma clang diagnostic ignored "-Wsign-compare"
#pragma clang diagnostic ignored "-Wunused-function"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#endif
#include "kiss_fft.c"
#include "kiss_fftr.c"
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace sd {

struct PairFft {
  sd_pairfftr_cfg cfg;
  int n_fft;
  PairScalar *in;       // n_fft frames' samples, zero outside the window
  sd_pairfft_cpx *out;  // n_fft/2 + 1 bins
};

PairFft *pair_fft_create(int n_fft) {
  if (n_fft < 2 || n_fft % 2 != 0) return nullptr;
  PairFft *f = static_cast<PairFft *>(std::calloc(1, sizeof(PairFft)));
  if (!f) return nullptr;
  f->n_fft = n_fft;
  f->cfg = sd_pairfftr_alloc(n_fft, 0, nullptr, nullptr);
  f->in = static_cast<PairScalar *>(std::calloc(n_fft, sizeof(PairScalar)));
  f->out = static_cast<sd_pairfft_cpx *>(std::calloc(n_fft / 2 + 1, sizeof(sd_pairfft_cpx)));
  if (!f->cfg || !f->in || !f->out) {
    pair_fft_destroy(f);
    return nullptr;
  }
  return f;
}

void pair_fft_destroy(PairFft *f) {
  if (!f) return;
  if (f->cfg) KISS_FFT_FREE(f->cfg);
  std::free(f->in);
  std::free(f->out);
  std::free(f);
}

void pair_fft_spectra(PairFft *f, const float *frame_a, const float *frame_b, const double *window, int offset,
                      int length, int power, double *spectra) {
  PairScalar *in = f->in + offset;
  if (frame_b) {
    for (int i = 0; i < length; ++i) {
      const PairLanes x = {static_cast<double>(frame_a[i]), static_cast<double>(frame_b[i])};
      in[i].v = x * window[i];
    }
  } else {
    for (int i = 0; i < length; ++i) {
      const PairLanes x = {static_cast<double>(frame_a[i]), 0.0};
      in[i].v = x * window[i];
    }
  }
  sd_pairfftr(f->cfg, f->in, f->out);
  const int bins = f->n_fft / 2 + 1;
  const sd_pairfft_cpx *X = f->out;
  for (int b = 0; b < bins; ++b) {
    PairLanes p = X[b].r.v * X[b].r.v + X[b].i.v * X[b].i.v;
    if (power == 1) p = PairLanes{std::sqrt(p[0]), std::sqrt(p[1])};
    std::memcpy(spectra + 2 * b, &p, sizeof p);
  }
}

}  // namespace sd
