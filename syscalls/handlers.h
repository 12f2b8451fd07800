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

// sys_thread.cc
ErrorOr<std::int64_t> sys_gettid(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_exit(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_execve(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_set_robust_list(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_get_robust_list(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_set_tid_address(Kernel&, Task&, const SyscallArgs&);
ErrorOr<std::int64_t> sys_restart_syscall(Kernel&, Task&, const SyscallArgs&);

}  // namespace futexbox::syscalls
