// libFuzzer target: the SPSC ring buffer (ring_buffer.h) under fuzzer-chosen push/pop/clear
// sequences, checked against a std::deque model: same items in the same order, writes cut to
// whole granules, drops and overflow counts exactly as documented, counters consistent.
// (Single-threaded: this checks the index arithmetic and wrap-around; the threaded
// producer-faster-than-consumer run is native/tests/ring_soak_test.cpp.)
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <vector>

#include "ring_buffer.h"

#define FUZZ_TARGET_NAME "ring_buffer_fuzz"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider in(data, size);
  const size_t cap_req = in.ConsumeIntegralInRange<size_t>(0, 300);
  spoken_digits::SpscRing<int16_t> ring(cap_req);
  const size_t cap = ring.capacity();
  CHECK(cap >= 2 && cap >= cap_req && (cap & (cap - 1)) == 0, "capacity %zu for %zu", cap, cap_req);

  std::deque<int16_t> model;
  uint64_t written = 0, read = 0, dropped = 0, overflows = 0;
  int16_t next = 0;
  std::vector<int16_t> buf;
  while (in.remaining_bytes() > 0) {
    const int op = in.ConsumeIntegralInRange<int>(0, 7);
    if (op < 4) {
      const size_t n = in.ConsumeIntegralInRange<size_t>(0, cap + 16);
      const size_t granule = in.ConsumeIntegralInRange<size_t>(1, 8);
      buf.resize(n);
      for (auto &v : buf) v = next++;
      next = static_cast<int16_t>(next - n);  // only the accepted ones keep their numbers
      const size_t space = cap - model.size();
      const size_t expect = std::min(n, space - space % granule);
      const size_t took = ring.push(buf.data(), n, granule);
      CHECK(took == expect, "push(%zu, granule %zu) with %zu free took %zu, expected %zu", n, granule, space, took,
            expect);
      CHECK(took % granule == 0 || took == n, "took %zu not a multiple of granule %zu", took, granule);
      for (size_t i = 0; i < took; ++i) model.push_back(buf[i]);
      next = static_cast<int16_t>(next + took);
      written += took;
      if (took < n) {
        dropped += n - took;
        ++overflows;
      }
    } else if (op < 7) {
      const size_t n = in.ConsumeIntegralInRange<size_t>(0, cap + 16);
      buf.assign(n + 1, 0x7777);
      const size_t got = ring.pop(buf.data(), n);
      CHECK(got == std::min(n, model.size()), "pop(%zu) with %zu queued gave %zu", n, model.size(), got);
      for (size_t i = 0; i < got; ++i) {
        CHECK(buf[i] == model.front(), "item %zu: got %d, expected %d", i, buf[i], model.front());
        model.pop_front();
      }
      CHECK(buf[got] == 0x7777, "pop wrote past what it returned");
      read += got;
    } else {
      ring.clear();
      read += model.size();
      model.clear();
    }
    CHECK(ring.available() == model.size(), "available %zu, model %zu", ring.available(), model.size());
    CHECK(ring.totalWritten() == written && ring.totalRead() == read, "counters %llu/%llu vs %llu/%llu",
          static_cast<unsigned long long>(ring.totalWritten()), static_cast<unsigned long long>(ring.totalRead()),
          static_cast<unsigned long long>(written), static_cast<unsigned long long>(read));
    CHECK(ring.dropped() == dropped && ring.overflows() == overflows, "dropped %llu/%llu overflows %llu/%llu",
          static_cast<unsigned long long>(ring.dropped()), static_cast<unsigned long long>(dropped),
          static_cast<unsigned long long>(ring.overflows()), static_cast<unsigned long long>(overflows));
  }
  return 0;
}
