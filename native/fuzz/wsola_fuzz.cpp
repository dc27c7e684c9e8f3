// libFuzzer target: the WSOLA time stretch C API (sd_wsola_stretch in sd_dsp.h) with fuzzer-chosen
// rates, lengths and clips.
//
// Oracles beyond the sanitizers: documented error codes with messages; finite input of any length
// to any length is accepted and writes exactly out_len samples, never past them; the output is
// finite and no louder than the input's peak (each output sample is a window-weighted average of
// input samples, so overlap-add can only interpolate); NaN/Inf input is refused.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "sd_dsp.h"

#define FUZZ_TARGET_NAME "wsola_fuzz"
#include "sd_fuzz_common.h"

namespace {
// Small enough that a run stays fast under ASan at 384 kHz (frames of 7680 samples, 3841 candidates).
constexpr int32_t kMaxIn = 1 << 13;
constexpr int32_t kMaxOut = 1 << 14;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider in(data, size);
  static const int32_t common[] = {8000, 16000, 22050, 44100, 48000};
  int32_t rate;
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: rate = in.ConsumeIntegral<int32_t>(); break;
    case 1: rate = in.ConsumeIntegralInRange<int32_t>(1000, 384000); break;
    default: rate = common[in.ConsumeIntegralInRange<int>(0, 4)];
  }
  int32_t out_len = in.ConsumeBool() ? in.ConsumeIntegral<int32_t>() : in.ConsumeIntegralInRange<int32_t>(1, kMaxOut);
  // The work grows as rate x length (each 10 ms of output scans 10 ms of candidates): at high
  // rates shorter outputs, so an input runs in milliseconds under the sanitizers.
  if (rate >= 1000 && rate <= 384000 && out_len >= 1 && out_len <= kMaxOut) out_len = std::min<int32_t>(out_len, std::max<int32_t>(1, 200000000 / rate));
  std::vector<float> x = consume_clip(in, kMaxIn);
  // Lengths the core takes (up to 2^25) but this harness will not allocate for are skipped;
  // beyond that and below 1 they must be refused.
  if (out_len > kMaxOut && out_len <= sd_wsola_max_samples()) return 0;
  const int32_t n = static_cast<int32_t>(x.size());
  bool finite = true;
  double peak = 0;
  for (float v : x) {
    finite = finite && std::isfinite(v);
    if (std::isfinite(v)) peak = std::max(peak, std::fabs(static_cast<double>(v)));
  }
  const bool legal = rate >= 1000 && rate <= 384000 && out_len >= 1 && out_len <= kMaxOut && n >= 1 && finite;
  // Large enough outputs are only tried at legal lengths (the core refuses the rest before writing).
  std::vector<float> out(out_len >= 1 && out_len <= kMaxOut ? static_cast<size_t>(out_len) + 1 : 1, -7.f);
  sd_error err;
  const int32_t got = sd_wsola_stretch(x.empty() ? nullptr : x.data(), n, rate, out.data(), out_len, &err);
  if (got < 0) {
    check_sd_error(err);
    CHECK(!legal, "legal stretch refused (%d samples at %d Hz to %d): %s", n, rate, out_len, err.message);
    CHECK(err.code == SD_ERR_INPUT, "refusal with code %d: %s", err.code, err.message);
    return 0;
  }
  CHECK(legal, "accepted an illegal stretch (%d samples at %d Hz to %d, finite %d)", n, rate, out_len, finite);
  CHECK(got == out_len, "wrote %d, asked for %d", got, out_len);
  CHECK(out[static_cast<size_t>(got)] == -7.f, "wrote past the asked length");
  for (int32_t i = 0; i < got; ++i) {
    CHECK(std::isfinite(out[i]), "output %d is not finite", i);
    CHECK(std::fabs(static_cast<double>(out[i])) <= peak * (1 + 1e-5) + 1e-30, "output %d = %g beyond the input's peak %g", i, out[i], peak);
  }
  return 0;
}
