// Lock-free single-producer/single-consumer ring buffer for the audio callback path.
//
// The producer (a real-time audio thread) never blocks, allocates or locks: when the consumer is
// behind, the samples that do not fit are dropped and counted. All memory is allocated by the
// constructor. Positions are free-running 64-bit counters, so "how many frames were ever written"
// doubles as a timestamp for latency measurement.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

namespace spoken_digits {

template <typename T>
class SpscRing {
  static_assert(std::is_trivially_copyable<T>::value, "SpscRing copies with memcpy");

 public:
  // Capacity is rounded up to a power of two (at least 2).
  explicit SpscRing(size_t minCapacity) {
    size_t cap = 2;
    while (cap < minCapacity) cap <<= 1;
    capacity_ = cap;
    mask_ = cap - 1;
    data_.reset(new T[cap]());
  }

  size_t capacity() const { return capacity_; }

  // Producer side. Writes as many items as fit, in whole multiples of `granule` (interleaved
  // frames stay whole); the rest is counted as dropped. Returns items written.
  size_t push(const T* items, size_t n, size_t granule = 1) {
    const uint64_t w = write_.load(std::memory_order_relaxed);
    const uint64_t r = read_.load(std::memory_order_acquire);
    const size_t space = capacity_ - static_cast<size_t>(w - r);
    const size_t take = std::min(n, space - space % granule);
    if (take < n) {
      dropped_.fetch_add(n - take, std::memory_order_relaxed);
      overflows_.fetch_add(1, std::memory_order_relaxed);
    }
    copyIn(w, items, take);
    write_.store(w + take, std::memory_order_release);
    return take;
  }

  // Consumer side. Reads up to n items; returns how many were read.
  size_t pop(T* out, size_t n) {
    const uint64_t r = read_.load(std::memory_order_relaxed);
    const uint64_t w = write_.load(std::memory_order_acquire);
    const size_t take = std::min(n, static_cast<size_t>(w - r));
    copyOut(r, out, take);
    read_.store(r + take, std::memory_order_release);
    return take;
  }

  // Either side: an instantaneous (possibly stale) count.
  size_t available() const {
    return static_cast<size_t>(write_.load(std::memory_order_acquire) - read_.load(std::memory_order_acquire));
  }
  uint64_t totalWritten() const { return write_.load(std::memory_order_acquire); }
  uint64_t totalRead() const { return read_.load(std::memory_order_acquire); }
  // Items dropped because the ring was full, and how many pushes were cut short.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  uint64_t overflows() const { return overflows_.load(std::memory_order_relaxed); }

  // Only while neither side runs (stream stopped).
  void clear() {
    read_.store(write_.load(std::memory_order_acquire), std::memory_order_release);
  }

 private:
  void copyIn(uint64_t pos, const T* items, size_t n) {
    if (n == 0) return;
    const size_t at = static_cast<size_t>(pos) & mask_;
    const size_t first = std::min(n, capacity_ - at);
    std::memcpy(data_.get() + at, items, first * sizeof(T));
    std::memcpy(data_.get(), items + first, (n - first) * sizeof(T));
  }
  void copyOut(uint64_t pos, T* out, size_t n) const {
    if (n == 0) return;
    const size_t at = static_cast<size_t>(pos) & mask_;
    const size_t first = std::min(n, capacity_ - at);
    std::memcpy(out, data_.get() + at, first * sizeof(T));
    std::memcpy(out + first, data_.get(), (n - first) * sizeof(T));
  }

  size_t capacity_ = 0, mask_ = 0;
  std::unique_ptr<T[]> data_;
  // Separate cache lines: the producer hammers write_, the consumer read_.
  alignas(64) std::atomic<uint64_t> write_{0};
  alignas(64) std::atomic<uint64_t> read_{0};
  alignas(64) std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> overflows_{0};
};

}  // namespace spoken_digits
