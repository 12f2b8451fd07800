// Linux's syscall-restart rules, for an embedder delivering a signal to a task whose syscall
// returned one of the kernel-internal restart codes (arch/x86/kernel/signal.c handle_signal and
// arch_do_signal_or_restart):
//
//   code                      handler, SA_RESTART   handler, no SA_RESTART   no handler
//   -ERESTARTSYS              restart the call      -EINTR                   restart the call
//   -ERESTARTNOINTR           restart the call      restart the call         restart the call
//   -ERESTARTNOHAND           -EINTR                -EINTR                   restart the call
//   -ERESTART_RESTARTBLOCK    -EINTR                -EINTR                   restart_syscall(2)
//
// Futex ops map onto it as Linux does: an untimed FUTEX_WAIT / WAIT_BITSET, futex_waitv and
// futex_wait(2) give ERESTARTSYS; a timed FUTEX_WAIT / WAIT_BITSET gives ERESTART_RESTARTBLOCK
// with Task::futex_restart holding the absolute deadline; PI locks give ERESTARTNOINTR.
#pragma once

#include <cstdint>

namespace futexbox::syscalls {

enum class RestartAction : std::uint8_t {
  kReturn,          // give the guest `rax` (unchanged, or -EINTR)
  kRestartSame,     // re-execute the same syscall with the same arguments
  kRestartSyscall,  // execute restart_syscall(2) (nr 219), which resumes from the restart block
};

struct RestartDecision {
  RestartAction action;
  std::int64_t rax;  // for kReturn
};

// `rax` is what dispatch() returned; `handler` whether a signal handler will run for the signal
// that interrupted it; `sa_restart` whether that handler has SA_RESTART.
RestartDecision apply_restart_rules(std::int64_t rax, bool handler, bool sa_restart) noexcept;

}  // namespace futexbox::syscalls
