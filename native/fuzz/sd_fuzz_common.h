// What the targets of the sd_dsp.h C API share: the error oracle (a refusal carries a documented
// status code and a terminated, non-empty message) and the clip every input ends with. Include
// after defining FUZZ_TARGET_NAME.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_check.h"
#include "sd_dsp.h"

inline void check_sd_error(const sd_error &err) {
  CHECK(err.code >= SD_ERR_CONFIG && err.code <= SD_ERR_INTERNAL, "bad error code %d", err.code);
  CHECK(std::memchr(err.message, '\0', SD_ERROR_MESSAGE_SIZE) != nullptr, "message not terminated");
  CHECK(err.message[0] != '\0', "empty error message (code %d)", err.code);
}

// The input's remaining bytes as at most max_samples samples: raw float bits (NaN, Inf, 1e38 and all)
// or, the provider's next bool decides, int16 PCM scaled to [-1, 1) (a WAV clip is a useful seed).
inline std::vector<float> consume_clip(FuzzedDataProvider &in, size_t max_samples) {
  const bool raw = in.ConsumeBool();
  std::vector<float> x;
  const auto b = in.ConsumeRemainingBytes<uint8_t>();
  if (raw) {
    x.resize(std::min<size_t>(b.size() / 4, max_samples));
    if (!x.empty()) std::memcpy(x.data(), b.data(), x.size() * 4);
  } else {
    for (size_t i = 0; i + 1 < b.size() && x.size() < max_samples; i += 2) {
      int16_t v;
      std::memcpy(&v, b.data() + i, 2);
      x.push_back(v / 32768.0f);
    }
  }
  return x;
}
