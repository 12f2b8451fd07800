#include "sync/host_syscall.h"

#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

// Section boundaries emitted by the linker for sections whose names are C identifiers.
extern "C" char __start_futexbox_syscall[];  // NOLINT(bugprone-reserved-identifier)
extern "C" char __stop_futexbox_syscall[];   // NOLINT(bugprone-reserved-identifier)

namespace futexbox::sync {

namespace {

using Syscall6 = long (*)(long, long, long, long, long, long, long) noexcept;
std::atomic<Syscall6> g_relocated{nullptr};
std::uintptr_t g_relocated_begin = 0;  // written once, before g_relocated is published

__attribute__((section("futexbox_syscall"), noinline)) long gadget_syscall6(long nr, long a1,
                                                                             long a2, long a3,
                                                                             long a4, long a5,
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

std::uintptr_t section_begin() noexcept {
  return reinterpret_cast<std::uintptr_t>(__start_futexbox_syscall);
}
std::uintptr_t section_size() noexcept {
  return reinterpret_cast<std::uintptr_t>(__stop_futexbox_syscall) - section_begin();
}

}  // namespace

long host_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) noexcept {
  if (const Syscall6 relocated = g_relocated.load(std::memory_order_acquire); relocated != nullptr) {
    return relocated(nr, a1, a2, a3, a4, a5, a6);
  }
  return gadget_syscall6(nr, a1, a2, a3, a4, a5, a6);
}

std::uintptr_t gadget_address(const void* symbol) noexcept {
  const auto address = reinterpret_cast<std::uintptr_t>(symbol);
  if (g_relocated.load(std::memory_order_acquire) == nullptr) return address;
  return g_relocated_begin + (address - section_begin());
}

std::uintptr_t syscall_gadget_begin() noexcept {
  return g_relocated.load(std::memory_order_acquire) != nullptr ? g_relocated_begin
                                                                 : section_begin();
}
std::uintptr_t syscall_gadget_end() noexcept { return syscall_gadget_begin() + section_size(); }

long relocate_syscall_gadget(std::uintptr_t where) noexcept {
  const long page = sysconf(_SC_PAGESIZE);
  const std::size_t size = (section_size() + static_cast<std::size_t>(page) - 1) &
                           ~(static_cast<std::size_t>(page) - 1);
  // Raw calls, not glibc's: in a sanitized guest, the sanitizer's interceptors must not judge (or
  // record) the agent's own mappings.
  const long got = host_syscall(SYS_mmap, where, size, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (got < 0 && got > -4096) return got;
  if (static_cast<std::uintptr_t>(got) != where) {  // a kernel without MAP_FIXED_NOREPLACE
    host_syscall(SYS_munmap, got, size);             // treats the address as a hint
    return -EEXIST;
  }
  std::memcpy(reinterpret_cast<void*>(where), __start_futexbox_syscall, section_size());
  if (const long r = host_syscall(SYS_mprotect, where, size, PROT_READ | PROT_EXEC); r != 0) {
    host_syscall(SYS_munmap, where, size);
    return r;
  }
  g_relocated_begin = where;
  g_relocated.store(reinterpret_cast<Syscall6>(where + (reinterpret_cast<std::uintptr_t>(
                                                            &gadget_syscall6) -
                                                        section_begin())),
                    std::memory_order_release);
  return 0;
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
