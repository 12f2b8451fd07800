// FutexTable: the futex operations of a guest kernel, served from the 512-slot ShardedWait.
//
// Semantics follow Linux (kernel/futex/waitwake.c, requeue.c), down to the errno and the order in
// which errors are detected; docs/futex.md has the op-by-op matrix. Why this is safe, in short
// (the long form is in sync/sharded_wait.h):
// - The value check of a wait reads guest memory under the slot's bucket lock, after the waiter
//   is counted, so a waker that changes the word and then wakes cannot miss it (Linux's
//   futex_wait_setup guarantee: block only if the value was seen under the lock).
// - Two-key operations (requeue, wake_op) hold both slots' bucket locks while they compare, modify
//   and move; waiters moved by a requeue carry their new key and their slot's count with them.
// - An interruption (Task::interrupt) is checked under the bucket lock too, and a wake that got to
//   the waiter first wins: the waiter returns 0, never EINTR, for a wake it consumed.
// Results are ErrorOr<int64_t>: the syscall's non-negative return value, or an Errno, including
// ERESTARTSYS for an interrupted wait (the syscall layer applies the restart rules).
#pragma once

#include <cstdint>
#include <span>

#include "abi/futex.h"
#include "kernel/error_or.h"
#include "kernel/futex_key.h"
#include "kernel/guest_memory.h"
#include "kernel/task.h"
#include "kernel/tracer.h"
#include "sync/deadline.h"
#include "sync/sharded_wait.h"

namespace futexbox::kernel {

struct FutexWaitvEntry {
  GuestAddr uaddr = 0;
  std::uint32_t val = 0;
  bool shared = false;
};

class FutexTable {
 public:
  using Table = sync::ShardedWait<FutexKey, FutexKeyHash>;

  // FUTEX_WAIT / FUTEX_WAIT_BITSET / futex_wait(2): 0 when woken; EAGAIN if *uaddr != val;
  // ETIMEDOUT; ERESTARTSYS if interrupted; EINVAL (bitset 0, misaligned); EFAULT.
  ErrorOr<std::int64_t> wait(Task& task, GuestAddr uaddr, bool shared, std::uint32_t val,
                             std::uint32_t bitset, const sync::Deadline& deadline) noexcept;

  // FUTEX_WAKE / FUTEX_WAKE_BITSET / futex_wake(2): the number woken. nr <= 0 wakes one, as
  // Linux's sys_futex does, except that with `strict` (futex_wake(2)) nr == 0 wakes none.
  ErrorOr<std::int64_t> wake(Task& task, GuestAddr uaddr, bool shared, int nr,
                             std::uint32_t bitset, bool strict = false) noexcept;

  // FUTEX_REQUEUE (cmpval null) / FUTEX_CMP_REQUEUE / futex_requeue(2): woken + requeued.
  ErrorOr<std::int64_t> requeue(Task& task, GuestAddr uaddr, bool shared, GuestAddr uaddr2,
                                bool shared2, int nr_wake, int nr_requeue,
                                const std::uint32_t* cmpval) noexcept;

  // FUTEX_WAKE_OP: the read-modify-write on uaddr2 and the wakes on both keys under both locks.
  ErrorOr<std::int64_t> wake_op(Task& task, GuestAddr uaddr, GuestAddr uaddr2, bool shared,
                                int nr_wake, int nr_wake2, std::uint32_t encoded_op) noexcept;

  // FUTEX_LOCK_PI / FUTEX_LOCK_PI2, or FUTEX_TRYLOCK_PI with `trylock`: 0 once the caller owns
  // the lock (its TID in the word, FUTEX_WAITERS kept or set as Linux does); EDEADLK if it already
  // does; ESRCH if the owner TID names no task (`task_exists`); EAGAIN for a trylock of a held
  // lock; ETIMEDOUT; ERESTARTNOINTR if interrupted (PI locks restart, never EINTR).
  ErrorOr<std::int64_t> lock_pi(Task& task, GuestAddr uaddr, bool shared,
                                const sync::Deadline& deadline, bool trylock,
                                sync::FunctionRef<bool(pid_t)> task_exists) noexcept;

  // FUTEX_UNLOCK_PI: EPERM unless the caller's TID is in the word (checked before anything else,
  // alignment included); hands the lock to the oldest PI waiter (word = FUTEX_WAITERS | its TID)
  // or stores 0.
  ErrorOr<std::int64_t> unlock_pi(Task& task, GuestAddr uaddr, bool shared) noexcept;

  // FUTEX_WAIT_REQUEUE_PI: wait on the plain word `uaddr` to be requeued onto the PI lock
  // `uaddr2`; 0 once the caller owns uaddr2. EINVAL if the two are the same; EAGAIN on a value
  // mismatch or a plain wake before the requeue; ETIMEDOUT; ERESTARTNOINTR if interrupted before
  // the requeue, EAGAIN (EWOULDBLOCK) after it.
  ErrorOr<std::int64_t> wait_requeue_pi(Task& task, GuestAddr uaddr, bool shared,
                                        std::uint32_t val, const sync::Deadline& deadline,
                                        GuestAddr uaddr2) noexcept;

  // FUTEX_CMP_REQUEUE_PI: nr_wake must be 1. Takes uaddr2 for the oldest waiter if it is free
  // (that waiter wakes owning it), then requeues waiters onto uaddr2's PI queue; returns woken +
  // requeued. EINVAL for a waiter that is not a WAIT_REQUEUE_PI waiter for uaddr2; EAGAIN if
  // *uaddr != cmpval; EDEADLK / ESRCH from the lock attempt.
  ErrorOr<std::int64_t> cmp_requeue_pi(Task& task, GuestAddr uaddr, bool shared, GuestAddr uaddr2,
                                       int nr_wake, int nr_requeue, std::uint32_t cmpval,
                                       sync::FunctionRef<bool(pid_t)> task_exists) noexcept;

  // For a dying owner (the robust-list walk, Linux's exit_pi_state_list): if a PI waiter is
  // queued on `uaddr` with this key kind, hands it the lock (word = its TID | FUTEX_WAITERS |
  // `extra_bits`). With none, stores (uval & FUTEX_WAITERS) | `extra_bits` if `store_if_none`.
  enum class HandOver : std::uint8_t { kHandedOver, kNoWaiter, kStored, kWordChanged };
  ErrorOr<HandOver> hand_over_pi(Task& task, GuestAddr uaddr, bool shared, std::uint32_t uval,
                                 std::uint32_t extra_bits, bool store_if_none) noexcept;

  // futex_waitv(2), entries already validated: the index of a woken entry.
  ErrorOr<std::int64_t> waitv(Task& task, std::span<const FutexWaitvEntry> entries,
                              const sync::Deadline& deadline) noexcept;

  [[nodiscard]] const Table& table() const noexcept { return table_; }

  // The attached tracer (kernel/tracer.h), or null. Attach before guest threads run, or accept
  // that calls already in progress are reported from their next hook on.
  void set_tracer(Tracer* tracer) noexcept { tracer_.store(tracer, std::memory_order_release); }
  [[nodiscard]] Tracer* tracer() const noexcept { return tracer_.load(std::memory_order_acquire); }

 private:
  // What a sleep reports to the tracer: the word it waits on, and for FUTEX_WAIT_REQUEUE_PI the PI
  // lock it is woken on once CMP_REQUEUE_PI has set `*requeued` (under the bucket locks).
  struct SleepOn {
    GuestAddr uaddr = 0;
    GuestAddr requeue_target = 0;
    const bool* requeued = nullptr;
  };
  sync::WaitResult sleep(Task& task, const SleepOn& on, const FutexKey& key, std::uint32_t bitset,
                         sync::FunctionRef<bool()> still_blocked, const sync::Deadline& deadline,
                         std::uintptr_t data = 0) noexcept;
  sync::WaitResult sleep_multiple(Task& task, std::span<const FutexWaitvEntry> entries,
                                  std::span<const FutexKey> keys,
                                  std::span<const std::uint32_t> bitsets,
                                  sync::FunctionRef<bool(std::size_t)> still_blocked,
                                  const sync::Deadline& deadline) noexcept;
  // A wake-type op woke `woken` waiters of `uaddr` (reported only if some). Inline: a wake of
  // nobody, the fast path, pays one compare.
  void report_wake(Task& task, GuestAddr uaddr, std::size_t woken) noexcept {
    if (woken == 0) [[likely]] return;
    if (Tracer* t = tracer(); t != nullptr) [[unlikely]] t->futex_wake(task, uaddr, woken);
  }

  Table table_;
  std::atomic<Tracer*> tracer_{nullptr};
};

}  // namespace futexbox::kernel
