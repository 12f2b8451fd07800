// full_fence() and fence_after_rmw(): sequentially consistent fences, as cheap as the platform
// allows.
//
// The wait table's fast path is a fence paired with a fence (see sharded_wait.h). On x86,
// std::atomic_thread_fence(seq_cst) compiles to MFENCE, which also orders non-temporal stores and
// is no cheaper than a locked read-modify-write (equal on this project's 2-vCPU Xeon VMs, about
// twice as slow on many other cores), while any LOCK-prefixed instruction is already a full
// barrier for ordinary memory in the x86-TSO model: Linux's smp_mb() on x86-64 is
// `lock; addl $0,-4(%rsp)`. The same instruction is used under ThreadSanitizer, which does not
// model fences at all (GCC rejects atomic_thread_fence with -fsanitize=thread): the fast path's
// correctness is an ordering argument TSan cannot check, while the data it protects is reached
// through atomics and bucket locks, which TSan does check. TSan's own RMWs are real LOCK-prefixed
// instructions, so fence_after_rmw() stays sound there too.
#pragma once

#include <atomic>

namespace futexbox::sync {

inline void full_fence() noexcept {
#if defined(__x86_64__)
  asm volatile("lock orq $0, -8(%%rsp)" ::: "memory", "cc");
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

// Orders a preceding atomic read-modify-write before everything after it, like a full fence would
// (Linux's smp_mb__after_atomic()). On x86 the RMW's LOCK prefix already did, so this is only a
// compiler barrier there.
inline void fence_after_rmw() noexcept {
#if defined(__x86_64__)
  asm volatile("" ::: "memory");
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

}  // namespace futexbox::sync
