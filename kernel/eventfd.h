// EventFd: eventfd(2)'s 8-byte counter, and EventFdWaits, the 512-slot wait table its blocked
// readers and writers sleep in.
//
// An eventfd is a perfect fit for the sharded slots (docs/wait-table.md): a counter and a wait,
// with no per-waiter state beyond the key. The counter is a lock-free atomic; a reader that finds
// it 0 (or a writer that would overflow it) waits on the table under the key of this eventfd with
// bitset kReaders (or kWriters), re-checking the counter under the slot's bucket lock; whoever
// changes the counter then wakes the other side. That is the futex protocol exactly (the value
// check under the bucket lock, the fence pair of sharded_wait.h), so no wake is lost and a change
// nobody waits for costs a fence and a load. Waits are interruptible by signals (ERESTARTSYS).
#pragma once

#include <atomic>
#include <cstdint>

#include "kernel/file.h"
#include "sync/sharded_wait.h"

namespace futexbox::kernel {

class EventFdWaits {
 public:
  using Table = sync::ShardedWait<std::uintptr_t>;
  static constexpr std::uint32_t kReaders = 1;
  static constexpr std::uint32_t kWriters = 2;
  Table& table() noexcept { return table_; }

 private:
  Table table_;
};

class EventFd final : public File {
 public:
  // eventfd2's flags: EFD_SEMAPHORE (1), EFD_NONBLOCK (O_NONBLOCK), EFD_CLOEXEC (the descriptor's).
  static constexpr std::uint32_t kSemaphore = 1;
  EventFd(EventFdWaits& waits, std::uint32_t initval, std::uint32_t flags) noexcept;

  // EINVAL for a buffer under 8 bytes; EAGAIN when O_NONBLOCK would block; the read takes the
  // whole count (or 1 with EFD_SEMAPHORE); a write of 2^64-1 is EINVAL.
  ErrorOr<std::int64_t> read(FileIo& io, IoVector& to) noexcept override;
  ErrorOr<std::int64_t> write(FileIo& io, IoVector& from) noexcept override;
  [[nodiscard]] std::uint32_t poll_events() const noexcept override;
  [[nodiscard]] std::uint64_t count() const noexcept {
    return count_.load(std::memory_order_acquire);
  }

 private:
  [[nodiscard]] std::uintptr_t key() const noexcept {
    return reinterpret_cast<std::uintptr_t>(this);
  }
  ErrorOr<void> wait_for(FileIo& io, std::uint32_t side, sync::FunctionRef<bool()> blocked) noexcept;
  void changed(std::uint32_t wake_side) noexcept;

  EventFdWaits& waits_;
  std::atomic<std::uint64_t> count_;
  const bool semaphore_;
};

}  // namespace futexbox::kernel
