// dispatch_futex and restart_syscall's futex half: the handlers of futex_handlers.h on a
// FutexTable alone.
#include "syscalls/futex_dispatch.h"

#include "abi/syscall_numbers.h"
#include "syscalls/futex_handlers.h"
#include "syscalls/syscall_return.h"

namespace futexbox::syscalls {

using kernel::Errno;
using kernel::ErrorOr;
using kernel::Task;

ErrorOr<std::int64_t> futex_restart(kernel::FutexTable& futexes, Task& task) {
  kernel::FutexRestartBlock block = task.futex_restart;
  if (!block.armed) return Errno::kEINTR;  // do_no_restart_syscall
  task.futex_restart.armed = false;
  return futex_detail::wait_with_restart(task, futexes, block.uaddr, block.shared, block.val, block.bitset,
                           block.deadline);
}


namespace {

ErrorOr<std::int64_t> serve(const FutexServer& server, Task& task, const SyscallArgs& args,
                            std::span<const abi::futex::Waitv> entries) {
  switch (args.nr) {
    case abi::kSysFutex: return futex(server, task, args);
    case abi::kSysFutexWaitv: return futex_waitv(server, task, args, entries);
    case abi::kSysFutexWake: return futex_wake(server, task, args);
    case abi::kSysFutexWait: return futex_wait(server, task, args);
    case abi::kSysFutexRequeue: return futex_requeue(server, task, args, entries);
    default: return Errno::kENOSYS;
  }
}

[[gnu::noinline]] std::int64_t dispatch_traced(kernel::Tracer& tracer, const FutexServer& server,
                                               Task& task, const SyscallArgs& args,
                                               std::span<const abi::futex::Waitv> entries) noexcept {
  return run_traced(tracer, task, args, [&] { return serve(server, task, args, entries); });
}

}  // namespace

std::int64_t dispatch_futex(const FutexServer& server, Task& task, const SyscallArgs& args,
                            std::span<const abi::futex::Waitv> entries) noexcept {
  if (kernel::Tracer* const tracer = server.futexes().tracer(); tracer != nullptr) [[unlikely]] {
    return dispatch_traced(*tracer, server, task, args, entries);
  }
  return to_rax(serve(server, task, args, entries));
}

}  // namespace futexbox::syscalls
