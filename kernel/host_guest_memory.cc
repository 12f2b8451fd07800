#include "kernel/host_guest_memory.h"

#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>

// Fault-tolerant accessors. Each returns 0, or -EFAULT (-14) when the marked instruction faults:
// the signal handler below moves the instruction pointer to the shared fixup.
extern "C" {
int futexbox_safe_load_u32(const void* addr, std::uint32_t* out);
int futexbox_safe_cas_u32(void* addr, std::uint32_t expected, std::uint32_t desired,
                          std::uint32_t* old);
int futexbox_safe_copy(void* dst, const void* src, std::size_t size);
extern const char futexbox_safe_load_insn[];
extern const char futexbox_safe_cas_insn[];
extern const char futexbox_safe_copy_insn[];
extern const char futexbox_safe_fixup[];
}

#if defined(__x86_64__)
asm(R"(
    .text
    .globl futexbox_safe_load_u32, futexbox_safe_cas_u32, futexbox_safe_copy
    .globl futexbox_safe_load_insn, futexbox_safe_cas_insn, futexbox_safe_copy_insn
    .globl futexbox_safe_fixup
    .hidden futexbox_safe_load_u32, futexbox_safe_cas_u32, futexbox_safe_copy
    .hidden futexbox_safe_load_insn, futexbox_safe_cas_insn, futexbox_safe_copy_insn
    .hidden futexbox_safe_fixup
    .type futexbox_safe_load_u32, @function
futexbox_safe_load_u32:
futexbox_safe_load_insn:
    movl (%rdi), %eax
    movl %eax, (%rsi)
    xorl %eax, %eax
    ret
    .type futexbox_safe_cas_u32, @function
futexbox_safe_cas_u32:
    movl %esi, %eax
futexbox_safe_cas_insn:
    lock cmpxchgl %edx, (%rdi)
    movl %eax, (%rcx)
    xorl %eax, %eax
    ret
    .type futexbox_safe_copy, @function
futexbox_safe_copy:
    movq %rdx, %rcx
futexbox_safe_copy_insn:
    rep movsb
    xorl %eax, %eax
    ret
futexbox_safe_fixup:
    movl $-14, %eax
    ret
)");
#else
#error "HostGuestMemory's fault-tolerant accessors are written for x86-64"
#endif

namespace futexbox::kernel {
namespace {

struct sigaction g_previous_segv;
struct sigaction g_previous_bus;

bool is_accessor(std::uintptr_t ip) noexcept {
  return ip == reinterpret_cast<std::uintptr_t>(futexbox_safe_load_insn) ||
         ip == reinterpret_cast<std::uintptr_t>(futexbox_safe_cas_insn) ||
         ip == reinterpret_cast<std::uintptr_t>(futexbox_safe_copy_insn);
}

void on_fault(int sig, siginfo_t* info, void* context) {
  if (HostGuestMemory::fix_up_fault(*info, context)) return;
  // Not ours: hand it to whoever handled it before, or let the default action happen.
  const struct sigaction& previous = sig == SIGSEGV ? g_previous_segv : g_previous_bus;
  if ((previous.sa_flags & SA_SIGINFO) != 0 && previous.sa_sigaction != nullptr) {
    previous.sa_sigaction(sig, info, context);
    return;
  }
  if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN &&
      previous.sa_handler != nullptr) {
    previous.sa_handler(sig);
    return;
  }
  signal(sig, SIG_DFL);
  // A fault: returning re-executes the faulting instruction, which meets the default action. A
  // sent signal would not come back that way: send it again.
  if (info->si_code <= 0) {
    syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), sig, info);
  }
}

void install_fault_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &on_fault;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    if (sigaction(SIGSEGV, &sa, &g_previous_segv) != 0 ||
        sigaction(SIGBUS, &sa, &g_previous_bus) != 0) {
      std::abort();
    }
  });
}

void* host(GuestAddr addr) noexcept { return reinterpret_cast<void*>(addr); }

}  // namespace

HostGuestMemory::HostGuestMemory(FaultHandler handler) : space_id_(next_object_id()) {
  if (handler == FaultHandler::kInstall) install_fault_handler();
}

bool HostGuestMemory::fix_up_fault(const siginfo_t& info, void* ucontext) noexcept {
  if (info.si_code <= 0) return false;  // sent (SI_USER, SI_TKILL, SI_QUEUE...), not a fault
  auto* uc = static_cast<ucontext_t*>(ucontext);
  const auto ip = static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
  if (!is_accessor(ip)) return false;
  uc->uc_mcontext.gregs[REG_RIP] = reinterpret_cast<greg_t>(futexbox_safe_fixup);
  return true;
}

ErrorOr<std::uint32_t> HostGuestMemory::load_u32(GuestAddr addr) noexcept {
  std::uint32_t v;
  if (futexbox_safe_load_u32(host(addr), &v) != 0) return Errno::kEFAULT;
  return v;
}

ErrorOr<void> HostGuestMemory::store_u32(GuestAddr addr, std::uint32_t value) noexcept {
  if (addr % 4 != 0) return Errno::kEINVAL;
  std::uint32_t old = FUTEXBOX_TRY(load_u32(addr));
  for (;;) {
    std::uint32_t seen;
    if (futexbox_safe_cas_u32(host(addr), old, value, &seen) != 0) return Errno::kEFAULT;
    if (seen == old) return {};
    old = seen;
  }
}

ErrorOr<std::uint32_t> HostGuestMemory::compare_exchange_u32(GuestAddr addr,
                                                             std::uint32_t expected,
                                                             std::uint32_t desired) noexcept {
  if (addr % 4 != 0) return Errno::kEINVAL;
  std::uint32_t seen;
  if (futexbox_safe_cas_u32(host(addr), expected, desired, &seen) != 0) return Errno::kEFAULT;
  return seen;
}

ErrorOr<void> HostGuestMemory::copy_in(GuestAddr addr, void* dst, std::size_t size) noexcept {
  if (futexbox_safe_copy(dst, host(addr), size) != 0) return Errno::kEFAULT;
  return {};
}

ErrorOr<void> HostGuestMemory::copy_out(GuestAddr addr, const void* src,
                                        std::size_t size) noexcept {
  if (futexbox_safe_copy(host(addr), src, size) != 0) return Errno::kEFAULT;
  return {};
}

ErrorOr<MemoryIdentity> HostGuestMemory::identity(GuestAddr addr) noexcept {
  const GuestAddr word = addr & ~GuestAddr{3};
  const std::uint32_t v = FUTEXBOX_TRY(load_u32(word));
  // A locked compare-exchange of the value with itself writes nothing new but needs write
  // access: it tells a read-only page from a writable one without changing memory.
  std::uint32_t seen;
  const bool writable = futexbox_safe_cas_u32(host(word), v, v, &seen) == 0;
  return MemoryIdentity{0, addr, writable};
}

}  // namespace futexbox::kernel
