#include "tools/agent/guest_signals.h"

#include <sys/syscall.h>

#include <cerrno>

#include "abi/errno.h"
#include "abi/signal.h"
#include "abi/syscall_numbers.h"
#include "kernel/host_guest_memory.h"
#include "sync/host_syscall.h"
#include "tools/agent/agent_thread.h"
#include "tools/agent/signal_windows.h"

// The signal-return trampoline for the actions the agent installs. Unwinders (libgcc, gdb) know a
// signal frame by exactly these bytes, `mov $15, %rax; syscall`, as in glibc's __restore_rt.
extern "C" void futexbox_restore_rt();
asm(R"(
    .text
    .globl futexbox_restore_rt
    .hidden futexbox_restore_rt
    .type futexbox_restore_rt, @function
    nop
futexbox_restore_rt:
    movq $15, %rax
    syscall
    .size futexbox_restore_rt, . - futexbox_restore_rt
)");

namespace futexbox::tools::agent {

static_assert(abi::kSysRtSigreturn == 15, "futexbox_restore_rt's `movq $15, %rax`");

using namespace abi::sig;  // NOLINT: the signal ABI's names are this file's vocabulary

namespace {

using sync::host_syscall;

GuestSignals g_guest_signals;

bool is_function(std::uint64_t handler) noexcept { return handler != kSigDfl && handler != kSigIgn; }

}  // namespace

std::uint64_t& frame_mask(ucontext_t* uc) noexcept {
  // The kernel's rt_sigreturn reads the first 8 bytes of uc_sigmask (glibc's sigset_t is longer).
  return *reinterpret_cast<std::uint64_t*>(&uc->uc_sigmask);
}

namespace {

void call_guest_handler(const KernelSigaction& a, int sig, siginfo_t* info, void* context) {
  if ((a.flags & kSaSigInfo) != 0) {
    reinterpret_cast<void (*)(int, siginfo_t*, void*)>(a.handler)(sig, info, context);
  } else {
    reinterpret_cast<void (*)(int)>(a.handler)(sig);
  }
}

}  // namespace

GuestSignals& guest_signals() noexcept { return g_guest_signals; }

void GuestSignals::lock() noexcept {
  while (lock_.exchange(true, std::memory_order_acquire)) {
    while (lock_.load(std::memory_order_relaxed)) __builtin_ia32_pause();
  }
}
void GuestSignals::unlock() noexcept { lock_.store(false, std::memory_order_release); }

KernelSigaction GuestSignals::action(int sig) const noexcept {
  const Shadow& s = shadow_[sig];
  for (;;) {
    const std::uint32_t before = seq_.load(std::memory_order_acquire);
    if ((before & 1) != 0) {
      __builtin_ia32_pause();
      continue;
    }
    KernelSigaction a;
    a.handler = s.handler.load(std::memory_order_relaxed);
    a.flags = s.flags.load(std::memory_order_relaxed);
    a.restorer = s.restorer.load(std::memory_order_relaxed);
    a.mask = s.mask.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (seq_.load(std::memory_order_relaxed) == before) return a;
  }
}

// Under lock_ (or at init, single-threaded).
void GuestSignals::store_shadow(int sig, const KernelSigaction& a) noexcept {
  Shadow& s = shadow_[sig];
  seq_.fetch_add(1, std::memory_order_relaxed);  // odd: readers retry
  std::atomic_thread_fence(std::memory_order_release);
  s.handler.store(a.handler, std::memory_order_relaxed);
  s.flags.store(a.flags, std::memory_order_relaxed);
  s.restorer.store(a.restorer, std::memory_order_relaxed);
  s.mask.store(a.mask, std::memory_order_relaxed);
  seq_.fetch_add(1, std::memory_order_release);
}

long GuestSignals::install_host(int sig, const KernelSigaction& guest) noexcept {
  if (sig == kSigSys) return 0;
  KernelSigaction host = guest;
  host.mask &= ~sig_bit(kSigSys);
  const bool fault = sig == kSigSegv || sig == kSigBus;
  if (is_function(guest.handler)) {
    host.handler = reinterpret_cast<std::uint64_t>(&GuestSignals::entry);
    host.flags = (guest.flags & ~static_cast<std::uint64_t>(kSaResetHand)) | kSaSigInfo;
  } else if (fault) {
    // The accessors' faults must reach entry() whatever the guest chose.
    host = KernelSigaction{reinterpret_cast<std::uint64_t>(&GuestSignals::entry),
                           kSaSigInfo | kSaOnStack | kSaNoDefer, 0, 0};
  }
  if (host.handler == reinterpret_cast<std::uint64_t>(&GuestSignals::entry) &&
      (host.flags & kSaRestorer) == 0) {
    host.flags |= kSaRestorer;
    host.restorer = restorer_;
  }
  return host_syscall(SYS_rt_sigaction, sig, &host, nullptr, sizeof(std::uint64_t));
}

bool GuestSignals::init(void (*sigsys_handler)(int, siginfo_t*, void*),
                        kernel::GuestMemory& memory, const KernelSigaction& guest_sigsys) noexcept {
  memory_ = &memory;
  // Raw syscalls only, from here on: in an image exec'd by a guest the filter is already in force
  // (it survives exec) and glibc's sigaction would trap with no handler to catch it.
  restorer_ = reinterpret_cast<std::uint64_t>(&futexbox_restore_rt);
  const KernelSigaction ours{reinterpret_cast<std::uint64_t>(sigsys_handler),
                             kSaSigInfo | kSaNoDefer | kSaRestorer | kSaOnStack, restorer_,
                             kHandlerMask};
  if (host_syscall(SYS_rt_sigaction, kSigSys, &ours, nullptr, sizeof(std::uint64_t)) != 0) {
    return false;
  }

  for (int sig = 1; sig <= kNumSignals; ++sig) {
    if (sig == kSigKill || sig == kSigStop) continue;
    KernelSigaction current;
    if (sig == kSigSys) {
      current = guest_sigsys;  // the real one is ours (or was the audit module's)
    } else if (host_syscall(SYS_rt_sigaction, sig, nullptr, &current, sizeof(std::uint64_t)) != 0) {
      continue;
    }
    store_shadow(sig, current);
    if (sig == kSigSegv || sig == kSigBus || is_function(current.handler)) {
      if (install_host(sig, current) != 0) return false;
    }
  }
  // The guest's thread may have entered with kSigSys blocked (inherited across exec): open it.
  const std::uint64_t sigsys = sig_bit(kSigSys);
  host_syscall(SYS_rt_sigprocmask, kSigUnblock, &sigsys, nullptr, sizeof(std::uint64_t));
  return true;
}

long GuestSignals::rt_sigaction(int sig, kernel::GuestAddr act, kernel::GuestAddr oact,
                                std::uint64_t size, bool foreign_child) noexcept {
  // Linux's order: size, then reading act (EFAULT), then the signal number (EINVAL).
  if (size != sizeof(std::uint64_t)) return abi::negated(abi::Errno::kEINVAL);
  KernelSigaction next;
  if (act != 0 && !memory_->copy_in(act, &next, sizeof next)) return abi::negated(abi::Errno::kEFAULT);
  if (sig < 1 || sig > kNumSignals) return abi::negated(abi::Errno::kEINVAL);
  if (act != 0 && (sig == kSigKill || sig == kSigStop)) return abi::negated(abi::Errno::kEINVAL);
  next.mask &= ~kUnblockable;
  KernelSigaction old;
  if (foreign_child) {
    // A vfork child shares our memory but not our signal table: change the host's table only.
    old = action(sig);
    if (act != 0) {
      if (const long r = install_host(sig, next); r != 0) return r;
    }
  } else {
    lock();
    old = action(sig);
    long r = 0;
    if (act != 0) {
      r = install_host(sig, next);
      if (r == 0) store_shadow(sig, next);
    }
    unlock();
    if (r != 0) return r;
  }
  if (oact != 0 && !memory_->copy_out(oact, &old, sizeof old)) return abi::negated(abi::Errno::kEFAULT);
  return 0;
}

long GuestSignals::rt_sigprocmask(ucontext_t* uc, int how, kernel::GuestAddr set,
                                  kernel::GuestAddr oset, std::uint64_t size,
                                  bool foreign_child) noexcept {
  if (size != sizeof(std::uint64_t)) return abi::negated(abi::Errno::kEINVAL);
  AgentThread& me = t_agent;
  std::uint64_t& mask = frame_mask(uc);
  const std::uint64_t old =
      mask | (!foreign_child && me.guest_blocks_sigsys ? sig_bit(kSigSys) : 0);
  if (set != 0) {
    std::uint64_t value;
    if (!memory_->copy_in(set, &value, sizeof value)) return abi::negated(abi::Errno::kEFAULT);
    value &= ~kUnblockable;
    std::uint64_t next;
    switch (how) {
      case kSigBlock: next = old | value; break;
      case kSigUnblock: next = old & ~value; break;
      case kSigSetmask: next = value; break;
      default: return abi::negated(abi::Errno::kEINVAL);
    }
    if (!foreign_child) me.guest_blocks_sigsys = (next & sig_bit(kSigSys)) != 0;
    mask = next & ~sig_bit(kSigSys);
  }
  if (oset != 0 && !memory_->copy_out(oset, &old, sizeof old)) return abi::negated(abi::Errno::kEFAULT);
  return 0;
}

void GuestSignals::redeliver(const siginfo_t& info) noexcept {
  const long pid = host_syscall(SYS_getpid);
  const long tid = host_syscall(SYS_gettid);
  host_syscall(SYS_rt_tgsigqueueinfo, pid, tid, info.si_signo, &info);
}

void GuestSignals::deliver_guest_sigsys(siginfo_t* info, ucontext_t* uc) noexcept {
  const KernelSigaction a = action(kSigSys);
  if (a.handler == kSigIgn) return;
  if (is_function(a.handler)) {
    call_guest_handler(a, kSigSys, info, uc);
    return;
  }
  // The default action (terminate with a core dump), taken for real.
  const KernelSigaction dfl{};
  host_syscall(SYS_rt_sigaction, kSigSys, &dfl, nullptr, sizeof(std::uint64_t));
  const std::uint64_t sigsys = sig_bit(kSigSys);
  host_syscall(SYS_rt_sigprocmask, kSigUnblock, &sigsys, nullptr, sizeof(std::uint64_t));
  host_syscall(SYS_tgkill, host_syscall(SYS_getpid), host_syscall(SYS_gettid), kSigSys);
}

void GuestSignals::entry(int sig, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  if ((sig == kSigSegv || sig == kSigBus) && kernel::HostGuestMemory::fix_up_fault(*info, context)) {
    return;
  }
  const int saved_errno = errno;
  AgentThread& me = t_agent;
  if (me.window != Window::kNone && me.window_pid != 0 &&
      me.window_pid != static_cast<pid_t>(host_syscall(SYS_getpid))) {
    // Left open by a vfork child's successful exec on this thread's TLS: not ours.
    me.window = Window::kNone;
    me.window_pid = 0;
  }
  if (me.window != Window::kNone) {
    // Inside a served call's sleep or a forwarded call: defer (see windows.h).
    defer_signal(me, *info, uc);
    errno = saved_errno;
    return;
  }
  GuestSignals& self = g_guest_signals;
  const KernelSigaction a = self.action(sig);
  if (!is_function(a.handler)) {
    if (sig == kSigSegv || sig == kSigBus) {
      // No guest handler. A real fault: returning re-executes the faulting instruction under the
      // default action, which dumps core as it would have without the agent. A sent one (kill,
      // tgkill, raise: si_code <= 0) would not come back that way, so it is queued again.
      const bool sent = info->si_code <= 0;
      if (sent && a.handler == kSigIgn) {
        errno = saved_errno;
        return;  // ignored, as it would be natively
      }
      const KernelSigaction dfl{};
      host_syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(std::uint64_t));
      if (sent) redeliver(*info);
    } else {
      // The action changed under us: install the current one and let the signal meet it.
      self.lock();
      self.install_host(sig, self.action(sig));
      self.unlock();
      if (a.handler == kSigDfl) redeliver(*info);
    }
    errno = saved_errno;
    return;
  }
  if ((a.flags & kSaResetHand) != 0) {
    self.lock();
    self.store_shadow(sig, KernelSigaction{});
    self.install_host(sig, KernelSigaction{});
    self.unlock();
  }
  errno = saved_errno;
  call_guest_handler(a, sig, info, context);
}

}  // namespace futexbox::tools::agent
