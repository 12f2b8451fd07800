// WordLock: a one-word mutex with a FIFO queue of waiting threads, used for the lot's buckets.
//
// The lot cannot use its own parking for its bucket locks (that would be circular), and it wants a
// lock one word wide so a bucket fits a cache line with room to spare. This is parking_lot_core's
// WordLock: the word holds LOCKED (bit 0), QUEUE_LOCKED (bit 1) and a pointer to the head of a
// queue of per-thread nodes that live in TLS, so waiting never allocates.
//
// Protocol (a port of core/src/word_lock.rs):
// - lock: CAS 0 -> LOCKED; otherwise spin (only while nobody is queued), then push this thread's
//   node at the queue head with a CAS and park. Woken threads compete for the lock again.
// - unlock: clear LOCKED; if threads are queued and nobody holds QUEUE_LOCKED, take QUEUE_LOCKED,
//   fill in `prev` links for nodes pushed since the last scan (the head caches the tail), and wake
//   the tail (FIFO). If the lock was re-taken meanwhile, leave the wake-up to the next unlock.
// Every change to the word is a read-modify-write, so release sequences carry the nodes' contents
// from pushers to the unlocker that takes QUEUE_LOCKED with acquire ordering.
#pragma once

#include <atomic>
#include <cstdint>

namespace futexbox::sync {

class WordLock {
 public:
  constexpr WordLock() noexcept = default;
  WordLock(const WordLock&) = delete;
  WordLock& operator=(const WordLock&) = delete;

  void lock() noexcept {
    std::uintptr_t expected = 0;
    if (state_.compare_exchange_weak(expected, kLocked, std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
      return;
    }
    lock_slow();
  }

  bool try_lock() noexcept {
    std::uintptr_t state = state_.load(std::memory_order_relaxed);
    while ((state & kLocked) == 0) {
      if (state_.compare_exchange_weak(state, state | kLocked, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  void unlock() noexcept {
    const std::uintptr_t state = state_.fetch_sub(kLocked, std::memory_order_release);
    if ((state & kQueueLocked) != 0 || (state & kQueueMask) == 0) return;
    unlock_slow();
  }

  [[nodiscard]] bool is_locked() const noexcept {
    return (state_.load(std::memory_order_relaxed) & kLocked) != 0;
  }

  // Whether anything is set in the lock word (held, or threads queued on it).
  [[nodiscard]] bool is_locked_or_queued() const noexcept {
    return state_.load(std::memory_order_relaxed) != 0;
  }

  // Forcibly returns the lock to the unlocked, empty state. Only for a child process after fork(),
  // where every thread that held or waited for the lock is gone.
  void reset_after_fork() noexcept { state_.store(0, std::memory_order_relaxed); }

 private:
  static constexpr std::uintptr_t kLocked = 1;
  static constexpr std::uintptr_t kQueueLocked = 2;
  static constexpr std::uintptr_t kQueueMask = ~std::uintptr_t{3};

  void lock_slow() noexcept;
  void unlock_slow() noexcept;

  std::atomic<std::uintptr_t> state_{0};
};

}  // namespace futexbox::sync
