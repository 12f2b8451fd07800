// The one place an Errno becomes the ABI's -errno, and the one place a handler is run between a
// tracer's syscall_entry and syscall_exit: shared by syscalls::dispatch (the whole table) and
// syscalls::dispatch_futex (the futex family alone).
#pragma once

#include <cstdint>

#include "kernel/error_or.h"
#include "kernel/tracer.h"
#include "syscalls/syscall_args.h"

namespace futexbox::syscalls {

inline std::int64_t to_rax(const kernel::ErrorOr<std::int64_t>& result) noexcept {
  return result ? result.value() : -static_cast<std::int64_t>(result.error());
}

// Out of line, so the untraced path keeps no tracer pointer alive across the handler call.
template <class Handler>
[[gnu::noinline]] std::int64_t run_traced(kernel::Tracer& tracer, kernel::Task& task,
                                          const SyscallArgs& args, Handler& handler) noexcept {
  tracer.syscall_entry(task, args.nr, args.regs);
  const std::int64_t rax = to_rax(handler());
  tracer.syscall_exit(task, args.nr, rax);
  return rax;
}

// Untraced: one load (the caller's) and one predictable branch on top of the handler.
template <class Handler>
inline std::int64_t run_handler(kernel::Tracer* tracer, kernel::Task& task, const SyscallArgs& args,
                                Handler&& handler) noexcept {
  if (tracer != nullptr) [[unlikely]] return run_traced(*tracer, task, args, handler);
  return to_rax(handler());
}

}  // namespace futexbox::syscalls
