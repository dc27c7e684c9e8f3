// SPSC ring: wrap-around, overflow accounting, and a two-thread stress run that checks every
// sample arrives once, in order, or is counted as dropped.
#include <cstdio>
#include <thread>
#include <vector>

#include "../dsp/ring_buffer.h"
#include "check.h"

using spoken_digits::SpscRing;


int main() {
  {
    SpscRing<float> ring(5);
    CHECK(ring.capacity() == 8, "capacity %zu", ring.capacity());
    float in[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, out[10] = {};
    CHECK(ring.push(in, 6) == 6, "push 6");
    CHECK(ring.pop(out, 4) == 4 && out[0] == 0 && out[3] == 3, "pop 4");
    // 2 left, 6 free: this push wraps around the end.
    CHECK(ring.push(in, 6) == 6, "wrapping push");
    CHECK(ring.available() == 8, "available %zu", ring.available());
    CHECK(ring.push(in, 3) == 0 && ring.dropped() == 3 && ring.overflows() == 1, "full ring drops and counts");
    CHECK(ring.pop(out, 10) == 8, "pop all");
    const float want[8] = {4, 5, 0, 1, 2, 3, 4, 5};
    bool same = true;
    for (int i = 0; i < 8; ++i) same = same && out[i] == want[i];
    CHECK(same, "order after wrap");
    CHECK(ring.pop(out, 1) == 0, "empty pop");
    CHECK(ring.push(nullptr, 0) == 0 && ring.pop(nullptr, 0) == 0, "zero-length calls");
    CHECK(ring.totalWritten() == 12 && ring.totalRead() == 12, "totals %llu %llu", (unsigned long long)ring.totalWritten(),
          (unsigned long long)ring.totalRead());
  }

  {
    // Producer pushes a counting sequence in blocks like an audio callback; consumer checks order.
    SpscRing<int> ring(1024);
    const int total = 2000000;
    std::thread producer([&] {
      std::vector<int> block(64);
      int next = 0;
      while (next < total) {
        const int n = std::min(64, total - next);
        for (int i = 0; i < n; ++i) block[i] = next + i;
        ring.push(block.data(), static_cast<size_t>(n));  // drops when full, like the callback
        next += n;
      }
    });
    std::vector<int> buf(300);
    long long received = 0;
    int last = -1;
    bool ordered = true;
    while (true) {
      const size_t n = ring.pop(buf.data(), buf.size());
      for (size_t i = 0; i < n; ++i) {
        ordered = ordered && buf[i] > last;
        last = buf[i];
      }
      received += static_cast<long long>(n);
      if (n == 0 && ring.totalWritten() + ring.dropped() == static_cast<unsigned long long>(total) && ring.available() == 0) break;
    }
    producer.join();
    received += static_cast<long long>(ring.pop(buf.data(), buf.size()));
    CHECK(ordered, "samples out of order");
    CHECK(received + static_cast<long long>(ring.dropped()) == total, "received %lld + dropped %llu != %d", received,
          (unsigned long long)ring.dropped(), total);
    std::printf("stress: %lld received, %llu dropped in %llu overflows\n", received, (unsigned long long)ring.dropped(),
                (unsigned long long)ring.overflows());
  }

  return spoken_digits_test::finish("ring_buffer_test");
}
