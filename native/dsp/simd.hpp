// Small SIMD vectors via the GCC/Clang vector extension: SSE2 on x86-64, simd128 in wasm, plain
// scalar code elsewhere. Operations are lane-wise IEEE, so results do not depend on the target.
// Unaligned and may_alias: they are loaded from and stored to ordinary float/double arrays.
#pragma once

#include <cstring>

namespace sd {

typedef double v2d __attribute__((vector_size(16), aligned(8), may_alias));
typedef float v4f __attribute__((vector_size(16), aligned(4), may_alias));

inline v4f load4(const float *p) {
  v4f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(float *p, v4f v) { std::memcpy(p, &v, sizeof v); }
inline v2d load2(const double *p) {
  v2d v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace sd
