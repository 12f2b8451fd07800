#include "sync/host_futex.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

// Section boundaries emitted by the linker for sections whose names are C identifiers.
extern "C" char __start_futexbox_syscall[];  // NOLINT(bugprone-reserved-identifier)
extern "C" char __stop_futexbox_syscall[];   // NOLINT(bugprone-reserved-identifier)

namespace futexbox::sync {

__attribute__((section("futexbox_syscall"), noinline)) long host_syscall6(long nr, long a1, long a2,
                                                                           long a3, long a4,
                                                                           long a5,
                                                                           long a6) noexcept {
#if defined(__x86_64__)
  long ret;
  register long r10 asm("r10") = a4;
  register long r8 asm("r8") = a5;
  register long r9 asm("r9") = a6;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;
#else
  const long ret = syscall(nr, a1, a2, a3, a4, a5, a6);
  return ret == -1 ? -errno : ret;
#endif
}

std::uintptr_t syscall_gadget_begin() noexcept {
  return reinterpret_cast<std::uintptr_t>(__start_futexbox_syscall);
}
std::uintptr_t syscall_gadget_end() noexcept {
  return reinterpret_cast<std::uintptr_t>(__stop_futexbox_syscall);
}

long host_futex_wait(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                     const timespec* abs_timeout, bool realtime) noexcept {
  const int op = FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG | (realtime ? FUTEX_CLOCK_REALTIME : 0);
  return host_syscall6(SYS_futex, reinterpret_cast<long>(word), op, static_cast<long>(expected),
                       reinterpret_cast<long>(abs_timeout), 0,
                       static_cast<long>(FUTEX_BITSET_MATCH_ANY));
}

long host_futex_wake(const std::atomic<std::uint32_t>* word, int count) noexcept {
  return host_syscall6(SYS_futex, reinterpret_cast<long>(word), FUTEX_WAKE | FUTEX_PRIVATE_FLAG,
                       count, 0, 0, 0);
}

}  // namespace futexbox::sync
