// libfutexbox-audit.so: the agent's handler in place before any code of a new image runs.
//
// Why. The seccomp filter survives exec; the SIGSYS handler does not. An image the guest execs
// gets its agent back through LD_PRELOAD, but the agent's constructor runs after the constructors
// of every library the program links (ld.so initialises dependencies first), and one of those may
// make a trapped call: any C++ library with <iostream> (its static initialiser goes through
// pthread_once, whose slow path always issues FUTEX_WAKE_PRIVATE), GLib's libgobject, ... Without
// a handler the kernel kills the process with SIGSYS: cmake, compilers, perf and gdb all died so
// when started beneath a guest. ld.so's audit interface (rtld-audit(7)) runs an LD_AUDIT module's
// la_version() while it is still loading the program, before any of the program's code (IFUNC
// resolvers and constructors included). This module installs a SIGSYS handler there, and the
// agent's constructor replaces it with the agent's own.
//
// What the module does with a trapped call, until then:
// - the futex family, execve(at), exit and exit_group go to the host unchanged. A private futex
//   wait that sleeps in the host meanwhile is one of the agent's legacy waiters once it is up
//   (every thread but the constructor's is: tools/agent/legacy_waiters.h), so no wake is lost;
// - rt_sigprocmask is issued for real, which validates it and reports the old mask, and the
//   resulting mask is written into the SIGSYS frame (the kernel restores the frame's mask on
//   return, so a change made in the handler would otherwise be undone), with SIGSYS left open;
// - rt_sigaction of SIGSYS is kept in BootstrapState (bootstrap_layout.h) for the agent, which
//   adopts it as the guest's; of any other signal it is issued for real (the agent adopts the
//   handlers it finds);
// - a SIGSYS seccomp did not raise for us gets the guest's SIGSYS action if it set one, else
//   kills the process as SIG_DFL would, after a line on stderr that names futexbox.
//
// How it can run so early. An audit module is loaded into a link namespace of its own, so it
// must not need anything: no libc (its copy would be loaded and initialised just for us), no
// relocations against other objects, no TLS. It is freestanding C++ with raw syscalls, issued
// from a stub it copies into the trusted range (kStubAddress), since its own text is outside it.
// Its handler runs with no signal blocked (SA_NODEFER, empty sa_mask): a forwarded wait stays
// interruptible, and a guest handler that runs nested may trap again.
#include <signal.h>
#include <ucontext.h>

#include <cstddef>
#include <cstdint>

#include "abi/errno.h"
#include "abi/signal.h"
#include "abi/syscall_numbers.h"
#include "tools/agent/audit/bootstrap_layout.h"
#include "tools/agent/trapped_calls.h"

extern "C" {
long futexbox_audit_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
extern const char futexbox_audit_syscall_end[];
void futexbox_audit_restorer();
}

asm(R"(
    .text
    .globl futexbox_audit_syscall, futexbox_audit_syscall_end, futexbox_audit_restorer
    .hidden futexbox_audit_syscall, futexbox_audit_syscall_end, futexbox_audit_restorer
    .type futexbox_audit_syscall, @function
futexbox_audit_syscall:
    movq %rdi, %rax
    movq %rsi, %rdi
    movq %rdx, %rsi
    movq %rcx, %rdx
    movq %r8, %r10
    movq %r9, %r8
    movq 8(%rsp), %r9
    syscall
    ret
futexbox_audit_syscall_end:
    .size futexbox_audit_syscall, . - futexbox_audit_syscall
    .type futexbox_audit_restorer, @function
futexbox_audit_restorer:
    movq $15, %rax
    syscall
    hlt
    .size futexbox_audit_restorer, . - futexbox_audit_restorer
)");

// The compiler may emit calls to these for plain loops and copies; nothing else provides them
// here (hidden, by -fvisibility=hidden: they stay the module's own).
extern "C" void* memset(void* dst, int c, std::size_t n) {
  auto* d = static_cast<volatile unsigned char*>(dst);
  for (std::size_t i = 0; i < n; ++i) d[i] = static_cast<unsigned char>(c);
  return dst;
}

extern "C" void* memcpy(void* dst, const void* src, std::size_t n) {
  auto* d = static_cast<volatile unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  for (std::size_t i = 0; i < n; ++i) d[i] = s[i];
  return dst;
}

namespace futexbox::tools::agent::bootstrap {
namespace {

namespace sig = abi::sig;
using Syscall6 = long (*)(long, long, long, long, long, long, long);

// Calls the filter never traps (mmap, write, getpid, ...) may go out from here directly.
long raw(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0, long a6 = 0) {
  return futexbox_audit_syscall(nr, a1, a2, a3, a4, a5, a6);
}

// Trapped ones go through the copy in the trusted range.
long trusted(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0,
             long a6 = 0) {
  return reinterpret_cast<Syscall6>(kStubAddress)(nr, a1, a2, a3, a4, a5, a6);
}

BootstrapState& state() { return *reinterpret_cast<BootstrapState*>(kStateAddress); }

void say(const char* text) {
  const volatile char* p = text;  // volatile: not turned into a call of libc's strlen
  std::size_t n = 0;
  while (p[n] != '\0') ++n;
  raw(abi::kSysWrite, 2, reinterpret_cast<long>(text), static_cast<long>(n));
}

// Copies between the guest's memory and ours through the kernel, so a bad pointer is EFAULT
// rather than a fault in here.
constexpr long kProcessVmReadv = 310, kProcessVmWritev = 311;
bool copy_guest(long nr, void* local, std::uint64_t remote, std::size_t size) {
  struct {
    void* base;
    std::size_t len;
  } mine{local, size}, theirs{reinterpret_cast<void*>(remote), size};
  return raw(nr, raw(abi::kSysGetpid), reinterpret_cast<long>(&mine), 1,
             reinterpret_cast<long>(&theirs), 1, 0) == static_cast<long>(size);
}

long sigaction_of_sigsys(std::uint64_t act, std::uint64_t oact, std::uint64_t size) {
  if (size != sizeof(sig::SigSet)) return abi::negated(abi::Errno::kEINVAL);
  sig::SigAction next;
  if (act != 0 && !copy_guest(kProcessVmReadv, &next, act, sizeof next)) {
    return abi::negated(abi::Errno::kEFAULT);
  }
  const sig::SigAction old = state().guest_sigsys;
  if (oact != 0 && !copy_guest(kProcessVmWritev, const_cast<sig::SigAction*>(&old), oact,
                               sizeof old)) {
    return abi::negated(abi::Errno::kEFAULT);
  }
  if (act != 0) {
    next.flags &= sig::kSaKnownFlags;
    next.mask &= ~sig::kUnblockable;
    state().guest_sigsys = next;
  }
  return 0;
}

std::uint64_t& frame_mask(ucontext_t* uc) {
  return *reinterpret_cast<std::uint64_t*>(&uc->uc_sigmask);
}

long sigprocmask(ucontext_t* uc, long how, long set, long oset, long size) {
  // In this handler the thread's mask is the one the frame saved (SA_NODEFER, empty sa_mask), so
  // the real call reports the guest's old mask and computes its new one.
  const long r = trusted(abi::kSysRtSigprocmask, how, set, oset, size);
  if (r != 0) return r;
  std::uint64_t now = 0;
  trusted(abi::kSysRtSigprocmask, sig::kSigBlock, 0, reinterpret_cast<long>(&now), sizeof now);
  frame_mask(uc) = now & ~sig::sig_bit(sig::kSigSys);
  return 0;
}

[[noreturn]] void die_of_sigsys(const char* why) {
  say("futexbox: ");
  say(why);
  say("\n");
  const sig::SigAction dfl{};
  trusted(abi::kSysRtSigaction, sig::kSigSys, reinterpret_cast<long>(&dfl), 0, sizeof(sig::SigSet));
  const sig::SigSet sigsys = sig::sig_bit(sig::kSigSys);
  trusted(abi::kSysRtSigprocmask, sig::kSigUnblock, reinterpret_cast<long>(&sigsys), 0,
          sizeof sigsys);
  raw(abi::kSysKill, raw(abi::kSysGetpid), sig::kSigSys);
  trusted(abi::kSysExitGroup, 128 + sig::kSigSys);
  __builtin_unreachable();
}

void guest_sigsys(int signo, siginfo_t* info, void* context) {
  const sig::SigAction& a = state().guest_sigsys;
  if (a.handler == sig::kSigIgn) return;
  if (a.handler == sig::kSigDfl) {
    die_of_sigsys(info->si_code == sig::kSysSeccomp
                      ? "a seccomp filter of the program's own trapped a system call"
                      : "the program was sent SIGSYS");
  }
  reinterpret_cast<void (*)(int, siginfo_t*, void*)>(a.handler)(signo, info, context);
}

void on_sigsys(int signo, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  const long nr = info->si_syscall;
  if (info->si_code != sig::kSysSeccomp || !is_trapped_call(nr)) {
    guest_sigsys(signo, info, context);
    return;
  }
  __atomic_fetch_add(&state().calls, 1, __ATOMIC_RELAXED);
  greg_t* regs = uc->uc_mcontext.gregs;
  const long a[6] = {regs[REG_RDI], regs[REG_RSI], regs[REG_RDX],
                     regs[REG_R10], regs[REG_R8],  regs[REG_R9]};
  long rax;
  if (nr == abi::kSysRtSigprocmask) {
    rax = sigprocmask(uc, a[0], a[1], a[2], a[3]);
  } else if (nr == abi::kSysRtSigaction && a[0] == sig::kSigSys) {
    rax = sigaction_of_sigsys(static_cast<std::uint64_t>(a[1]), static_cast<std::uint64_t>(a[2]),
                              static_cast<std::uint64_t>(a[3]));
  } else {
    rax = trusted(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  }
  regs[REG_RAX] = rax;
}

bool map_fixed(std::uintptr_t where, int prot) {
  constexpr long kProtRw = 3, kPrivateAnonymous = 0x22, kFixedNoReplace = 0x100000;
  return raw(9 /* mmap */, static_cast<long>(where), static_cast<long>(kPage), prot ? prot : kProtRw,
             kPrivateAnonymous | kFixedNoReplace, -1, 0) == static_cast<long>(where);
}

void install() {
  // An image that already has the pages (the module listed twice) keeps the first install.
  if (!map_fixed(kStubAddress, 0)) return;
  const auto* code = reinterpret_cast<const char*>(&futexbox_audit_syscall);
  const std::size_t size = static_cast<std::size_t>(futexbox_audit_syscall_end - code);
  memcpy(reinterpret_cast<void*>(kStubAddress), code, size);
  constexpr long kProtRx = 5;
  if (raw(10 /* mprotect */, static_cast<long>(kStubAddress), static_cast<long>(kPage), kProtRx) != 0 ||
      !map_fixed(kStateAddress, 0)) {
    say("futexbox: the audit module could not map its pages; trapped calls before the agent's "
        "constructor will kill this process\n");
    return;
  }
  BootstrapState& s = state();
  s.handler = reinterpret_cast<std::uint64_t>(&on_sigsys);
  const sig::SigAction ours{s.handler,
                            sig::kSaSigInfo | sig::kSaNoDefer | sig::kSaOnStack | sig::kSaRestorer,
                            reinterpret_cast<std::uint64_t>(&futexbox_audit_restorer), 0};
  if (trusted(abi::kSysRtSigaction, sig::kSigSys, reinterpret_cast<long>(&ours), 0,
              sizeof(sig::SigSet)) != 0) {
    return;
  }
  // The image may have entered with SIGSYS blocked (the mask survives exec).
  const sig::SigSet sigsys = sig::sig_bit(sig::kSigSys);
  trusted(abi::kSysRtSigprocmask, sig::kSigUnblock, reinterpret_cast<long>(&sigsys), 0,
          sizeof sigsys);
  s.magic = kMagic;
}

}  // namespace
}  // namespace futexbox::tools::agent::bootstrap

// rtld-audit(7): called by ld.so as it loads the module, before the program's own objects.
extern "C" __attribute__((visibility("default"))) unsigned la_version(unsigned version) {
  futexbox::tools::agent::bootstrap::install();
  return version;
}
