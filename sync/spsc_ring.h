// SpscRing<T>: a single-producer, single-consumer ring of fixed-size records over memory the
// caller provides, which may be shared between processes (it holds only lock-free atomics and
// trivially copyable records, no pointers). futexbox trace gives each guest thread one, in a file
// both the guest's agent and the futexbox process map: the guest thread appends, futexbox drains.
//
// Protocol. `written` belongs to the producer, `read` to the consumer:
//   push:  w = written (own, relaxed); r = read (acquire); full if w - r == capacity;
//          records[w % capacity] = value; written = w + 1 (release)
//   drain: w = written (acquire); r = read (own, relaxed); copy records r..w-1; read = w (release)
// The release/acquire pair on `written` makes a record's contents visible before its index; the
// pair on `read` orders the consumer's copy before the producer reuses that slot. A full ring
// never blocks the producer: the record is counted in `dropped` instead, so a loss is reported,
// never silent. Nothing allocates; a producer that dies mid-push leaves at most that one record
// unpublished, and everything published before stays readable.
#pragma once

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "sync/function_ref.h"

namespace futexbox::sync {

struct alignas(64) SpscRingHeader {
  std::atomic<std::uint64_t> written{0};
  std::atomic<std::uint64_t> dropped{0};
  alignas(64) std::atomic<std::uint64_t> read{0};  // the consumer's line, apart from the producer's
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

template <class T>
class SpscRing {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  SpscRing(SpscRingHeader& header, T* records, std::uint64_t capacity) noexcept
      : header_(&header), records_(records), capacity_(capacity) {}

  // Producer side. False (and `dropped` counted) when the ring is full.
  bool push(const T& value) noexcept {
    const std::uint64_t w = header_->written.load(std::memory_order_relaxed);
    const std::uint64_t r = header_->read.load(std::memory_order_acquire);
    if (w - r >= capacity_) {
      header_->dropped.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    records_[w % capacity_] = value;
    header_->written.store(w + 1, std::memory_order_release);
    return true;
  }

  // Consumer side: hands every published record to `sink`, oldest first; returns how many.
  std::uint64_t drain(FunctionRef<void(const T&)> sink) noexcept {
    const std::uint64_t w = header_->written.load(std::memory_order_acquire);
    const std::uint64_t r = header_->read.load(std::memory_order_relaxed);
    for (std::uint64_t i = r; i != w; ++i) sink(records_[i % capacity_]);
    header_->read.store(w, std::memory_order_release);
    return w - r;
  }

  [[nodiscard]] std::uint64_t dropped() const noexcept {
    return header_->dropped.load(std::memory_order_relaxed);
  }
  // Published and not yet drained (a snapshot).
  [[nodiscard]] std::uint64_t pending() const noexcept {
    return header_->written.load(std::memory_order_acquire) -
           header_->read.load(std::memory_order_acquire);
  }

 private:
  SpscRingHeader* header_;
  T* records_;
  std::uint64_t capacity_;
};

}  // namespace futexbox::sync
