// SpinWait: bounded exponential back-off before a thread gives up and parks.
//
// Same schedule as parking_lot_core's SpinWait: iterations 1-3 execute 2, 4 and 8 `pause`
// instructions, iterations 4-10 yield the CPU, and after 10 the caller is told to park. Spinning
// only pays when the lock holder is running on another CPU; the yields cover the case (common on
// these 2-vCPU machines) where it was preempted. Callers spin only while no thread is queued:
// spinning behind a queue just delays the queued threads.
#pragma once

#include <sched.h>

#include <cstdint>

namespace futexbox::sync {

inline void cpu_relax(std::uint32_t iterations) noexcept {
  for (std::uint32_t i = 0; i < iterations; ++i) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#else
    asm volatile("" ::: "memory");
#endif
  }
}

class SpinWait {
 public:
  // Spins or yields once. Returns false when the caller should stop spinning and park.
  bool spin() noexcept {
    if (counter_ >= 10) return false;
    ++counter_;
    if (counter_ <= 3) {
      cpu_relax(1u << counter_);
    } else {
      sched_yield();
    }
    return true;
  }

  // Spins without ever yielding, with back-off capped at 1024 pauses. For waits that are known
  // to be short (another thread is between two adjacent instructions).
  void spin_no_yield() noexcept {
    if (counter_ < 10) ++counter_;
    cpu_relax(1u << counter_);
  }

  void reset() noexcept { counter_ = 0; }

 private:
  std::uint32_t counter_ = 0;
};

// Spins and yields (one SpinWait schedule) while `blocked()` holds, before a caller parks: for
// waits the other side usually ends within a microsecond, where a sleep would cost a wake-up.
template <class Blocked>
void spin_while(Blocked&& blocked) noexcept {
  for (SpinWait spin; blocked() && spin.spin();) {
  }
}

}  // namespace futexbox::sync
