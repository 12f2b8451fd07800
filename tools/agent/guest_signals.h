// GuestSignals: the guest's signal dispositions and mask as the guest sees them, while SIGSYS
// stays the agent's.
//
// Why this is needed. The agent serves futex calls in a SIGSYS handler. If SIGSYS were blocked or
// ignored when seccomp traps, the kernel would reset it to the default action and kill the
// process; if the guest replaced the handler, its futex calls would land in guest code. So the
// filter also traps rt_sigaction and rt_sigprocmask, which are answered here:
// - rt_sigprocmask edits the mask saved in the SIGSYS frame (it takes effect on the handler's
//   return, where the kernel restores it; a signal it unblocks is delivered right there, as it
//   would be on return from the real syscall). SIGSYS is never really blocked; the guest's wish is
//   remembered per thread and reported back.
// - rt_sigaction keeps a shadow of every action. SIGSYS's lives only in the shadow (its handler
//   still gets SIGSYS that seccomp did not raise for us). A guest handler for any other signal is
//   installed as the agent's entry(), which calls it; SIG_DFL and SIG_IGN are installed as they
//   are. SIGSEGV and SIGBUS always go through entry(): faults of the agent's guest-memory
//   accessors become EFAULT there, anything else reaches the guest's action.
// - entry() is also where a signal that lands while a thread sleeps in a served futex wait is
//   deferred (see agent.cc): it is recorded, the sleep is poked, and once the call has ended (with
//   EINTR or a restart, by Linux's rules) the signal is queued again to the same thread, so the
//   guest's handler runs exactly where Linux would run it: at the syscall's return.
//
// SA_RESETHAND is emulated (a deferred signal must still find the guest's handler). The shadow is
// written under a spin lock by trapped rt_sigaction calls (signals are blocked in the SIGSYS
// handler, so a holder is never interrupted by a signal of its own) and read by entry() through a
// sequence counter, so a reader never waits.
#pragma once

#include <signal.h>
#include <ucontext.h>

#include <atomic>
#include <cstdint>

#include "abi/signal.h"
#include "kernel/guest_memory.h"

namespace futexbox::tools::agent {

// struct sigaction as the kernel's rt_sigaction takes it on x86-64 (not glibc's).
using KernelSigaction = abi::sig::SigAction;

// The mask the SIGSYS handler runs with: everything a signal handler could interrupt it with,
// except the synchronous fault signals (blocking those turns a fault into a kill) and SIGSYS
// itself (a stray trap should reach the handler, not kill).
inline constexpr abi::sig::SigSet kHandlerMask =
    ~(abi::sig::kSynchronous | abi::sig::kUnblockable);

class GuestSignals {
 public:
  // Installs the SIGSYS handler and adopts the actions the process already has (a library
  // constructor may have installed handlers before the agent's ran; the guest's SIGSYS action,
  // which only the audit module saw, is `sigsys`). Constructor-time only.
  bool init(void (*sigsys_handler)(int, siginfo_t*, void*), kernel::GuestMemory& memory,
            const KernelSigaction& sigsys) noexcept;

  // The trapped syscalls. `uc` is the SIGSYS frame's context; `foreign_child` is true in a vfork
  // child (shared memory, own signal table), where only the host's table may change.
  long rt_sigaction(int sig, kernel::GuestAddr act, kernel::GuestAddr oact, std::uint64_t size,
                    bool foreign_child) noexcept;
  long rt_sigprocmask(ucontext_t* uc, int how, kernel::GuestAddr set, kernel::GuestAddr oset,
                      std::uint64_t size, bool foreign_child) noexcept;

  // A SIGSYS that seccomp did not raise for the agent: the guest's own SIGSYS action.
  void deliver_guest_sigsys(siginfo_t* info, ucontext_t* uc) noexcept;
  // The guest's action for `sig` (a consistent snapshot).
  KernelSigaction action(int sig) const noexcept;
  // Queues a deferred signal again to this thread (it is delivered when the SIGSYS handler
  // returns and the guest's mask is back).
  static void redeliver(const siginfo_t& info) noexcept;

  static void entry(int sig, siginfo_t* info, void* context);

 private:
  struct Shadow {
    std::atomic<std::uint64_t> handler{0};
    std::atomic<std::uint64_t> flags{0};
    std::atomic<std::uint64_t> restorer{0};
    std::atomic<std::uint64_t> mask{0};
  };
  long install_host(int sig, const KernelSigaction& guest) noexcept;
  void store_shadow(int sig, const KernelSigaction& act) noexcept;
  void lock() noexcept;
  void unlock() noexcept;

  kernel::GuestMemory* memory_ = nullptr;
  std::uint64_t restorer_ = 0;  // glibc's __restore_rt, for actions the agent installs itself
  std::atomic<bool> lock_{false};
  std::atomic<std::uint32_t> seq_{0};
  Shadow shadow_[abi::sig::kNumSignals + 1];
};

GuestSignals& guest_signals() noexcept;

// The signal mask saved in a signal frame, which rt_sigreturn restores (the kernel reads the first
// 8 bytes of uc_sigmask; glibc's sigset_t is longer).
std::uint64_t& frame_mask(ucontext_t* uc) noexcept;

}  // namespace futexbox::tools::agent
