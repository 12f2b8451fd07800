// TaskPool: the kernel::Task of every guest thread, created where it first traps, without malloc
// (it runs in the SIGSYS handler). Slots live in one reserved mapping, indexed from the thread ID
// and probed linearly; a slot holds its owner's TID. A slot whose TID equals the claimer's belongs
// to a dead thread whose TID was reused (live TIDs are unique), and when the pool is full, slots
// of threads that no longer exist (tgkill(pid, tid, 0) says ESRCH) are taken back. A dead thread
// is in no wait, so nothing still points at its task.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "kernel/task.h"

namespace futexbox::tools::agent {

class TaskPool {
 public:
  static constexpr std::size_t kSlots = 4096;

  // Reserves the mapping (MAP_NORESERVE: pages are touched only by slots in use).
  bool init() noexcept;
  // A task for the calling thread `tid` of `process`, or null if all kSlots threads are alive.
  kernel::Task* claim(kernel::Process& process, pid_t tid) noexcept;
  // In a fork child: every slot belonged to the parent's threads. Touches only the slots that were
  // ever claimed (a bitmap of them), not all kSlots slots: reading each slot's owner cost a page
  // fault per slot, about 4 ms per fork child.
  void reset_after_fork() noexcept;

 private:
  struct Slot;
  kernel::Task* take(Slot& slot, kernel::Process& process, pid_t tid) noexcept;
  Slot* slots_ = nullptr;
  // Bit i: slot i has been claimed at least once (set by claim, cleared in a fork child).
  std::atomic<std::uint64_t> claimed_[kSlots / 64] = {};
};

}  // namespace futexbox::tools::agent
