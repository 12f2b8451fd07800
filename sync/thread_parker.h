// ThreadParker: puts one thread to sleep until another thread, a deadline or a poke wakes it.
//
// The parking lot keeps one parker per thread. The protocol, taken from parking_lot_core:
//   parked thread                        unparking thread (holds the bucket lock)
//   prepare_park()      state = 1
//   <enqueue under the bucket lock>
//   park(deadline)      sleeps while      handle = unpark_lock()   state = 0 (release)
//                       state != 0        <release the bucket lock>
//                                         handle.unpark()          the actual wake-up syscall
// The unparker marks the thread under the bucket lock, so a thread whose timeout fires can find
// out, under that same lock (still_parked()), whether it was unparked first: a handoff is never
// dropped. The syscall happens after the lock is released so a woken thread never runs straight
// into a held lock. After unpark_lock() the parked thread may return and reuse its parker at any
// time, so the handle touches nothing but the futex word: a late FUTEX_WAKE on a word that has
// moved on is a harmless spurious wake (the park loop re-checks the state).
//
// A third state supports interruption: poke() turns 1 into 2 and wakes the thread; a park that was
// asked to be interruptible then returns kInterrupted (tentatively, like a timeout: the caller
// confirms under the bucket lock). An EINTR from the host futex (a real signal handler ran on this
// thread) also ends an interruptible park.
//
// Two implementations: FutexThreadParker (Linux, a 32-bit futex word, trivially constructible so it
// can live in static TLS) and PortableThreadParker (a mutex and a condition variable; the mutex is
// held from unpark_lock() to unpark(), which keeps the parked thread from returning and destroying
// its parker in between). ThreadParker names the one the lot uses.
#pragma once

#include <time.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "sync/deadline.h"

namespace futexbox::sync {

enum class ParkerWake : std::uint8_t { kUnparked, kTimedOut, kInterrupted };

// Called on the parking thread around the sleep of every interruptible park (enter before the
// first look at the state, leave after the last). The agent runs futexbox with the guest's signals
// blocked and uses these to open them exactly while the thread sleeps: a signal that lands in that
// window can only find the thread asleep or about to sleep on its parker word, so poking that word
// from the handler ends the sleep (a signal before the sleep turns it into an immediate EAGAIN).
// `sleep`, if set, replaces host_futex_wait for those parks (same contract: return 0, -EAGAIN,
// -ETIMEDOUT or -EINTR and let the loop look at the word again); the agent uses it to sleep on
// host futex words as well when a futex_waitv mixes private and shared entries.
// Null (the default) costs one predictable branch. Set once, before any park.
struct ParkSleepHooks {
  void (*enter)() noexcept;
  void (*leave)() noexcept;
  long (*sleep)(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                const timespec* abs_timeout, bool realtime) noexcept;
};
void set_park_sleep_hooks(const ParkSleepHooks* hooks) noexcept;

class FutexThreadParker {
 public:
  class UnparkHandle {
   public:
    UnparkHandle() = default;
    explicit UnparkHandle(std::atomic<std::uint32_t>* word) : word_(word) {}
    void unpark() noexcept;

   private:
    std::atomic<std::uint32_t>* word_ = nullptr;
  };

  constexpr FutexThreadParker() noexcept = default;

  void prepare_park() noexcept { state_.store(kParked, std::memory_order_relaxed); }
  ParkerWake park(const Deadline& deadline, bool interruptible) noexcept;
  // Whether no unparker has claimed this thread yet. Only meaningful under the bucket lock.
  [[nodiscard]] bool still_parked() const noexcept {
    return state_.load(std::memory_order_relaxed) != kUnparked;
  }
  UnparkHandle unpark_lock() noexcept {
    state_.store(kUnparked, std::memory_order_release);
    return UnparkHandle(&state_);
  }
  // Requests an interruptible park to end. Returns whether the thread was parked (state 1).
  bool poke() noexcept;

 private:
  static constexpr std::uint32_t kUnparked = 0;
  static constexpr std::uint32_t kParked = 1;
  static constexpr std::uint32_t kPoked = 2;
  std::atomic<std::uint32_t> state_{kUnparked};
};

class PortableThreadParker {
 public:
  class UnparkHandle {
   public:
    UnparkHandle() = default;
    explicit UnparkHandle(PortableThreadParker* parker) : parker_(parker) {}
    void unpark() noexcept;

   private:
    PortableThreadParker* parker_ = nullptr;
  };

  PortableThreadParker() = default;

  void prepare_park() noexcept { state_.store(kParked, std::memory_order_relaxed); }
  ParkerWake park(const Deadline& deadline, bool interruptible) noexcept;
  [[nodiscard]] bool still_parked() const noexcept {
    return state_.load(std::memory_order_relaxed) != kUnparked;
  }
  UnparkHandle unpark_lock() noexcept {
    mutex_.lock();  // released by UnparkHandle::unpark()
    state_.store(kUnparked, std::memory_order_release);
    return UnparkHandle(this);
  }
  bool poke() noexcept;

 private:
  static constexpr std::uint32_t kUnparked = 0;
  static constexpr std::uint32_t kParked = 1;
  static constexpr std::uint32_t kPoked = 2;
  std::atomic<std::uint32_t> state_{kUnparked};
  std::mutex mutex_;
  std::condition_variable cv_;
};

#if defined(__linux__) && !defined(FUTEXBOX_PORTABLE_PARKER)
using ThreadParker = FutexThreadParker;
#else
using ThreadParker = PortableThreadParker;
#endif

}  // namespace futexbox::sync
