// The agent's own stack: where the SIGSYS handler does its work.
//
// Why. A trapped call arrives on whatever stack the kernel put the SIGSYS frame on: the guest
// thread's own stack, or the guest's alternate signal stack when it has one (the agent's action
// has SA_ONSTACK, which Go requires of every handler: its goroutine stacks are 2 KiB and grow
// under the runtime's control, so a frame pushed onto one overwrites the heap next to it; Go gives
// every thread a 32 KiB signal stack instead). Natively a syscall needs none of the user stack, and
// a program may run threads on 16 KiB stacks (PTHREAD_STACK_MIN) or on a small sigaltstack (Rust's
// is 8 KiB plus the kernel's minimum). So the handler takes from that stack only the kernel's own
// frame and a few words of its own: everything else (the parking lot, the futex table, futex_waitv's
// arrays, the forwarded calls) runs on a stack the agent owns, one per thread, that belongs to the
// thread's task-pool slot (task_pool.h) and is mapped when the slot is first claimed.
//
// Why this is safe.
// - A thread is the only user of its slot's stack: a slot has one owner at a time, and the exit
//   trap, which gives the slot back, runs on the guest's stack (agent.cc), so a stack is never
//   handed to a new thread while its old one still runs on it.
// - Nesting: a signal that lands while the handler runs on the agent stack (a deferred guest
//   signal in a window, a fault of the guest-memory accessors) is pushed below the current stack
//   pointer, on the agent stack, and returns there. A SIGSYS raised while already on it (a stray
//   trap) is served in place, not from the top again: run_on_agent_stack checks where it is.
// - A guest with a sigaltstack of its own (Go, Rust, stress-ng) has the SIGSYS frame on it. A
//   signal with SA_ONSTACK that lands while the agent works elsewhere would be put at that
//   stack's top by the kernel, which only checks whether the interrupted code is on the
//   sigaltstack, right over the live SIGSYS frame. So for such a thread the agent stack is made
//   the sigaltstack while the call is served (one sigaltstack call, from the agent stack, which
//   is off the guest's), and nested frames go below the agent's stack pointer. No call puts the
//   guest's back: rt_sigreturn restores the sigaltstack saved in the SIGSYS frame (uc_stack), and
//   the guest never sees the agent's.
// - Guest handlers never run on the agent stack (signal_windows.h defers them to the trapped
//   call's return), so nothing the guest does (longjmp, cancellation unwinding) leaves it.
// - A vfork child runs on its parent's thread and TLS, hence its stack; the parent is suspended
//   in vfork, which is not trapped, so it is not on that stack meanwhile.
// - A fork child's thread is not on any agent stack when it first traps (check_fork runs first,
//   on the frame's stack), and its slot is claimed anew with a stack of its own.
#pragma once

#include <cstddef>

namespace futexbox::tools::agent {

// Each thread's agent stack, and the inaccessible guard page below it (an overflow faults instead
// of writing into a neighbour). Virtual size: pages are touched only as deep as the handler goes.
inline constexpr std::size_t kAgentStackBytes = 48 * 1024;
inline constexpr std::size_t kAgentStackGuardBytes = 4096;


// Calls fn(arg) on the stack whose highest address is `top` (16-byte aligned) and whose lowest is
// top - kAgentStackBytes; if the caller is already on that stack, calls it in place.
void run_on_agent_stack(char* top, void (*fn)(void*), void* arg) noexcept;

// Makes the agent stack ending at `top` the thread's sigaltstack (from code running on it).
void use_as_sigaltstack(char* top) noexcept;

// Maps [guard page][stack, growing down from the returned top][`extra_bytes` at top, page-rounded]
// and returns the top, or null if the mapping fails. The extra bytes (the task's futex_waitv
// storage) are untouched: their pages cost nothing until used.
char* map_agent_stack(std::size_t extra_bytes) noexcept;

}  // namespace futexbox::tools::agent
