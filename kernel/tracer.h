// Tracer: what the kernel tells an attached observer about futex activity: every syscall through
// syscalls::dispatch at entry and exit, and each futex wait, wake-up, wake and requeue. futexbox
// trace attaches one (tools/); an embedder may attach its own. Formatting never happens here.
//
// Cost when nothing is attached: each hook point is one load of the tracer pointer and one
// predictable branch (checked by SysWakeNoWaiters in docs/performance.md). Hooks run on the guest
// thread, sometimes with a bucket lock held (none of them here: waits report before they sleep
// and after they return, wakes after the lot has released its locks), and must not block or
// allocate: a tracer writes into memory it set up beforehand.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "kernel/guest_memory.h"

namespace futexbox::kernel {

class Task;

class Tracer {
 public:
  virtual ~Tracer() = default;
  // A syscall entering and leaving syscalls::dispatch; `result` is what dispatch returns (a
  // value, -errno, or a restart code the embedder will resolve). A call reported at entry is
  // reported at exit to the same tracer, even if it was detached meanwhile.
  virtual void syscall_entry(Task& /*task*/, std::uint64_t /*nr*/,
                             std::span<const std::uint64_t, 6> /*args*/) noexcept {}
  virtual void syscall_exit(Task& /*task*/, std::uint64_t /*nr*/, std::int64_t /*result*/) noexcept {}
  // A futex wait that queued and is about to sleep on `uaddr`.
  virtual void futex_wait(Task& /*task*/, GuestAddr /*uaddr*/) noexcept {}
  // That wait ended by a wake; `waker` is the tid of the task whose wake it was, a PI lock's
  // hand-over included (0: unknown, a wake with no waking task). Every op reports through
  // FutexTable's one sleep helper: waits, PI locks, futex_waitv (a futex_wait per entry before it
  // sleeps, the woken entry's word after) and WAIT_REQUEUE_PI (woken on the PI lock's word once
  // requeued onto it).
  virtual void futex_woken(Task& /*task*/, GuestAddr /*uaddr*/, pid_t /*waker*/) noexcept {}
  // A wake-type operation woke `woken` waiters of `uaddr` (only reported when woken > 0).
  virtual void futex_wake(Task& /*task*/, GuestAddr /*uaddr*/, std::size_t /*woken*/) noexcept {}
  // A requeue woke `woken` waiters of `from` and moved `requeued` to `to`.
  virtual void futex_requeue(Task& /*task*/, GuestAddr /*from*/, GuestAddr /*to*/,
                             std::size_t /*woken*/, std::size_t /*requeued*/) noexcept {}
};

}  // namespace futexbox::kernel
