// What the kernel does with futexes when a thread dies or execs (kernel/futex/core.c
// futex_exit_release / futex_exec_release, then kernel/fork.c mm_release), in Linux's order:
//
// 1. The robust-list walk. The head registered with set_robust_list(2) is read; up to 2048
//    entries are visited, each one's successor fetched before the entry is handled, and the entry
//    named by list_op_pending is skipped in the loop and handled last. For each futex word (entry
//    + futex_offset; bit 0 of an entry pointer marks a PI lock) owned by the dying thread, the
//    word becomes (uval & FUTEX_WAITERS) | FUTEX_OWNER_DIED, the TID bits cleared; if WAITERS was
//    set, one waiter is woken with a shared wake (Linux never uses a private wake here, which is
//    why glibc forces robust mutexes to shared ops). A PI lock with a PI waiter is handed to it
//    instead (word = its TID | WAITERS | OWNER_DIED). A pending non-PI entry whose word is 0 gets
//    the wake without a change. Any fault, or a misaligned word, ends the walk silently.
// 2. clear_child_tid: if other threads share the address space, 0 is stored at the address given
//    to set_tid_address(2) / CLONE_CHILD_CLEARTID and one waiter gets a shared wake (this is what
//    pthread_join waits for). Errors are ignored.
#pragma once

#include "kernel/futex_table.h"
#include "kernel/task.h"

namespace futexbox::kernel {

inline constexpr int kRobustListLimit = 2048;

// Step 1 alone (also what exec does first).
void walk_robust_list(FutexTable& futexes, Task& task) noexcept;

// Steps 1 and 2, for a thread that exits or execs. `address_space_shared` says whether other
// live tasks use the task's memory (Linux: mm_users > 1).
void release_futexes(FutexTable& futexes, Task& task, bool address_space_shared) noexcept;

}  // namespace futexbox::kernel
