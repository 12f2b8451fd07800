#include "kernel/thread_exit.h"

#include <cstddef>

#include "abi/errno.h"

namespace futexbox::kernel {
namespace {

struct RobustListHead {  // struct robust_list_head, LP64
  std::uint64_t next;
  std::int64_t futex_offset;
  std::uint64_t list_op_pending;
};

// handle_futex_death. Returns false to end the walk.
bool handle_futex_death(FutexTable& futexes, Task& task, GuestAddr uaddr, bool pi,
                        bool pending) noexcept {
  if (uaddr % 4 != 0) return false;
  GuestMemory& memory = task.memory();
  const auto me = static_cast<std::uint32_t>(task.tid());
  for (;;) {
    const ErrorOr<std::uint32_t> current = memory.load_u32(uaddr);
    if (!current) return false;
    const std::uint32_t uval = current.value();
    const std::uint32_t owner = uval & abi::futex::kTidMask;
    if (pending && !pi && owner == 0) {
      // The dying thread may have been between releasing the word and waking a waiter.
      (void)futexes.wake(task, uaddr, /*shared=*/true, 1, abi::futex::kBitsetMatchAny);
      return true;
    }
    if (owner != me) return true;
    if (pi && (uval & abi::futex::kWaiters) != 0) {
      // exit_pi_state_list: the lock goes to the oldest PI waiter, marked OWNER_DIED. Linux finds
      // it through the task's pi_state list whatever the key kind; we look at both kinds.
      using HandOver = FutexTable::HandOver;
      ErrorOr<HandOver> r = futexes.hand_over_pi(task, uaddr, /*shared=*/false, uval,
                                                 abi::futex::kOwnerDied, /*store_if_none=*/false);
      if (r && r.value() == HandOver::kNoWaiter) {
        r = futexes.hand_over_pi(task, uaddr, /*shared=*/true, uval, abi::futex::kOwnerDied,
                                 /*store_if_none=*/true);
      }
      if (!r) return false;
      if (r.value() == HandOver::kWordChanged) continue;  // look again
      return true;
    }
    const std::uint32_t mval = (uval & abi::futex::kWaiters) | abi::futex::kOwnerDied;
    const ErrorOr<std::uint32_t> seen = memory.compare_exchange_u32(uaddr, uval, mval);
    if (!seen) return false;
    if (seen.value() != uval) continue;
    if (!pi && (uval & abi::futex::kWaiters) != 0) {
      (void)futexes.wake(task, uaddr, /*shared=*/true, 1, abi::futex::kBitsetMatchAny);
    }
    return true;
  }
}

// fetch_robust_entry: the pointer with its PI bit split off.
bool fetch_entry(GuestMemory& memory, GuestAddr from, GuestAddr& entry, bool& pi) noexcept {
  const ErrorOr<std::uint64_t> raw = memory.read<std::uint64_t>(from);
  if (!raw) return false;
  entry = raw.value() & ~std::uint64_t{1};
  pi = (raw.value() & 1) != 0;
  return true;
}

}  // namespace

void walk_robust_list(FutexTable& futexes, Task& task) noexcept {
  const GuestAddr head_addr = task.robust_list_head;
  if (head_addr == 0) return;
  GuestMemory& memory = task.memory();
  GuestAddr entry = 0;
  bool pi = false;
  if (!fetch_entry(memory, head_addr, entry, pi)) return;
  const ErrorOr<RobustListHead> head = memory.read<RobustListHead>(head_addr);
  if (!head) return;
  const std::int64_t offset = head.value().futex_offset;
  GuestAddr pending = 0;
  bool pending_pi = false;
  if (!fetch_entry(memory, head_addr + offsetof(RobustListHead, list_op_pending), pending,
                   pending_pi)) {
    return;
  }
  int limit = kRobustListLimit;
  while (entry != head_addr) {
    GuestAddr next = 0;
    bool next_pi = false;
    const bool fetched = fetch_entry(memory, entry, next, next_pi);
    if (entry != pending) {
      if (!handle_futex_death(futexes, task, entry + static_cast<std::uint64_t>(offset), pi,
                              /*pending=*/false)) {
        return;
      }
    }
    if (!fetched) return;
    entry = next;
    pi = next_pi;
    if (--limit == 0) break;
  }
  if (pending != 0) {
    (void)handle_futex_death(futexes, task, pending + static_cast<std::uint64_t>(offset),
                             pending_pi, /*pending=*/true);
  }
}

void release_futexes(FutexTable& futexes, Task& task, bool address_space_shared) noexcept {
  walk_robust_list(futexes, task);
  task.robust_list_head = 0;
  if (task.clear_child_tid != 0) {
    if (address_space_shared) {
      (void)task.memory().store_u32(task.clear_child_tid, 0);
      (void)futexes.wake(task, task.clear_child_tid, /*shared=*/true, 1, abi::futex::kBitsetMatchAny);
    }
    task.clear_child_tid = 0;
  }
}

}  // namespace futexbox::kernel
