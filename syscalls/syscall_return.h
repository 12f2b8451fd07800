// The one place an Errno becomes the ABI's -errno, and the one way a handler is run between a
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

// The traced path of a dispatch: `handler` run between the tracer's syscall_entry and exit. Each
// dispatch calls it from a [[gnu::noinline]] function of its own, so that the untraced path stays
// a direct call with nothing spilled for a tracer (a closure handed to a shared function, even
// one taken only when traced, cost the no-waiter FUTEX_WAKE about 1.5 ns in spills and reloads).
template <class Handler>
std::int64_t run_traced(kernel::Tracer& tracer, kernel::Task& task, const SyscallArgs& args,
                        const Handler& handler) noexcept {
  tracer.syscall_entry(task, args.nr, args.regs);
  const std::int64_t rax = to_rax(handler());
  tracer.syscall_exit(task, args.nr, rax);
  return rax;
}

}  // namespace futexbox::syscalls
