// Minimal 16-bit PCM WAV reader for the C++ tests (FSDD clips), and the FSDD location.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace spoken_digits_test {

inline std::string fsddDir() {
  const char* env = std::getenv("SPOKEN_DIGITS_FSDD");
  return env ? env : "/work/shared/fsdd/recordings";
}

// Mono float samples in [-1, 1); empty when the file is missing or not 16-bit PCM.
inline std::vector<float> readWav16(const std::string& path, int* rate) {
  std::vector<float> out;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return out;
  std::vector<uint8_t> bytes;
  uint8_t buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + n);
  std::fclose(f);
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) || std::memcmp(bytes.data() + 8, "WAVE", 4)) return out;
  size_t pos = 12;
  int channels = 1, bits = 16;
  while (pos + 8 <= bytes.size()) {
    uint32_t size;
    std::memcpy(&size, bytes.data() + pos + 4, 4);
    const uint8_t* body = bytes.data() + pos + 8;
    if (!std::memcmp(bytes.data() + pos, "fmt ", 4)) {
      uint16_t ch, bps;
      uint32_t sr;
      std::memcpy(&ch, body + 2, 2);
      std::memcpy(&sr, body + 4, 4);
      std::memcpy(&bps, body + 14, 2);
      channels = ch;
      bits = bps;
      *rate = static_cast<int>(sr);
    } else if (!std::memcmp(bytes.data() + pos, "data", 4)) {
      if (bits != 16) return out;
      const size_t avail = std::min<size_t>(size, bytes.size() - pos - 8);
      const size_t frames = avail / (2 * static_cast<size_t>(channels));
      for (size_t i = 0; i < frames; ++i) {
        int16_t v;
        std::memcpy(&v, body + 2 * i * static_cast<size_t>(channels), 2);
        out.push_back(static_cast<float>(v) / 32768.f);
      }
      return out;
    }
    pos += 8 + size + (size & 1);
  }
  return out;
}

}  // namespace spoken_digits_test
