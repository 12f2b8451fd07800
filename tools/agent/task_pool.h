// TaskPool: the kernel::Task of every guest thread, created where it first traps, without malloc
// (it runs in the SIGSYS handler). Slots live in chunks of kChunkSlots, each one reserved mapping
// (MAP_NORESERVE: pages are touched only by slots in use) made when every chunk before it is
// full, so any number of threads Linux allows gets a task. Within a chunk a slot is found from the
// thread ID and probed linearly; a slot holds its owner's TID. A thread gives its slot back when
// the agent traps its exit(2); a slot whose TID equals the claimer's belongs to a dead thread that
// never did (live TIDs are unique), and is taken over. A dead thread is in no wait, so nothing
// still points at its task. Each slot also owns the agent stack its threads' SIGSYS handlers run
// on (agent_stack.h), and above that stack the task's 14 KiB of futex_waitv storage, built only
// when a thread of the slot first calls futex_waitv: a slot costs a thread the pages it touches.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "kernel/task.h"

namespace futexbox::tools::agent {

class TaskPool {
 public:
  static constexpr std::size_t kChunkSlots = 4096;
  static constexpr std::size_t kMaxChunks = 256;  // over a million threads

  // Reserves the first chunk.
  bool init() noexcept;
  // A task for the calling thread `tid` of `process`; null only if a new chunk, or the slot's agent
  // stack, cannot be mapped.
  kernel::Task* claim(kernel::Process& process, pid_t tid) noexcept;
  // The thread that claimed `task` is ending: its slot is free again.
  void release(kernel::Task& task) noexcept;
  // The top of the agent stack (agent_stack.h) of `task`'s slot, mapped when the slot was first
  // claimed and kept for its later owners.
  static char* stack_top(kernel::Task& task) noexcept;
  // Builds `task`'s futex_waitv storage if no owner of its slot has used it yet. Only the slot's
  // owner calls these two.
  static void prepare_waitv(kernel::Task& task) noexcept;
  // In a fork child: every slot belonged to the parent's threads. Touches only the slots that were
  // ever claimed (a bitmap per chunk), not every slot: reading each slot's owner cost a page fault
  // per slot, about 4 ms per fork child.
  void reset_after_fork() noexcept;

 private:
  struct Slot;
  struct Chunk;
  static Slot& slot_of(kernel::Task& task) noexcept;
  static void release_slot(Slot& slot) noexcept;
  Chunk* chunk(std::size_t index) noexcept;  // mapped on first use; null if that fails
  static kernel::Task* take(Slot& slot, kernel::Process& process, pid_t tid) noexcept;
  std::atomic<Chunk*> chunks_[kMaxChunks] = {};
};

}  // namespace futexbox::tools::agent
