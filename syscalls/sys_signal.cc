// The signal syscalls: rt_sigaction, rt_sigprocmask, rt_sigpending, kill, tkill, tgkill,
// rt_sigqueueinfo, rt_tgsigqueueinfo, rt_sigtimedwait, rt_sigsuspend, sigaltstack, getpid.
// Decoding and validation in Linux's order (kernel/signal.c), then kernel::SignalManager.
#include <chrono>

#include "abi/signal.h"
#include "syscalls/handlers.h"
#include "syscalls/timeout.h"

namespace futexbox::syscalls {

using kernel::Errno;
using kernel::GuestAddr;
namespace sig = abi::sig;

namespace {
constexpr std::uint64_t kSigSetSize = sizeof(sig::SigSet);
}  // namespace

ErrorOr<std::int64_t> sys_getpid(Kernel&, Task& task, const SyscallArgs&) {
  return task.process().pid();
}

ErrorOr<std::int64_t> sys_rt_sigaction(Kernel& kernel, Task& task, const SyscallArgs& args) {
  if (args.u64(3) != kSigSetSize) return Errno::kEINVAL;
  sig::SigAction act;
  if (args.addr(1) != 0) act = FUTEXBOX_TRY(task.memory().read<sig::SigAction>(args.addr(1)));
  sig::SigAction old;
  FUTEXBOX_TRY(kernel.signals().set_action(task, args.i32(0), args.addr(1) != 0 ? &act : nullptr,
                                           args.addr(2) != 0 ? &old : nullptr));
  if (args.addr(2) != 0) FUTEXBOX_TRY(task.memory().copy_out(args.addr(2), &old, sizeof(old)));
  return 0;
}

ErrorOr<std::int64_t> sys_rt_sigprocmask(Kernel& kernel, Task& task, const SyscallArgs& args) {
  if (args.u64(3) != kSigSetSize) return Errno::kEINVAL;
  sig::SigSet set = 0;
  if (args.addr(1) != 0) set = FUTEXBOX_TRY(task.memory().read<sig::SigSet>(args.addr(1)));
  sig::SigSet old = 0;
  FUTEXBOX_TRY(kernel.signals().change_mask(task, args.i32(0),
                                            args.addr(1) != 0 ? &set : nullptr, &old));
  if (args.addr(2) != 0) FUTEXBOX_TRY(task.memory().copy_out(args.addr(2), &old, sizeof(old)));
  return 0;
}

ErrorOr<std::int64_t> sys_rt_sigpending(Kernel& kernel, Task& task, const SyscallArgs& args) {
  const std::uint64_t size = args.u64(1);
  if (size > kSigSetSize) return Errno::kEINVAL;
  const sig::SigSet set = kernel.signals().pending(task);
  // As many bytes as the caller asked for.
  FUTEXBOX_TRY(task.memory().copy_out(args.addr(0), &set, static_cast<std::size_t>(size)));
  return 0;
}

ErrorOr<std::int64_t> sys_kill(Kernel& kernel, Task& task, const SyscallArgs& args) {
  FUTEXBOX_TRY(kernel.signals().kill(task, args.i32(0), args.i32(1)));
  return 0;
}

ErrorOr<std::int64_t> sys_tkill(Kernel& kernel, Task& task, const SyscallArgs& args) {
  if (args.i32(0) <= 0) return Errno::kEINVAL;
  FUTEXBOX_TRY(kernel.signals().tgkill(task, -1, args.i32(0), args.i32(1)));
  return 0;
}

ErrorOr<std::int64_t> sys_tgkill(Kernel& kernel, Task& task, const SyscallArgs& args) {
  if (args.i32(0) <= 0 || args.i32(1) <= 0) return Errno::kEINVAL;
  FUTEXBOX_TRY(kernel.signals().tgkill(task, args.i32(0), args.i32(1), args.i32(2)));
  return 0;
}

ErrorOr<std::int64_t> sys_rt_sigqueueinfo(Kernel& kernel, Task& task, const SyscallArgs& args) {
  const sig::SigInfo info = FUTEXBOX_TRY(task.memory().read<sig::SigInfo>(args.addr(2)));
  FUTEXBOX_TRY(kernel.signals().queue_info(task, args.i32(0), args.i32(1), info));
  return 0;
}

ErrorOr<std::int64_t> sys_rt_tgsigqueueinfo(Kernel& kernel, Task& task, const SyscallArgs& args) {
  const sig::SigInfo info = FUTEXBOX_TRY(task.memory().read<sig::SigInfo>(args.addr(3)));
  if (args.i32(0) <= 0 || args.i32(1) <= 0) return Errno::kEINVAL;
  FUTEXBOX_TRY(
      kernel.signals().tg_queue_info(task, args.i32(0), args.i32(1), args.i32(2), info));
  return 0;
}

ErrorOr<std::int64_t> sys_rt_sigtimedwait(Kernel& kernel, Task& task, const SyscallArgs& args) {
  if (args.u64(3) != kSigSetSize) return Errno::kEINVAL;
  const sig::SigSet set = FUTEXBOX_TRY(task.memory().read<sig::SigSet>(args.addr(0)));
  sync::Deadline deadline = sync::Deadline::never();
  bool poll_only = false;
  if (args.addr(2) != 0) {
    const std::int64_t ns = FUTEXBOX_TRY(read_relative_timeout_ns(task, args.addr(2)));
    poll_only = ns == 0;
    deadline = sync::Deadline::after(std::chrono::nanoseconds(ns));
  }
  sig::SigInfo info;
  const int signo = FUTEXBOX_TRY(kernel.signals().timed_wait(task, set, info, deadline, poll_only));
  if (args.addr(1) != 0) FUTEXBOX_TRY(task.memory().copy_out(args.addr(1), &info, sizeof(info)));
  return signo;
}

ErrorOr<std::int64_t> sys_rt_sigsuspend(Kernel& kernel, Task& task, const SyscallArgs& args) {
  if (args.u64(1) != kSigSetSize) return Errno::kEINVAL;
  const sig::SigSet mask = FUTEXBOX_TRY(task.memory().read<sig::SigSet>(args.addr(0)));
  return kernel.signals().suspend(task, mask);
}

ErrorOr<std::int64_t> sys_sigaltstack(Kernel& kernel, Task& task, const SyscallArgs& args) {
  sig::StackT ss;
  if (args.addr(0) != 0) ss = FUTEXBOX_TRY(task.memory().read<sig::StackT>(args.addr(0)));
  sig::StackT old;
  FUTEXBOX_TRY(kernel.signals().alternate_stack(task, args.addr(0) != 0 ? &ss : nullptr,
                                                args.addr(1) != 0 ? &old : nullptr));
  if (args.addr(1) != 0) FUTEXBOX_TRY(task.memory().copy_out(args.addr(1), &old, sizeof(old)));
  return 0;
}

}  // namespace futexbox::syscalls
