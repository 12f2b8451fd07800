// Declarations of the syscall handlers the table points at. Each decodes and validates its
// registers exactly as Linux does, then calls into kernel/.
#pragma once

#include "kernel/error_or.h"
#include "kernel/kernel.h"
#include "syscalls/syscall_args.h"

namespace futexbox::syscalls {

using kernel::ErrorOr;
using kernel::Kernel;
using kernel::Task;

// sys_futex.cc
ErrorOr<std::int64_t> sys_futex(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_futex_waitv(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_futex_wake(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_futex_wait(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_futex_requeue(Kernel&, Task&, const SyscallArgs&);

// sys_signal.cc
ErrorOr<std::int64_t> sys_getpid(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_rt_sigaction(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_rt_sigprocmask(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_rt_sigpending(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_kill(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_tkill(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_tgkill(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_rt_sigqueueinfo(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_rt_tgsigqueueinfo(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_rt_sigtimedwait(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_rt_sigsuspend(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_sigaltstack(Kernel&, Task&, const SyscallArgs&);

// sys_io.cc
ErrorOr<std::int64_t> sys_read(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_write(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_readv(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_writev(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_pipe2(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_eventfd2(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_close(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_dup(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_dup2(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_dup3(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_fcntl(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_ioctl(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_poll(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_ppoll(Kernel&, Task&, const SyscallArgs&);
// restart_syscall(2) for a poll(2) that left a restart block.
ErrorOr<std::int64_t> restart_poll(Kernel&, Task&);

// sys_thread.cc
ErrorOr<std::int64_t> sys_gettid(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_exit(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_execve(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_set_robust_list(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_get_robust_list(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_set_tid_address(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_restart_syscall(Kernel&, Task&, const SyscallArgs&);

}  // namespace futexbox::syscalls
