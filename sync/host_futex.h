// The host's futex syscall, issued from one known code range.
//
// Every futex syscall futexbox itself makes (the thread parker, the word lock) goes through
// host_syscall6, which the linker places in its own section `futexbox_syscall`. The in-process
// agent's seccomp filter traps the guest's futex calls but lets calls whose instruction pointer
// lies in [syscall_gadget_begin(), syscall_gadget_end()) through: that is how futexbox's own
// parking stays a real host futex while the guest's are served by futexbox.
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>

namespace futexbox::sync {

// Raw syscall; returns the kernel's result (negative errno on failure), never touches errno.
long host_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) noexcept;

// Address range holding host_syscall6's `syscall` instruction (for seccomp IP filters).
std::uintptr_t syscall_gadget_begin() noexcept;
std::uintptr_t syscall_gadget_end() noexcept;

// FUTEX_WAIT_BITSET_PRIVATE with an absolute timeout on CLOCK_MONOTONIC or, with `realtime`,
// CLOCK_REALTIME; `abs_timeout` null waits forever. Returns 0 or a negative errno.
long host_futex_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                     const timespec* abs_timeout, bool realtime) noexcept;
// FUTEX_WAKE_PRIVATE; returns the number woken or a negative errno.
long host_futex_wake(const std::atomic<std::uint32_t>* word, int count) noexcept;

}  // namespace futexbox::sync
