// libFuzzer target: the VAD/endpointer C API (vad_c.h) fed blocks of fuzzer-chosen sizes.
//
// Parameters come from the input (any int rate, any float durations incl. NaN/negative/huge); the
// audio is raw float bits or int16 PCM, cut into blocks of random size (0 included) like a capture
// callback would deliver. Oracles beyond the sanitizers: events are well formed (known type and
// reason, start <= end, inside the samples fed so far, Start/End/Abort properly alternating), the
// event count never exceeds the room given... except as documented (extra events are counted, not
// written), state values are sane, and sd_find_valleys' cut points lie inside the clip.
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "vad_c.h"

#define FUZZ_TARGET_NAME "vad_fuzz"
#include "fuzz_check.h"

namespace {

constexpr int kRoom = 8;

float pick_ms(FuzzedDataProvider &in) {
  switch (in.ConsumeIntegralInRange<int>(0, 4)) {
    case 0: return std::nanf("");  // keep default
    case 1: return in.ConsumeFloatingPoint<float>();
    default: return in.ConsumeFloatingPointInRange<float>(0, 5000);
  }
}

struct Checker {
  bool open = false;
  bool unknown = false;
  int64_t fed = 0;
  int64_t last_end = 0;
  bool trace = std::getenv("VAD_FUZZ_TRACE") != nullptr;
  void events(const double *ev, int n, bool flushing) {
    CHECK(n >= 0, "negative event count %d", n);
    for (int i = 0; i < std::min(n, kRoom); ++i) {
      const double type = ev[4 * i], reason = ev[4 * i + 1], start = ev[4 * i + 2], end = ev[4 * i + 3];
      if (trace)
        std::fprintf(stderr, "event %s type %g reason %g [%g, %g) fed %lld\n", flushing ? "flush" : "process", type,
                     reason, start, end, static_cast<long long>(fed));
      CHECK(type == 0 || type == 1 || type == 2, "event type %g", type);
      // Reasons grow with the endpointer (Tonal was added later), so only the shape is checked.
      CHECK(reason >= 0 && reason <= 31 && reason == std::floor(reason), "event reason %g", reason);
      CHECK(start >= 0 && start <= end, "event [%g, %g)", start, end);
      // Post-roll may reach past the audio seen so far only at a flush-free End; bound it loosely.
      CHECK(start <= static_cast<double>(fed), "event starts at %g after %lld samples fed", start,
            static_cast<long long>(fed));
      if (type == 0) {
        CHECK(!open || unknown, "Start while a segment is open");
        open = true;
      } else {
        CHECK(open || unknown, "End/Abort without a Start");
        open = false;
      }
      unknown = false;
    }
    // Events past the room given are lost (documented): pairing is unknown until the next event.
    if (n > kRoom) unknown = true;
    (void)flushing;
    (void)last_end;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider in(data, size);
  static const int rates[] = {8000, 16000, 44100, 48000};
  const int rate = in.ConsumeBool() ? rates[in.ConsumeIntegralInRange<int>(0, 3)] : in.ConsumeIntegral<int>();
  const float sensitivity = in.ConsumeBool() ? in.ConsumeProbability<float>() : in.ConsumeFloatingPoint<float>();
  const float onset = pick_ms(in), hang = pick_ms(in), min_ms = pick_ms(in), max_ms = pick_ms(in);
  const float voiced = pick_ms(in), pre = pick_ms(in), post = pick_ms(in);
  const float min_db = in.ConsumeBool() ? std::nanf("") : in.ConsumeFloatingPoint<float>();
  const float noise_db = in.ConsumeBool() ? std::nanf("") : in.ConsumeFloatingPoint<float>();
  sd_vad *vad = sd_vad_create(rate, sensitivity, onset, hang, min_ms, max_ms, voiced, pre, post, min_db, noise_db);
  if (!vad) {
    const char *e = sd_vad_last_error();
    CHECK(e && e[0], "create failed without a reason");
    return 0;
  }
  const bool raw = in.ConsumeBool();
  const int gain_shift = in.ConsumeIntegralInRange<int>(0, 15);
  std::vector<float> all;
  Checker ck;
  double ev[4 * kRoom];
  double state[7];
  while (in.remaining_bytes() > 0) {
    const size_t block = in.ConsumeIntegralInRange<size_t>(0, 4096);
    std::vector<float> s;
    if (raw) {
      const auto b = in.ConsumeBytes<uint8_t>(block * 4);
      s.resize(b.size() / 4);
      if (!s.empty()) std::memcpy(s.data(), b.data(), s.size() * 4);
    } else {
      const auto b = in.ConsumeBytes<uint8_t>(block * 2);
      for (size_t i = 0; i + 1 < b.size(); i += 2) {
        int16_t v;
        std::memcpy(&v, b.data() + i, 2);
        s.push_back(static_cast<float>(v) / static_cast<float>(32768 >> gain_shift));
      }
      // Short fuzzer inputs are mostly silence otherwise: repeat the block to reach VAD timescales.
      const size_t base = s.size();
      for (int r = 0; r < 8 && base > 0; ++r) s.insert(s.end(), s.begin(), s.begin() + base);
    }
    const int n = sd_vad_process(vad, s.data(), static_cast<int>(s.size()), ev, kRoom);
    ck.fed += static_cast<int64_t>(s.size());
    ck.events(ev, n, false);
    sd_vad_state(vad, state);
    CHECK(state[2] == 0 || state[2] == 1, "inSpeech %g", state[2]);
    CHECK(state[3] == static_cast<double>(ck.fed), "samplesSeen %g, fed %lld", state[3], static_cast<long long>(ck.fed));
    CHECK(state[2] == 1 || !ck.open || ck.unknown, "state says not in speech while a segment is open");
    if (all.size() < (1u << 18)) all.insert(all.end(), s.begin(), s.end());
  }
  const int n = sd_vad_flush(vad, ev, kRoom);
  ck.events(ev, n, true);
  CHECK(!ck.open || ck.unknown, "segment still open after flush");
  sd_vad_reset(vad);
  sd_vad_state(vad, state);
  CHECK(state[3] == 0, "reset kept samplesSeen %g", state[3]);
  sd_vad_destroy(vad);

  if (!all.empty()) {
    double valleys[3 * 16];
    const int nv = sd_find_valleys(all.data(), static_cast<int>(all.size()), rate, 6.f, 80.f, valleys, 16);
    CHECK(nv >= 0, "negative valley count");
    for (int i = 0; i < std::min(nv, 16); ++i)
      CHECK(valleys[3 * i] >= 0 && valleys[3 * i] <= static_cast<double>(all.size()), "valley at %g of %zu",
            valleys[3 * i], all.size());
  }
  return 0;
}
