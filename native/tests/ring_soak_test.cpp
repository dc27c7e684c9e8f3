// Soak of the SPSC ring the capture callback writes into: a producer thread pushing interleaved
// stereo frames faster than the consumer reads them, for SOAK_SECONDS (default 3; `npm run soak`
// runs it for 10 minutes). Every frame carries its sequence number in both channels, so the
// consumer can prove there is no corruption: frames arrive whole (both channels equal), in strictly
// increasing order, and every gap is accounted for by the ring's drop counter; the overflow count
// matches the producer's own count of short pushes.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "../dsp/ring_buffer.h"
#include "check.h"

using spoken_digits::SpscRing;
using Clock = std::chrono::steady_clock;

int main() {
  const char *env = std::getenv("SOAK_SECONDS");
  const double seconds = env ? std::atof(env) : 3.0;
  constexpr size_t kChannels = 2;
  // 48 kHz stereo, 0.25 s of room, like a capture ring with a small buffer.
  SpscRing<int64_t> ring(48000 / 4 * kChannels);
  std::atomic<bool> done{false};
  uint64_t produced_frames = 0, short_pushes = 0;

  std::thread producer([&] {
    std::vector<int64_t> block;
    uint32_t x = 12345;
    int64_t seq = 0;
    const auto end = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) {
      x = x * 1664525u + 1013904223u;
      const size_t frames = 1 + (x >> 8) % 1024;  // callback sizes vary
      block.resize(frames * kChannels);
      for (size_t f = 0; f < frames; ++f) block[2 * f] = block[2 * f + 1] = seq + static_cast<int64_t>(f);
      const size_t took = ring.push(block.data(), block.size(), kChannels);
      // Only the accepted frames keep their numbers, the rest are lost (as in capture).
      seq += static_cast<int64_t>(frames);
      produced_frames += frames;
      if (took < block.size()) ++short_pushes;
      if ((x & 0xf) == 0) std::this_thread::yield();
    }
    done.store(true, std::memory_order_release);
  });

  std::vector<int64_t> buf(4096 * kChannels);
  int64_t last = -1;
  uint64_t received_frames = 0, gaps = 0, missing_frames = 0, torn = 0, out_of_order = 0, reads = 0;
  uint32_t y = 777;
  for (;;) {
    const bool finished = done.load(std::memory_order_acquire);
    y = y * 1103515245u + 12345u;
    // The consumer is slower: it reads less per wake-up and sleeps now and then.
    const size_t want = (1 + (y >> 9) % 2048) * kChannels;
    const size_t got = ring.pop(buf.data(), want);
    ++reads;
    if (got % kChannels) ++torn;
    for (size_t i = 0; i + 1 < got; i += kChannels) {
      const int64_t a = buf[i], b = buf[i + 1];
      if (a != b) ++torn;
      if (a <= last) ++out_of_order;
      if (a > last + 1) {
        ++gaps;
        missing_frames += static_cast<uint64_t>(a - last - 1);
      }
      last = a;
      ++received_frames;
    }
    if (finished && ring.available() == 0) break;
    if ((y & 7) == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  producer.join();
  const uint64_t dropped_frames = ring.dropped() / kChannels;
  // Frames never written at all (dropped after the last one received) do not show up as gaps.
  const uint64_t tail_dropped = produced_frames - 1 - static_cast<uint64_t>(last);
  CHECK(torn == 0, "a frame arrived torn (channels differ or odd item count)");
  CHECK(out_of_order == 0, "frames out of order or repeated");
  CHECK(received_frames + dropped_frames == produced_frames, "received + dropped != produced");
  CHECK(missing_frames + tail_dropped == dropped_frames, "gaps do not match the drop counter");
  CHECK(ring.overflows() == short_pushes, "overflow count differs from the producer's short pushes");
  CHECK(ring.totalWritten() == ring.totalRead(), "ring not drained");
  CHECK(dropped_frames > 0, "the producer never outran the consumer (test proves nothing)");
  std::printf(
      "ring_soak: %.0f s, %llu frames produced, %llu received, %llu dropped (%.1f%%) in %llu overflows, %llu gaps, "
      "%llu reads, 0 torn/out-of-order required: torn %llu, out-of-order %llu\n",
      seconds, (unsigned long long)produced_frames, (unsigned long long)received_frames,
      (unsigned long long)dropped_frames, 100.0 * dropped_frames / produced_frames,
      (unsigned long long)ring.overflows(), (unsigned long long)gaps, (unsigned long long)reads,
      (unsigned long long)torn, (unsigned long long)out_of_order);
  return spoken_digits_test::finish("ring_soak_test");
}
