#include "sync/thread_parker.h"

#include <atomic>
#include <cerrno>
#include <chrono>

#include "sync/host_syscall.h"

namespace futexbox::sync {
namespace {
std::atomic<const ParkSleepHooks*> g_sleep_hooks{nullptr};

// Leaves the window on every way out of park().
class SleepWindow {
 public:
  explicit SleepWindow(bool interruptible) noexcept
      : hooks_(interruptible ? g_sleep_hooks.load(std::memory_order_acquire) : nullptr) {
    if (hooks_ != nullptr) hooks_->enter();
  }
  ~SleepWindow() {
    if (hooks_ != nullptr) hooks_->leave();
  }
  long sleep(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
             const timespec* abs_timeout, bool realtime) const noexcept {
    if (hooks_ != nullptr && hooks_->sleep != nullptr) {
      return hooks_->sleep(word, expected, abs_timeout, realtime);
    }
    return host_futex_wait(word, expected, abs_timeout, realtime);
  }
  SleepWindow(const SleepWindow&) = delete;
  SleepWindow& operator=(const SleepWindow&) = delete;

 private:
  const ParkSleepHooks* hooks_;
};
}  // namespace

void set_park_sleep_hooks(const ParkSleepHooks* hooks) noexcept {
  g_sleep_hooks.store(hooks, std::memory_order_release);
}

void FutexThreadParker::UnparkHandle::unpark() noexcept {
  // The word may belong to a thread that has since returned, or exited: FUTEX_WAKE then either
  // wakes nobody, wakes a later park spuriously (it re-checks), or fails with EFAULT. All harmless.
  (void)host_futex_wake(word_, 1);
}

ParkerWake FutexThreadParker::park(const Deadline& deadline, bool interruptible) noexcept {
  const timespec abs = deadline.to_timespec();
  const timespec* timeout = deadline.is_never() ? nullptr : &abs;
  const SleepWindow window(interruptible);
  for (;;) {
    const std::uint32_t state = state_.load(std::memory_order_acquire);
    if (state == kUnparked) return ParkerWake::kUnparked;
    if (state == kPoked && interruptible) return ParkerWake::kInterrupted;
    const long rc =
        window.sleep(&state_, state, timeout, deadline.clock() == ClockKind::kRealtime);
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
