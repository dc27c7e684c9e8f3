// libFuzzer target: the resampler C API (sd_dsp.h) with fuzzer-chosen rates and clips.
//
// Rates are either any int32 (negative, zero, 1 GHz: the validator's job) or drawn from the legal
// range so inputs reach the polyphase filter. Oracles beyond the sanitizers: documented error
// codes with messages; output length equals sd_resampler_output_length(); finite bounded input
// gives finite output no larger than the filter's worst-case gain allows; NaN/Inf input is refused;
// a buffer one sample short is refused instead of overrun.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "sd_dsp.h"

#define FUZZ_TARGET_NAME "resampler_fuzz"
#include "sd_fuzz_common.h"

namespace {
constexpr int32_t kMaxIn = 1 << 16;
constexpr int64_t kMaxOut = 1 << 20;


int32_t pick_rate(FuzzedDataProvider &in) {
  static const int32_t common[] = {8000, 11025, 16000, 22050, 32000, 44100, 48000, 96000};
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return in.ConsumeIntegral<int32_t>();
    case 1: return in.ConsumeIntegralInRange<int32_t>(1000, 384000);
    default: return common[in.ConsumeIntegralInRange<int>(0, 7)];
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider in(data, size);
  const int32_t from = pick_rate(in), to = pick_rate(in);
  sd_error err;
  // Building the filter table dominates a run (up to 2048 phases); reuse the last few rate pairs
  // so the fuzzer spends its time in process(). New pairs still go through create().
  // Never destroyed, so the cached resamplers stay reachable at exit (no leak report).
  static auto &cache = *new std::map<std::pair<int32_t, int32_t>, sd_resampler *>();
  sd_resampler *rs = nullptr;
  const auto key = std::make_pair(from, to);
  const auto hit = cache.find(key);
  if (hit != cache.end()) {
    rs = hit->second;
  } else {
    rs = sd_resampler_create(from, to, &err);
    if (!rs) {
      check_sd_error(err);
      return 0;
    }
    if (cache.size() >= 32) {
      sd_resampler_destroy(cache.begin()->second);
      cache.erase(cache.begin());
    }
    cache.emplace(key, rs);
  }
  std::vector<float> x = consume_clip(in, kMaxIn);
  const int32_t n = static_cast<int32_t>(x.size());
  const int32_t want = sd_resampler_output_length(rs, n);
  CHECK(want >= 0, "negative output length %d", want);
  if (want > kMaxOut) return 0;
  bool finite = true;
  float peak = 0;
  for (float v : x) {
    finite = finite && std::isfinite(v);
    if (std::isfinite(v)) peak = std::max(peak, std::fabs(v));
  }
  std::vector<float> out(static_cast<size_t>(want) + 1, -7.f);
  const int32_t got = sd_resampler_process(rs, x.empty() ? nullptr : x.data(), n, out.data(), want + 1, &err);
  if (got < 0) {
    check_sd_error(err);
    CHECK(n == 0 || !finite, "finite clip of %d samples refused: %s", n, err.message);
  } else {
    CHECK(finite && n > 0, "accepted %s clip of %d samples", finite ? "empty" : "non-finite", n);
    CHECK(got == want, "wrote %d, output_length said %d", got, want);
    CHECK(out[got] == -7.f, "wrote past the reported length");
    // A windowed-sinc interpolator's output is bounded by peak * sum|taps| (< ~2 for these
    // filters); 4x leaves room while still catching garbage or reads of uninitialised memory.
    for (int32_t i = 0; i < got; ++i)
      CHECK(std::isfinite(out[i]) && std::fabs(out[i]) <= 4 * peak + 1e-6f, "out[%d] = %g with input peak %g", i,
            out[i], peak);
    if (got > 0) {
      std::vector<float> small(static_cast<size_t>(got) - 1 + 1);
      const int32_t r = sd_resampler_process(rs, x.data(), n, small.data(), got - 1, &err);
      CHECK(r == -1, "buffer one sample short accepted");
      check_sd_error(err);
    }
  }
  return 0;
}
