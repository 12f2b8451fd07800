// WakePoint: a place threads wait for "something changed" (a pipe got data or room, a file became
// ready for poll), with a waiter count so that a notify nobody waits for takes no lock.
//
// Protocol, the same store-buffering argument as sync/sharded_wait.h's fast path:
//
//   waiter                                      notifier
//   waiters.fetch_add(1)   (a) + fence (A)      change the state the waiter checks
//   park: under the bucket lock, re-check       full fence (B)
//     still_blocked(); queue; sleep             if (waiters.load() == 0) return;
//   waiters.fetch_sub(1) after the park         unpark_all(key)  (takes the bucket lock)
//
// (A) and (B) are totally ordered. If (A) comes first, the notifier sees the count and takes the
// bucket lock, which orders its unpark against the waiter's locked re-check: the waiter is either
// queued and found, or re-checks after the change and does not sleep. If (B) comes first, the
// waiter's re-check sees the change. So no notify is lost, and a notify with no waiter costs a
// fence and a load. still_blocked() must read the state with atomics (it runs under the bucket
// lock only, not under whatever lock the notifier changed the state with).
#pragma once

#include <atomic>
#include <cstdint>

#include "sync/deadline.h"
#include "sync/fence.h"
#include "sync/function_ref.h"
#include "sync/parking_lot.h"

namespace futexbox::sync {

class WakePoint {
 public:
  WakePoint() = default;
  WakePoint(const WakePoint&) = delete;
  WakePoint& operator=(const WakePoint&) = delete;

  // Sleeps while still_blocked() holds (checked under the bucket lock after counting in), until a
  // notify, the deadline or (if interruptible) a poke.
  ParkStatus wait(FunctionRef<bool()> still_blocked, const Deadline& deadline = Deadline::never(),
                  bool interruptible = false) noexcept {
    count_in();
    const ParkResult r = parking_lot::park(key(), still_blocked, [] {},
                                           [](ParkKey, bool) {}, kDefaultParkToken, deadline,
                                           interruptible);
    count_out();
    return r.status;
  }

  // Wakes every waiter; call after changing the state they check.
  void notify_all() noexcept {
    full_fence();  // (B)
    if (waiters_.load(std::memory_order_relaxed) == 0) return;
    parking_lot::unpark_all(key());
  }

  // For callers that park on several points at once (parking_lot::park_multiple, as poll does):
  // count in on each before parking, out after.
  void count_in() noexcept {
    waiters_.fetch_add(1, std::memory_order_relaxed);  // (a)
    fence_after_rmw();                                  // (A)
  }
  void count_out() noexcept { waiters_.fetch_sub(1, std::memory_order_release); }
  [[nodiscard]] ParkKey key() const noexcept { return reinterpret_cast<ParkKey>(&waiters_); }
  [[nodiscard]] std::uint32_t waiters() const noexcept {
    return waiters_.load(std::memory_order_acquire);
  }

 private:
  std::atomic<std::uint32_t> waiters_{0};
};

}  // namespace futexbox::sync
