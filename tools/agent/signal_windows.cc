#include "tools/agent/signal_windows.h"

#include <sys/syscall.h>
#include <time.h>

#include <atomic>
#include <cerrno>

#include "abi/futex.h"
#include "abi/syscall_numbers.h"
#include "sync/host_syscall.h"
#include "tools/agent/guest_signals.h"

extern "C" {
long futexbox_forward_syscall(long nr, const long* args, const volatile sig_atomic_t* skip);
extern const char futexbox_forward_window[];
extern const char futexbox_forward_insn[];
extern const char futexbox_forward_skip[];
}

// In the gadget section, so the seccomp filter lets its syscall through (see sync/host_futex.h).
asm(R"(
    .pushsection futexbox_syscall,"ax",@progbits
    .globl futexbox_forward_syscall, futexbox_forward_window, futexbox_forward_insn
    .globl futexbox_forward_skip
    .hidden futexbox_forward_syscall, futexbox_forward_window, futexbox_forward_insn
    .hidden futexbox_forward_skip
    .type futexbox_forward_syscall, @function
futexbox_forward_syscall:
    movq %rdx, %r11
    movq %rdi, %rax
    movq 16(%rsi), %rdx
    movq 24(%rsi), %r10
    movq 32(%rsi), %r8
    movq 40(%rsi), %r9
    movq 0(%rsi), %rdi
    movq 8(%rsi), %rsi
futexbox_forward_window:
    cmpl $0, (%r11)
    jne futexbox_forward_skip
futexbox_forward_insn:
    syscall
    ret
futexbox_forward_skip:
    movq $-4096, %rax
    ret
    .size futexbox_forward_syscall, . - futexbox_forward_syscall
    .popsection
)");

namespace futexbox::tools::agent {
namespace {

using sync::host_syscall;

namespace futex = abi::futex;

void set_mask(const std::uint64_t& mask) noexcept {
  host_syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, nullptr, sizeof(std::uint64_t));
}

void enter_sleep() noexcept {
  AgentThread& me = t_agent;
  me.window = Window::kSleep;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  set_mask(me.guest_mask);
}

void leave_sleep() noexcept {
  set_mask(kHandlerMask);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_agent.window = Window::kNone;
}

void host_word_woke(AgentThread& me, int entry) noexcept {
  me.host_woken_index = me.host_indices[entry];
  if (me.task != nullptr) me.task->interrupt();
}

long sleep_with_host_words(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                           const timespec* abs_timeout, bool realtime) noexcept {
  AgentThread& me = t_agent;
  const int n = me.host_word_count;
  if (n == 0) return sync::host_futex_wait(word, expected, abs_timeout, realtime);
  futex::Waitv waitv[futex::kWaitvMax + 1];
  waitv[0] = futex::Waitv{expected, reinterpret_cast<std::uint64_t>(word),
                          futex::kFutex2SizeU32 | futex::kFutex2Private, 0};
  for (int i = 0; i < n; ++i) {
    waitv[i + 1] = futex::Waitv{me.host_values[i], reinterpret_cast<std::uint64_t>(me.host_words[i]),
                                futex::kFutex2SizeU32, 0};
  }
  const long r = host_syscall(abi::kSysFutexWaitv, waitv, n + 1, 0, abs_timeout,
                              realtime ? CLOCK_REALTIME : CLOCK_MONOTONIC);
  if (r >= 1) {
    host_word_woke(me, static_cast<int>(r) - 1);
    return 0;
  }
  if (r == -EAGAIN) {
    // Either the parker word moved (an unpark or a poke) or a shared word no longer holds its
    // value, which is a wake for that entry (its value was checked when the call began).
    for (int i = 0; i < n; ++i) {
      std::uint32_t now;
      if (!window_memory().copy_in(reinterpret_cast<kernel::GuestAddr>(me.host_words[i]), &now,
                                   sizeof now) ||
          now != me.host_values[i]) {
        host_word_woke(me, i);
        return 0;
      }
    }
  }
  return r;
}

const sync::ParkSleepHooks kSleepHooks{&enter_sleep, &leave_sleep, &sleep_with_host_words};

kernel::GuestMemory* g_window_memory = nullptr;

// The stub and its labels where they run: in the relocated gadget (see sync/host_futex.h).
decltype(&futexbox_forward_syscall) g_forward = nullptr;
std::uintptr_t g_forward_window = 0;
std::uintptr_t g_forward_insn = 0;
std::uintptr_t g_forward_skip = 0;

}  // namespace

void init_windows(kernel::GuestMemory& memory) noexcept {
  g_window_memory = &memory;
  g_forward = reinterpret_cast<decltype(&futexbox_forward_syscall)>(
      sync::gadget_address(reinterpret_cast<const void*>(&futexbox_forward_syscall)));
  g_forward_window = sync::gadget_address(futexbox_forward_window);
  g_forward_insn = sync::gadget_address(futexbox_forward_insn);
  g_forward_skip = sync::gadget_address(futexbox_forward_skip);
}

kernel::GuestMemory& window_memory() noexcept { return *g_window_memory; }

const sync::ParkSleepHooks& sleep_hooks() noexcept { return kSleepHooks; }

long forward_in_window(AgentThread& me, long nr, const long (&args)[6]) noexcept {
  me.forward_skip = 0;
  me.window = Window::kForward;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  set_mask(me.guest_mask);
  const long r = g_forward(nr, args, &me.forward_skip);
  set_mask(kHandlerMask);
  std::atomic_signal_fence(std::memory_order_seq_cst);
  me.window = Window::kNone;
  return r;
}

void defer_signal(AgentThread& me, const siginfo_t& info, ucontext_t* uc) noexcept {
  // Close the mask first: from here on no signal lands on this thread until the SIGSYS handler
  // returns, and the one queued again below stays pending until then.
  set_mask(kHandlerMask);
  frame_mask(uc) = kHandlerMask;
  if (!me.has_deferred) {
    me.has_deferred = true;
    me.deferred_signo = info.si_signo;
  }
  GuestSignals::redeliver(info);
  if (me.window == Window::kSleep) {
    if (me.task != nullptr) me.task->interrupt();
  } else if (me.window == Window::kForward) {
    me.forward_skip = 1;
    greg_t& rip = uc->uc_mcontext.gregs[REG_RIP];
    const auto ip = static_cast<std::uintptr_t>(rip);
    if (ip >= g_forward_window && ip <= g_forward_insn) rip = static_cast<greg_t>(g_forward_skip);
  }
}

}  // namespace futexbox::tools::agent
