// The futex family's entries in the syscall table: the handlers of futex_handlers.h on the
// kernel's futex table, with the kernel's own task registry answering FUTEX_LOCK_PI's owner check;
// and restart_syscall(2), which resumes whichever wait (poll or futex) left a restart block.
#include "syscalls/futex_dispatch.h"
#include "syscalls/futex_handlers.h"
#include "syscalls/handlers.h"

namespace futexbox::syscalls {

// The handlers instantiated with the Kernel as their server (its futexes() and task_exists()).
ErrorOr<std::int64_t> sys_futex(Kernel& kernel, Task& task, const SyscallArgs& args) {
  return futex(kernel, task, args);
}
ErrorOr<std::int64_t> sys_futex_waitv(Kernel& kernel, Task& task, const SyscallArgs& args) {
  return futex_waitv(kernel, task, args);
}
ErrorOr<std::int64_t> sys_futex_wake(Kernel& kernel, Task& task, const SyscallArgs& args) {
  return futex_wake(kernel, task, args);
}
ErrorOr<std::int64_t> sys_futex_wait(Kernel& kernel, Task& task, const SyscallArgs& args) {
  return futex_wait(kernel, task, args);
}
ErrorOr<std::int64_t> sys_futex_requeue(Kernel& kernel, Task& task, const SyscallArgs& args) {
  return futex_requeue(kernel, task, args);
}

ErrorOr<std::int64_t> sys_restart_syscall(Kernel& kernel, Task& task, const SyscallArgs&) {
  if (task.poll_restart.armed) return restart_poll(kernel, task);
  return futex_restart(kernel.futexes(), task);
}

}  // namespace futexbox::syscalls
