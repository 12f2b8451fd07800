// Optional deadlock detection over the parking lot: cycles in the wait-for graph.
//
// Primitives built on the lot report what they hold: acquire_resource(key) after taking a resource,
// release_resource(key) before letting it go (a mutex passes its own address, as parking_lot's
// RawMutex does). check_deadlock() then builds the graph "thread -> key it is parked on -> thread
// holding that key" and returns every cycle. Threads parked with a deadline, and threads parked on
// several keys at once, are never part of a cycle (they can still wake on their own).
//
// Off by default, and free when off: acquire/release are one relaxed load and a branch. When on,
// a thread records up to kMaxHeldResources keys in its TLS (more are counted but not recorded).
// check_deadlock() locks every bucket and allocates; call it from a watchdog, not a hot path.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <vector>

#include "sync/park_types.h"

namespace futexbox::sync::deadlock {

namespace internal {
extern std::atomic<bool> g_enabled;
void acquire_slow(ParkKey key) noexcept;
void release_slow(ParkKey key) noexcept;
}  // namespace internal

void set_enabled(bool enabled) noexcept;
[[nodiscard]] inline bool enabled() noexcept {
  return internal::g_enabled.load(std::memory_order_relaxed);
}

inline void acquire_resource(ParkKey key) noexcept {
  if (enabled()) internal::acquire_slow(key);
}
inline void release_resource(ParkKey key) noexcept {
  if (enabled()) internal::release_slow(key);
}

struct DeadlockedThread {
  pid_t tid = 0;
  ParkKey waiting_on = 0;         // the key it is parked on
  std::vector<ParkKey> holding;   // resources it holds
};

// Every cycle found, each listed thread by thread in wait-for order.
std::vector<std::vector<DeadlockedThread>> check_deadlock();

}  // namespace futexbox::sync::deadlock
