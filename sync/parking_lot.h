// The host parking lot: a global table from keys (usually addresses) to FIFO queues of parked
// threads, with parking_lot_core's API and semantics plus what the futex ABI needs on top.
//
// Why a parking lot: a futex waiter needs a place to sleep that is found by address, costs nothing
// while nobody sleeps there, and never allocates. The lot provides that for every key at once from
// one hash table whose size follows the number of threads (3 buckets per thread), not the number of
// keys. The table, its buckets (cache-line aligned, each a WordLock, a queue and a fairness timer),
// and the per-thread queue nodes (in TLS) are all the memory it ever uses.
//
// Rules for callers, the ones Rust marks `unsafe`:
// - validate, timed_out, filters and callbacks run with bucket locks held. They must not throw,
//   must not block, and must not call into the lot.
// - before_sleep runs with no lock held; it may unpark other threads but must not park.
// - The lot is not reentrant from signal handlers that interrupt a thread inside it.
// - The key is a plain number: the caller decides what it means and must make sure nobody parks on
//   it after the thing it names is gone.
//
// Beyond parking_lot_core:
// - park() can be interruptible: poke() (or a host signal handler running on the parked thread)
//   ends it with kInterrupted unless an unparker got there first; the race is decided under the
//   bucket lock, exactly as for timeouts.
// - park_multiple(): one thread queued on up to kMaxParkKeys keys at once, woken by any one of them
//   and told which (futex_waitv).
// - with_locked_pair(): both buckets of two keys held at once (locked in table order, once when
//   they coincide), with operations that unpark on either key and move threads between them
//   (FUTEX_WAKE_OP, FUTEX_CMP_REQUEUE with keys that must be compared by a filter).
// - Deadlines are absolute on CLOCK_MONOTONIC or CLOCK_REALTIME (see deadline.h).
// - fork(): handlers registered at load time hold every bucket lock across fork() and give the
//   child an empty, unlocked table, so its threads can park; nothing of the parent's threads is
//   left queued there.
#pragma once

#include <atomic>
#include <cstddef>
#include <span>

#include "sync/deadline.h"
#include "sync/function_ref.h"
#include "sync/park_types.h"

namespace futexbox::sync {

namespace internal {
struct ThreadData;
struct Bucket;
struct WakeList;

// One queue entry. A single-key park uses the one embedded in the thread's TLS data; park_multiple
// uses the caller's ParkRequests. Every field except `key` is guarded by the lock of the bucket the
// node is queued in; `key` is also written only under that lock, but read without it by a thread
// locating its own node after a requeue.
struct WaitNode {
  std::atomic<ParkKey> key{0};
  WaitNode* next = nullptr;
  ThreadData* thread = nullptr;
  ParkToken park_token;
  UnparkToken unpark_token;
  bool queued = false;
  bool woken = false;  // dequeued by an unparker rather than by its own thread
};
}  // namespace internal

inline constexpr std::size_t kMaxParkKeys = 128;

// One key of a multi-key park. The node is the lot's bookkeeping; the request must stay put (not be
// moved or destroyed) for the duration of the park_multiple call.
struct ParkRequest {
  ParkKey key = 0;
  ParkToken token;
  internal::WaitNode node;
};

// Identifies a thread for poke(). Valid while that thread lives.
class ThreadHandle {
 public:
  ThreadHandle() = default;
  [[nodiscard]] bool valid() const noexcept { return data_ != nullptr; }
  friend bool operator==(ThreadHandle, ThreadHandle) = default;

 private:
  friend ThreadHandle current_thread() noexcept;
  friend bool poke(ThreadHandle) noexcept;
  explicit ThreadHandle(internal::ThreadData* data) : data_(data) {}
  internal::ThreadData* data_ = nullptr;
};

class LockedBucketPair;

namespace parking_lot {

ParkResult park(ParkKey key, FunctionRef<bool()> validate, FunctionRef<void()> before_sleep,
                FunctionRef<void(ParkKey, bool)> timed_out, ParkToken park_token = kDefaultParkToken,
                const Deadline& deadline = Deadline::never(), bool interruptible = false) noexcept;

// Convenience: park while `validate` holds, no callbacks, no timeout.
ParkResult park(ParkKey key, FunctionRef<bool()> validate) noexcept;

// Queues the calling thread on every request's key, validating each under its bucket lock in
// order; stops at the first that fails (kInvalid, index = that entry, unless an entry queued before
// it was already unparked). Sleeps until any entry is unparked, the deadline passes or (if
// interruptible) a poke. `requests.size()` must be 1..kMaxParkKeys.
ParkResult park_multiple(std::span<ParkRequest> requests, FunctionRef<bool(std::size_t)> validate,
                         FunctionRef<void()> before_sleep, const Deadline& deadline = Deadline::never(),
                         bool interruptible = false) noexcept;

UnparkResult unpark_one(ParkKey key, FunctionRef<UnparkToken(UnparkResult)> callback) noexcept;
UnparkResult unpark_one(ParkKey key) noexcept;
std::size_t unpark_all(ParkKey key, UnparkToken token = kDefaultUnparkToken) noexcept;
UnparkResult unpark_filter(ParkKey key, FunctionRef<FilterOp(ParkToken)> filter,
                           FunctionRef<UnparkToken(UnparkResult)> callback) noexcept;
UnparkResult unpark_requeue(ParkKey key_from, ParkKey key_to, FunctionRef<RequeueOp()> validate,
                            FunctionRef<UnparkToken(RequeueOp, UnparkResult)> callback) noexcept;

// Runs `body` with the buckets of `a` and `b` both locked. Threads body unparks are woken after
// both locks are released.
void with_locked_pair(ParkKey a, ParkKey b, FunctionRef<void(LockedBucketPair&)> body) noexcept;

// Total threads queued on `key` right now (a snapshot, for tests and diagnostics).
std::size_t parked_count(ParkKey key) noexcept;
// Current number of buckets (grows with the number of threads that have parked).
std::size_t bucket_count() noexcept;

// For a child made by a fork that ran no pthread_atfork handlers (a raw fork or clone syscall;
// the agent notices such children through a MADV_WIPEONFORK page): forgets every queued thread
// and every held bucket lock, as the fork handler does. Call on the child's only thread before
// anything else touches the lot. Queue entries of threads that were mid-operation in the parent are
// dropped, never followed, so a torn list cannot hurt.
void reset_after_fork_without_handlers() noexcept;

// For an embedder that sees a thread's exit(2) (the agent traps it): takes the calling thread out
// of the lot's thread registry, if it is in it, just before the thread ends. The registry entry
// lives in the thread's TLS and is normally removed by a thread-specific-data destructor; a thread
// whose last park comes after those destructors ran (glibc's teardown takes its exit_lock and
// malloc's arena lock then) registers again and would stay listed after its memory is gone.
void forget_exiting_thread() noexcept;

}  // namespace parking_lot

ThreadHandle current_thread() noexcept;
// Asks `thread`'s current or next interruptible park to end with kInterrupted. Returns whether the
// thread was parked (or about to park) at that moment; a poke of a running thread has no effect.
bool poke(ThreadHandle thread) noexcept;

// Operations on two buckets held at once; only valid inside with_locked_pair's body. `key`, `from`
// and `to` must be the pair's keys.
class LockedBucketPair {
 public:
  // Unparks, in FIFO order, the threads on `key` the filter selects, until it says kStop. Each gets
  // `token`. Returns how many were unparked.
  std::size_t unpark_filter(ParkKey key, FunctionRef<FilterOp(ParkToken)> filter,
                            UnparkToken token = kDefaultUnparkToken) noexcept;
  // Moves the threads on `from` the filter selects to the tail of `to`'s queue, keeping their
  // order; with from == to they keep their places. Returns how many were moved.
  std::size_t requeue_filter(ParkKey from, ParkKey to,
                             FunctionRef<FilterOp(ParkToken)> filter) noexcept;
  // Whether any thread is parked on `key`.
  [[nodiscard]] bool has_parked(ParkKey key) const noexcept;
  // Calls `visit` with the park token of every thread parked on `key`, in FIFO order.
  void for_each_parked(ParkKey key, FunctionRef<void(ParkToken)> visit) const noexcept;

 private:
  friend void parking_lot::with_locked_pair(ParkKey, ParkKey,
                                            FunctionRef<void(LockedBucketPair&)>) noexcept;
  LockedBucketPair(ParkKey a, internal::Bucket* bucket_a, ParkKey b, internal::Bucket* bucket_b,
                   internal::WakeList& wakes)
      : key_a_(a), key_b_(b), bucket_a_(bucket_a), bucket_b_(bucket_b), wakes_(wakes) {}
  internal::Bucket* bucket_for(ParkKey key) const noexcept;

  ParkKey key_a_;
  ParkKey key_b_;
  internal::Bucket* bucket_a_;
  internal::Bucket* bucket_b_;
  internal::WakeList& wakes_;
};

}  // namespace futexbox::sync
