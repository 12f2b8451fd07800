#include "sync/thread_parker.h"

#include <cerrno>
#include <chrono>

#include "sync/host_futex.h"

namespace futexbox::sync {

void FutexThreadParker::UnparkHandle::unpark() noexcept {
  // The word may belong to a thread that has since returned, or exited: FUTEX_WAKE then either
  // wakes nobody, wakes a later park spuriously (it re-checks), or fails with EFAULT. All harmless.
  (void)host_futex_wake(word_, 1);
}

ParkerWake FutexThreadParker::park(const Deadline& deadline, bool interruptible) noexcept {
  const timespec abs = deadline.to_timespec();
  const timespec* timeout = deadline.is_never() ? nullptr : &abs;
  for (;;) {
    const std::uint32_t state = state_.load(std::memory_order_acquire);
    if (state == kUnparked) return ParkerWake::kUnparked;
    if (state == kPoked && interruptible) return ParkerWake::kInterrupted;
    const long rc =
        host_futex_wait(&state_, state, timeout, deadline.clock() == ClockKind::kRealtime);
    if (rc == -ETIMEDOUT) return ParkerWake::kTimedOut;
    if (rc == -EINTR && interruptible) return ParkerWake::kInterrupted;
    // 0, EAGAIN (the state changed), or EINTR on an uninterruptible park: look again.
  }
}

bool FutexThreadParker::poke() noexcept {
  std::uint32_t expected = kParked;
  if (!state_.compare_exchange_strong(expected, kPoked, std::memory_order_acq_rel)) return false;
  (void)host_futex_wake(&state_, 1);
  return true;
}

void PortableThreadParker::UnparkHandle::unpark() noexcept {
  parker_->cv_.notify_one();
  parker_->mutex_.unlock();
}

ParkerWake PortableThreadParker::park(const Deadline& deadline, bool interruptible) noexcept {
  std::unique_lock lock(mutex_);
  for (;;) {
    const std::uint32_t state = state_.load(std::memory_order_acquire);
    if (state == kUnparked) return ParkerWake::kUnparked;
    if (state == kPoked && interruptible) return ParkerWake::kInterrupted;
    if (deadline.is_never()) {
      cv_.wait(lock);
      continue;
    }
    const auto left = std::chrono::nanoseconds(deadline.remaining_ns());
    if (left.count() == 0) return ParkerWake::kTimedOut;
    // Re-evaluated against the deadline's own clock on every wake-up, so a REALTIME deadline still
    // tracks clock changes, at the cost of a wake-up per change rather than exactness.
    cv_.wait_for(lock, left);
  }
}

bool PortableThreadParker::poke() noexcept {
  std::lock_guard lock(mutex_);
  std::uint32_t expected = kParked;
  if (!state_.compare_exchange_strong(expected, kPoked, std::memory_order_acq_rel)) return false;
  cv_.notify_one();
  return true;
}

}  // namespace futexbox::sync
