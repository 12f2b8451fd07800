// set_robust_list(2), get_robust_list(2), set_tid_address(2): per-task registration of the words
// the kernel touches when a thread dies. The exit-time walk lives in kernel/ (next step).
#include "abi/futex.h"
#include "syscalls/handlers.h"

namespace futexbox::syscalls {

using kernel::Errno;

ErrorOr<std::int64_t> sys_set_robust_list(Kernel&, Task& task, const SyscallArgs& args) {
  // Linux only checks the size; the pointer is not validated (the walk tolerates faults).
  if (args.u64(1) != sizeof(abi::futex::RobustListHead)) return Errno::kEINVAL;
  task.robust_list_head = args.addr(0);
  return 0;
}

ErrorOr<std::int64_t> sys_get_robust_list(Kernel& kernel, Task& task, const SyscallArgs& args) {
  const auto pid = static_cast<pid_t>(args.i32(0));
  Task* target = pid == 0 ? &task : kernel.find_task(pid);
  if (target == nullptr) return Errno::kESRCH;
  // All tasks of one futexbox kernel run as one user, so ptrace_may_access() would allow this.
  const std::uint64_t head = target->robust_list_head;
  const std::uint64_t len = sizeof(abi::futex::RobustListHead);
  FUTEXBOX_TRY(task.memory().copy_out(args.addr(2), &len, sizeof(len)));
  FUTEXBOX_TRY(task.memory().copy_out(args.addr(1), &head, sizeof(head)));
  return 0;
}

ErrorOr<std::int64_t> sys_gettid(Kernel&, Task& task, const SyscallArgs&) { return task.tid(); }

ErrorOr<std::int64_t> sys_set_tid_address(Kernel&, Task& task, const SyscallArgs& args) {
  task.clear_child_tid = args.addr(0);
  return task.tid();
}

// exit(2) and exit_group(2): the futex side of the calling thread's death (robust list,
// clear_child_tid). The embedder ends the host thread afterwards, and runs Kernel::exit_task for
// each other thread of the group as it stops them. Returns 0 to mean "the task is gone".
ErrorOr<std::int64_t> sys_exit(Kernel& kernel, Task& task, const SyscallArgs&) {
  kernel.exit_task(task);
  return 0;
}

// execve(2): only the futex release that precedes loading the new image; the embedder loads it.
ErrorOr<std::int64_t> sys_execve(Kernel& kernel, Task& task, const SyscallArgs&) {
  kernel.exec_task(task);
  return 0;
}

}  // namespace futexbox::syscalls
