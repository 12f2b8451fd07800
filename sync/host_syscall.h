// The host's syscalls, issued from one known code range (the gadget).
//
// Every syscall futexbox itself makes (the thread parker's futex, the word lock, the agent's raw
// calls) goes through host_syscall6, whose `syscall` instruction the linker places in its own
// section `futexbox_syscall`. The in-process agent's seccomp filter traps the guest's futex calls
// but lets calls whose instruction pointer lies in [syscall_gadget_begin(), syscall_gadget_end())
// through: that is how futexbox's own parking stays a real host futex while the guest's are
// served by futexbox. The agent moves the gadget to a fixed address (relocate_syscall_gadget);
// until then, or without the agent, the section is used where it was loaded.
#pragma once

#include <time.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace futexbox::sync {

template <class T>
long to_syscall_arg(T value) noexcept {
  if constexpr (std::is_null_pointer_v<T>) {
    return 0;
  } else if constexpr (std::is_pointer_v<T>) {
    return reinterpret_cast<long>(value);
  } else {
    return static_cast<long>(value);
  }
}

// Raw syscall; returns the kernel's result (negative errno on failure), never touches errno.
long host_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) noexcept;

// host_syscall6 with fewer arguments, pointers passed as they are.
template <class... Args>
long host_syscall(long nr, Args... args) noexcept {
  static_assert(sizeof...(Args) <= 6);
  long a[6] = {};
  std::size_t i = 0;
  ((a[i++] = to_syscall_arg(args)), ...);
  return host_syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

// Address range holding host_syscall6's `syscall` instruction (for seccomp IP filters): the
// section, or its relocated copy.
std::uintptr_t syscall_gadget_begin() noexcept;
std::uintptr_t syscall_gadget_end() noexcept;

// Copies the gadget section to the page-aligned address `where` (which must be unmapped) and sends
// every later host_syscall6 through the copy. For the agent: a seccomp filter survives exec with
// the IP range it was given, so the gadget has to sit at the same address in every image the
// guest execs. The code in the section is position-independent (register moves, `syscall`,
// relative jumps), so a byte copy runs as it is. Returns 0 or a negative errno. Once, at startup.
long relocate_syscall_gadget(std::uintptr_t where) noexcept;
// Where `symbol`, an address inside the gadget section, lives now (itself if not relocated).
std::uintptr_t gadget_address(const void* symbol) noexcept;

// FUTEX_WAIT_BITSET_PRIVATE with an absolute timeout on CLOCK_MONOTONIC or, with `realtime`,
// CLOCK_REALTIME; `abs_timeout` null waits forever. Returns 0 or a negative errno.
long host_futex_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                     const timespec* abs_timeout, bool realtime) noexcept;
// FUTEX_WAKE_PRIVATE; returns the number woken or a negative errno.
long host_futex_wake(const std::atomic<std::uint32_t>* word, int count) noexcept;

}  // namespace futexbox::sync
