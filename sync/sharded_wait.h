// ShardedWait<Key>: a wait table of exactly 512 cache-line-aligned slots on top of the parking lot.
//
// Why this shape. A futex-style wait needs no state of its own per key: a place to sleep, a count
// of sleepers, and the full key to tell sleepers apart. So instead of a map of per-key objects
// (allocated on every wait, freed on the last wake: the design this replaces), every key hashes to
// one of 512 slots allocated once, at stable addresses. A waiter parks in the lot on its slot's
// address, with a pointer to its {key, bitset} record (on its own stack) as the park token; a waker
// unparks with a filter that compares full keys and bitsets. Colliding keys share a slot's queue,
// which costs a skipped waiter during a scan, never a wrong wakeup or a lost one. Nothing on the
// wait or wake path allocates.
//
// The no-waiter fast path, and why no wakeup is lost. Each slot counts the waiters registered
// on any of its keys. A wake that finds the count 0 returns without taking any lock. This is the
// store-buffering pattern of Linux's futex hash (kernel/futex/waitwake.c), with the same fences:
//
//   waiter                                    waker
//   waiters.fetch_add(1)            (a)       *word = new_value     (done by the caller)
//   fence after the RMW             (A)       full fence            (B)
//   lock bucket; still_blocked()              if (waiters.load() == 0) return 0;
//     reads *word; enqueue; unlock            lock bucket; unpark matching waiters
//
// (A) and (B) are full fences (seq_cst; on x86 (A) is the LOCK prefix of (a) itself, as in Linux's
// smp_mb__after_atomic()), so they are totally ordered. If (A) precedes (B), the waker's
// load sees the increment (a) and takes the lock: then either the waiter is already queued and is
// found, or it is not yet and the bucket lock orders the waker's scan before the waiter's
// still_blocked(), which then sees the new value (the caller stored it before (B)) and does not
// sleep. If (B) precedes (A), the waiter's still_blocked() sees the new value. Either way the
// waiter cannot both miss the new value and be missed by the wake. A plain seq_cst RMW and load
// are not enough, because the caller's store to *word need not be seq_cst (libc++ #109290,
// oneTBB #2136), hence explicit fences on both sides.
//
// Counting rules. A waiter counts itself before it can be queued and uncounts itself after it has
// left the queue, in the slot it ended in (a requeue may have moved it). A requeue increments the
// destination slot before it takes the locks (as Linux does, so wakes racing it go the slow way),
// moves the count of the threads it moved from source to destination under both locks, and then
// drops its own increment. So whenever a waiter is queued on a slot, that slot's count covers it,
// and at quiescence every count is 0.
//
// Spurious wakeups. ShardedWait itself reports kWoken only to a waiter that a wake, requeue-wake
// or wake_two selected by its exact key and bitset; collisions never wake anyone. Callers must
// still re-check their condition after kWoken, as with any futex: the value may have changed back
// (ABA), and a wake may be sent for reasons other than the caller's condition. After fork() the
// child's table is empty (the parents' waiters do not exist there) and its counts are reset.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

#include "sync/deadline.h"
#include "sync/fence.h"
#include "sync/function_ref.h"
#include "sync/parking_lot.h"

namespace futexbox::sync {

inline constexpr std::uint32_t kAnyBitset = 0xffff'ffffu;

enum class WaitStatus : std::uint8_t { kWoken, kMismatch, kTimedOut, kInterrupted };

struct WaitResult {
  WaitStatus status = WaitStatus::kMismatch;
  std::size_t index = 0;  // wait_multiple: the entry woken, or the one whose check failed
  std::uintptr_t token = 0;  // kWoken: what the waker handed over (LockedSlots::wake_first)
};

struct RequeueCounts {
  std::size_t woken = 0;
  std::size_t requeued = 0;
};

// What the operation run by wake_two decided.
enum class WakeTwoDecision : std::uint8_t { kAbort, kWakeFirst, kWakeBoth };

namespace internal {

struct alignas(64) WaitSlot {
  std::atomic<std::uint32_t> waiters{0};
};

// Non-template part: the slots and the fork bookkeeping every instance shares.
class ShardedWaitBase {
 public:
  static constexpr std::size_t kSlots = 512;
  static constexpr unsigned kSlotBits = 9;
  static_assert(std::size_t{1} << kSlotBits == kSlots);

  ShardedWaitBase();
  ~ShardedWaitBase();
  ShardedWaitBase(const ShardedWaitBase&) = delete;
  ShardedWaitBase& operator=(const ShardedWaitBase&) = delete;

  // Waiters currently counted in slot `i` (a snapshot).
  [[nodiscard]] std::uint32_t slot_waiters(std::size_t i) const noexcept {
    return slots_[i].waiters.load(std::memory_order_acquire);
  }
  [[nodiscard]] const WaitSlot* slot_address(std::size_t i) const noexcept { return &slots_[i]; }

 protected:
  static std::size_t slot_of_hash(std::size_t hash) noexcept {
    // Fibonacci hashing: the top bits of the product depend on every bit of the hash, so keys that
    // differ only in low (alignment) or high bits still spread.
    return static_cast<std::size_t>((static_cast<std::uint64_t>(hash) * 0x9E3779B97F4A7C15ull) >>
                                    (64 - kSlotBits));
  }
  WaitSlot& slot(std::size_t i) noexcept { return slots_[i]; }
  ParkKey park_key(std::size_t i) const noexcept {
    return reinterpret_cast<ParkKey>(&slots_[i]);
  }
  std::size_t slot_index_of_park_key(ParkKey key) const noexcept {
    return static_cast<std::size_t>(reinterpret_cast<const WaitSlot*>(key) - slots_);
  }

 private:
  friend void reset_sharded_waits_after_fork() noexcept;
  WaitSlot* slots_;
  ShardedWaitBase* registry_prev_ = nullptr;
  ShardedWaitBase* registry_next_ = nullptr;
};

void reset_sharded_waits_after_fork() noexcept;

}  // namespace internal

// The ShardedWait half of parking_lot::reset_after_fork_without_handlers(): zeroes every live
// table's waiter counts (the parent's waiters do not exist in the child). Call both, this second.
inline void reset_sharded_waits_after_fork_without_handlers() noexcept {
  internal::reset_sharded_waits_after_fork();
}

template <class Key, class Hash = std::hash<Key>>
class ShardedWait : public internal::ShardedWaitBase {
 public:
  // A waiter's identity, on its own stack while it is parked; the park token points at it.
  struct WaitRecord {
    Key key;
    std::uint32_t bitset;
    std::uintptr_t data;  // the caller's (e.g. the waiting task's id, for a PI lock handoff)
  };

  // Slots held locked by with_locked() / with_locked_pair(): look at, wake and move the waiters of
  // the locked keys while nothing can join or leave their queues. Keys must be the locked ones.
  class LockedSlots {
   public:
    // The oldest waiter on `key`, or null.
    [[nodiscard]] WaitRecord* first(const Key& key) const noexcept {
      WaitRecord* found = nullptr;
      pair_.for_each_parked(table_.park_key_of(key), [&](ParkToken token) {
        WaitRecord* r = record_of(token);
        if (found == nullptr && r->key == key) found = r;
      });
      return found;
    }
    // Wakes the oldest waiter on `key`, handing it `token`; returns whether there was one.
    bool wake_first(const Key& key, std::uintptr_t token = 0) noexcept {
      std::size_t woken = 0;
      pair_.unpark_filter(
          table_.park_key_of(key),
          [&](ParkToken t) { return select(t, key, kAnyBitset, woken, 1); }, UnparkToken{token});
      return woken == 1;
    }
    // Moves the waiters of `from` that `choose` selects (FIFO; kUnpark moves, kSkip passes,
    // kStop ends) to `to`, carrying their slot counts. Returns how many moved.
    std::size_t requeue(const Key& from, const Key& to,
                        FunctionRef<FilterOp(WaitRecord&)> choose) noexcept {
      const std::size_t s_from = table_.slot_index(from);
      const std::size_t s_to = table_.slot_index(to);
      const std::size_t moved = pair_.requeue_filter(
          table_.park_key(s_from), table_.park_key(s_to), [&](ParkToken t) {
            WaitRecord* r = record_of(t);
            if (!(r->key == from)) return FilterOp::kSkip;
            const FilterOp op = choose(*r);
            if (op == FilterOp::kUnpark) r->key = to;
            return op;
          });
      if (s_from != s_to && moved != 0) {
        table_.slot(s_to).waiters.fetch_add(static_cast<std::uint32_t>(moved),
                                            std::memory_order_relaxed);
        table_.slot(s_from).waiters.fetch_sub(static_cast<std::uint32_t>(moved),
                                              std::memory_order_relaxed);
      }
      return moved;
    }

   private:
    friend class ShardedWait;
    LockedSlots(ShardedWait& table, LockedBucketPair& pair) : table_(table), pair_(pair) {}
    ShardedWait& table_;
    LockedBucketPair& pair_;
  };

  // Storage for one wait_multiple call: owned by the caller (e.g. per guest thread), reused.
  struct MultiWaitStorage {
    std::array<ParkRequest, kMaxParkKeys> requests;
    std::array<WaitRecord, kMaxParkKeys> records;
  };

  explicit ShardedWait(Hash hash = Hash{}) : hash_(std::move(hash)) {}

  [[nodiscard]] std::size_t slot_index(const Key& key) const noexcept {
    return slot_of_hash(hash_(key));
  }

  // Blocks on `key` if `still_blocked()`, run under the slot's bucket lock after this waiter has
  // been counted, returns true; a wake on `key` with a bitset that intersects `bitset` ends it.
  // still_blocked() is also called once before, without the lock, so a wait on a value that has
  // already changed costs no lock at all: anything it does must be safe without the lock too.
  // `before_sleep` runs once the waiter is queued, with no lock held (see parking_lot::park).
  WaitResult wait(const Key& key, std::uint32_t bitset, FunctionRef<bool()> still_blocked,
                  const Deadline& deadline = Deadline::never(), bool interruptible = false,
                  FunctionRef<void()> before_sleep = [] {}, std::uintptr_t data = 0) noexcept {
    // A value that already differs needs no registration at all: it is a valid answer at the
    // moment it was read (Linux would read it under the lock and return EAGAIN just the same).
    if (!still_blocked()) return WaitResult{WaitStatus::kMismatch, 0, 0};
    const std::size_t s = slot_index(key);
    count_in(s);
    WaitRecord record{key, bitset, data};
    const ParkResult r = parking_lot::park(
        park_key(s), still_blocked, before_sleep, [](ParkKey, bool) {},
        ParkToken{reinterpret_cast<std::uintptr_t>(&record)}, deadline, interruptible);
    count_out(slot_index_of_park_key(r.key));
    return WaitResult{to_wait_status(r.status), 0, r.token.value};
  }

  // Waits on several keys at once (futex_waitv): each is checked by still_blocked(i) under its
  // slot's lock, in order; the first that fails ends the call with kMismatch and that index.
  WaitResult wait_multiple(std::span<const Key> keys, std::span<const std::uint32_t> bitsets,
                           FunctionRef<bool(std::size_t)> still_blocked, MultiWaitStorage& storage,
                           const Deadline& deadline = Deadline::never(), bool interruptible = false,
                           FunctionRef<void()> before_sleep = [] {}) noexcept {
    const std::size_t n = keys.size();
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t s = slot_index(keys[i]);
      storage.records[i] = WaitRecord{keys[i], bitsets[i], 0};
      storage.requests[i].key = park_key(s);
      storage.requests[i].token = ParkToken{reinterpret_cast<std::uintptr_t>(&storage.records[i])};
      count_in(s);
    }
    const ParkResult r = parking_lot::park_multiple(std::span(storage.requests.data(), n),
                                                    still_blocked, before_sleep, deadline,
                                                    interruptible);
    for (std::size_t i = 0; i < n; ++i) {
      count_out(slot_index_of_park_key(storage.requests[i].node.key.load(std::memory_order_relaxed)));
    }
    return WaitResult{to_wait_status(r.status), r.index, r.token.value};
  }

  // Wakes up to `max` waiters on `key` whose bitset intersects `bitset`, oldest first. The caller
  // must have stored the new value of whatever waiters check before calling.
  // `token` is handed to each woken waiter (WaitResult::token): who woke it, say.
  std::size_t wake(const Key& key, std::size_t max, std::uint32_t bitset = kAnyBitset,
                   std::uintptr_t token = 0) noexcept {
    if (max == 0) return 0;
    const std::size_t s = slot_index(key);
    full_fence();  // (B)
    if (slot(s).waiters.load(std::memory_order_relaxed) == 0) return 0;
    return wake_slow(s, key, max, bitset, token);
  }

  // With the slots of `from` and `to` both locked: if `check()` holds, wakes up to `max_wake`
  // waiters on `from` (handing each `token`), then moves up to `max_requeue` more to `to`.
  // std::nullopt if check failed.
  std::optional<RequeueCounts> requeue(const Key& from, const Key& to, std::size_t max_wake,
                                       std::size_t max_requeue, FunctionRef<bool()> check,
                                       std::uintptr_t token = 0) noexcept {
    const std::size_t s_from = slot_index(from);
    const std::size_t s_to = slot_index(to);
    count_in(s_to);  // wakes on `to` racing this requeue must take the slow path
    std::optional<RequeueCounts> out;
    parking_lot::with_locked_pair(park_key(s_from), park_key(s_to), [&](LockedBucketPair& pair) {
      if (!check()) return;
      RequeueCounts counts;
      pair.unpark_filter(
          park_key(s_from),
          [&](ParkToken t) { return select(t, from, kAnyBitset, counts.woken, max_wake); },
          UnparkToken{token});
      pair.requeue_filter(park_key(s_from), park_key(s_to), [&](ParkToken t) {
        const FilterOp op = select(t, from, kAnyBitset, counts.requeued, max_requeue);
        if (op == FilterOp::kUnpark) record_of(t)->key = to;
        return op;
      });
      if (s_from != s_to && counts.requeued != 0) {
        slot(s_to).waiters.fetch_add(static_cast<std::uint32_t>(counts.requeued),
                                     std::memory_order_relaxed);
        slot(s_from).waiters.fetch_sub(static_cast<std::uint32_t>(counts.requeued),
                                       std::memory_order_relaxed);
      }
      out = counts;
    });
    count_out(s_to);
    return out;
  }

  // With the slots of `first` and `second` both locked, runs `op` (FUTEX_WAKE_OP's read-modify-
  // write); then wakes up to `max_first` waiters on `first` and, if op said so, up to
  // `max_second` on `second`, handing each `token`. Returns the two counts (0, 0 on kAbort).
  std::pair<std::size_t, std::size_t> wake_two(const Key& first, std::size_t max_first,
                                               const Key& second, std::size_t max_second,
                                               FunctionRef<WakeTwoDecision()> op,
                                               std::uintptr_t token = 0) noexcept {
    const std::size_t s1 = slot_index(first);
    const std::size_t s2 = slot_index(second);
    std::pair<std::size_t, std::size_t> woken{0, 0};
    parking_lot::with_locked_pair(park_key(s1), park_key(s2), [&](LockedBucketPair& pair) {
      const WakeTwoDecision decision = op();
      if (decision == WakeTwoDecision::kAbort) return;
      pair.unpark_filter(
          park_key(s1),
          [&](ParkToken t) { return select(t, first, kAnyBitset, woken.first, max_first); },
          UnparkToken{token});
      if (decision == WakeTwoDecision::kWakeBoth) {
        pair.unpark_filter(
            park_key(s2),
            [&](ParkToken t) { return select(t, second, kAnyBitset, woken.second, max_second); },
            UnparkToken{token});
      }
    });
    return woken;
  }

  // Runs `body` with `key`'s slot locked (and so every queue of that slot frozen). Threads it
  // wakes are woken after the lock is released. For operations that must decide and wake
  // atomically, like a PI unlock that hands the lock to the oldest waiter.
  void with_locked(const Key& key, FunctionRef<void(LockedSlots&)> body) noexcept {
    with_locked_pair(key, key, body);
  }

  // The same with the slots of two keys (in a fixed order, once if they coincide); `b` is counted
  // in meanwhile, as requeue() does, so wakes on it racing a move take the slow path.
  void with_locked_pair(const Key& a, const Key& b,
                        FunctionRef<void(LockedSlots&)> body) noexcept {
    const std::size_t s_b = slot_index(b);
    count_in(s_b);
    parking_lot::with_locked_pair(park_key_of(a), park_key(s_b), [&](LockedBucketPair& pair) {
      LockedSlots locked(*this, pair);
      body(locked);
    });
    count_out(s_b);
  }

  // Waiters parked on exactly `key` right now (scans the slot; for tests and tools).
  std::size_t waiters_on(const Key& key) const noexcept {
    std::size_t count = 0;
    const ParkKey slot_key = park_key(slot_index(key));
    parking_lot::with_locked_pair(slot_key, slot_key, [&](LockedBucketPair& pair) {
      pair.for_each_parked(slot_key, [&](ParkToken token) {
        if (record_of(token)->key == key) ++count;
      });
    });
    return count;
  }

 private:
  ParkKey park_key_of(const Key& key) const noexcept { return park_key(slot_index(key)); }

  // Out of line so the fast path above stays a hash, a fence and a load: building the filter's
  // captures inline would put stores in front of the fence, which must then wait for them.
  [[gnu::noinline]] std::size_t wake_slow(std::size_t s, Key key, std::size_t max,
                                          std::uint32_t bitset, std::uintptr_t token) noexcept {
    std::size_t woken = 0;
    parking_lot::unpark_filter(
        park_key(s), [&](ParkToken t) { return select(t, key, bitset, woken, max); },
        [token](UnparkResult) { return UnparkToken{token}; });
    return woken;
  }

  static WaitRecord* record_of(ParkToken token) noexcept {
    return reinterpret_cast<WaitRecord*>(token.value);
  }

  static FilterOp select(ParkToken token, const Key& key, std::uint32_t bitset,
                         std::size_t& selected, std::size_t max) noexcept {
    if (selected >= max) return FilterOp::kStop;
    const WaitRecord* record = record_of(token);
    if (!(record->key == key) || (record->bitset & bitset) == 0) return FilterOp::kSkip;
    ++selected;
    return FilterOp::kUnpark;
  }

  static WaitStatus to_wait_status(ParkStatus status) noexcept {
    switch (status) {
      case ParkStatus::kUnparked:
        return WaitStatus::kWoken;
      case ParkStatus::kInvalid:
        return WaitStatus::kMismatch;
      case ParkStatus::kTimedOut:
        return WaitStatus::kTimedOut;
      case ParkStatus::kInterrupted:
        return WaitStatus::kInterrupted;
    }
    return WaitStatus::kMismatch;
  }

  void count_in(std::size_t s) noexcept {
    slot(s).waiters.fetch_add(1, std::memory_order_relaxed);  // (a)
    fence_after_rmw();                                        // (A)
  }
  void count_out(std::size_t s) noexcept { slot(s).waiters.fetch_sub(1, std::memory_order_release); }

  Hash hash_;
};

}  // namespace futexbox::sync
