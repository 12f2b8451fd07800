// The futex family served on a FutexTable alone: futex, futex_waitv, futex_wake, futex_wait and
// futex_requeue, decoded and answered exactly as syscalls::dispatch answers them, for an
// embedder that serves nothing else. The in-process agent uses it, so it links the futex table
// and these handlers, not the kernel's signal, pipe and eventfd managers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>

#include "abi/futex.h"
#include "kernel/error_or.h"
#include "kernel/futex_table.h"
#include "kernel/task.h"
#include "sync/function_ref.h"
#include "syscalls/syscall_args.h"

namespace futexbox::syscalls {

// A FutexTable and FUTEX_LOCK_PI's owner check (ESRCH when the TID in the word names no thread):
// what the handlers (futex_handlers.h) need of a kernel.
class FutexServer {
 public:
  FutexServer(kernel::FutexTable& futexes, sync::FunctionRef<bool(pid_t)> task_exists) noexcept
      : futexes_(futexes), task_exists_(task_exists) {}
  [[nodiscard]] kernel::FutexTable& futexes() const noexcept { return futexes_; }
  [[nodiscard]] bool task_exists(pid_t tid) const { return task_exists_(tid); }

 private:
  kernel::FutexTable& futexes_;
  sync::FunctionRef<bool(pid_t)> task_exists_;
};

// What the guest's rax gets: a value, -errno, or a restart code (syscalls/restart.h); ENOSYS for
// a number outside the family. Reports to the table's tracer, as dispatch does. `entries`: a
// futex_waitv's or futex_requeue's array as the caller already read it (the agent reads it once
// to route the call), used instead of reading it again; empty to read it here.
std::int64_t dispatch_futex(const FutexServer& server, kernel::Task& task, const SyscallArgs& args,
                            std::span<const abi::futex::Waitv> entries = {}) noexcept;

// restart_syscall(2) for a futex wait that left a restart block (EINTR if none is armed).
kernel::ErrorOr<std::int64_t> futex_restart(kernel::FutexTable& futexes, kernel::Task& task);

}  // namespace futexbox::syscalls
