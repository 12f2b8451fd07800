// The futex family's entries in the syscall table: the handlers of futex_dispatch.cc on the
// kernel's futex table, with the kernel's own task registry answering FUTEX_LOCK_PI's owner check;
// and restart_syscall(2), which resumes whichever wait (poll or futex) left a restart block.
#include "syscalls/futex_dispatch.h"
#include "syscalls/handlers.h"

namespace futexbox::syscalls {
namespace {

// Runs `handler` on the kernel's futex table, with the kernel's task registry (and its host oracle)
// answering FUTEX_LOCK_PI's owner check.
template <class Handler>
ErrorOr<std::int64_t> on_kernel(Kernel& kernel, Task& task, const SyscallArgs& args,
                                Handler handler) {
  auto exists = [&kernel](pid_t tid) { return kernel.task_exists(tid); };
  return handler(FutexServer{kernel.futexes(), exists}, task, args);
}

}  // namespace

ErrorOr<std::int64_t> sys_futex(Kernel& kernel, Task& task, const SyscallArgs& args) {
  return on_kernel(kernel, task, args, futex);
}
ErrorOr<std::int64_t> sys_futex_waitv(Kernel& kernel, Task& task, const SyscallArgs& args) {
  return on_kernel(kernel, task, args, futex_waitv);
}
ErrorOr<std::int64_t> sys_futex_wake(Kernel& kernel, Task& task, const SyscallArgs& args) {
  return on_kernel(kernel, task, args, futex_wake);
}
ErrorOr<std::int64_t> sys_futex_wait(Kernel& kernel, Task& task, const SyscallArgs& args) {
  return on_kernel(kernel, task, args, futex_wait);
}
ErrorOr<std::int64_t> sys_futex_requeue(Kernel& kernel, Task& task, const SyscallArgs& args) {
  return on_kernel(kernel, task, args, futex_requeue);
}

ErrorOr<std::int64_t> sys_restart_syscall(Kernel& kernel, Task& task, const SyscallArgs&) {
  if (task.poll_restart.armed) return restart_poll(kernel, task);
  return futex_restart(kernel.futexes(), task);
}

}  // namespace futexbox::syscalls
