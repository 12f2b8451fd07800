// futex(2), futex_waitv(2), futex_wake(2), futex_wait(2), futex_requeue(2): decoding and
// validation in Linux's order (kernel/futex/syscalls.c), then kernel::FutexTable.
#include <time.h>

#include <array>
#include <chrono>
#include <limits>
#include <optional>

#include "syscalls/futex_abi.h"
#include "syscalls/handlers.h"

namespace futexbox::syscalls {
namespace {

using kernel::Errno;
using kernel::GuestAddr;
namespace abi = futex_abi;

bool timespec_valid(const abi::Timespec& ts) noexcept {
  return ts.tv_sec >= 0 && static_cast<std::uint64_t>(ts.tv_nsec) < 1'000'000'000ull;
}

sync::Deadline absolute(sync::ClockKind clock, const abi::Timespec& ts) noexcept {
  timespec t;
  t.tv_sec = static_cast<time_t>(ts.tv_sec);
  t.tv_nsec = static_cast<long>(ts.tv_nsec);
  return sync::Deadline::at(clock, t);
}

bool cmd_has_timeout(int cmd) noexcept {
  return cmd == abi::kWait || cmd == abi::kLockPi || cmd == abi::kLockPi2 ||
         cmd == abi::kWaitBitset || cmd == abi::kWaitRequeuePi;
}

// futex_init_timeout: FUTEX_WAIT's timeout is relative (made absolute on CLOCK_MONOTONIC now),
// LOCK_PI's absolute on CLOCK_REALTIME, everything else absolute on the flag's clock.
ErrorOr<sync::Deadline> decode_futex_timeout(Task& task, GuestAddr utime, int cmd,
                                             bool clock_realtime) noexcept {
  const abi::Timespec ts = FUTEXBOX_TRY(task.memory().read<abi::Timespec>(utime));
  if (!timespec_valid(ts)) return Errno::kEINVAL;
  if (cmd == abi::kWait) {
    const std::int64_t ns = ts.tv_sec > std::numeric_limits<std::int64_t>::max() / 1'000'000'000
                                ? std::numeric_limits<std::int64_t>::max()
                                : ts.tv_sec * 1'000'000'000 + ts.tv_nsec;
    return sync::Deadline::after(std::chrono::nanoseconds(ns));
  }
  if (cmd == abi::kLockPi) return absolute(sync::ClockKind::kRealtime, ts);
  return absolute(clock_realtime ? sync::ClockKind::kRealtime : sync::ClockKind::kMonotonic, ts);
}

// futex2_setup_timeout: clockid must be MONOTONIC or REALTIME; the timeout is absolute.
ErrorOr<sync::Deadline> decode_futex2_timeout(Task& task, GuestAddr timeout,
                                              std::int32_t clockid) noexcept {
  if (timeout == 0) return sync::Deadline::never();
  if (clockid != CLOCK_REALTIME && clockid != CLOCK_MONOTONIC) return Errno::kEINVAL;
  const abi::Timespec ts = FUTEXBOX_TRY(task.memory().read<abi::Timespec>(timeout));
  if (!timespec_valid(ts)) return Errno::kEINVAL;
  return absolute(clockid == CLOCK_REALTIME ? sync::ClockKind::kRealtime
                                            : sync::ClockKind::kMonotonic,
                  ts);
}

// futex2 flags: only 32-bit futexes exist; NUMA and MPOL placement are not emulated (EINVAL).
ErrorOr<bool> decode_futex2_flags(std::uint64_t flags) noexcept {
  if ((flags & ~static_cast<std::uint64_t>(abi::kFutex2ValidMask)) != 0) return Errno::kEINVAL;
  if ((flags & abi::kFutex2SizeMask) != abi::kFutex2SizeU32) return Errno::kEINVAL;
  if ((flags & (abi::kFutex2Numa | abi::kFutex2Mpol)) != 0) return Errno::kEINVAL;
  return (flags & abi::kFutex2Private) == 0;  // shared?
}

bool fits_u32(std::uint64_t v) noexcept { return v <= std::numeric_limits<std::uint32_t>::max(); }

// futex_parse_waitv for `count` entries at `uwaitv`.
ErrorOr<void> parse_waitv(Task& task, GuestAddr uwaitv, std::size_t count,
                          kernel::FutexWaitvEntry* out) noexcept {
  for (std::size_t i = 0; i < count; ++i) {
    const abi::Waitv w =
        FUTEXBOX_TRY(task.memory().read<abi::Waitv>(uwaitv + i * sizeof(abi::Waitv)));
    if ((w.flags & ~abi::kFutex2ValidMask) != 0 || w.reserved != 0) return Errno::kEINVAL;
    const bool shared = FUTEXBOX_TRY(decode_futex2_flags(w.flags));
    if (!fits_u32(w.val)) return Errno::kEINVAL;
    out[i] = kernel::FutexWaitvEntry{w.uaddr, static_cast<std::uint32_t>(w.val), shared};
  }
  return {};
}

// An interrupted wait with a timeout leaves a restart block holding the absolute deadline
// (futex_wait_restart); restart_syscall(2) resumes it.
ErrorOr<std::int64_t> wait_with_restart(Task& task, Kernel& kernel, GuestAddr uaddr, bool shared,
                                        std::uint32_t val, std::uint32_t bitset,
                                        const sync::Deadline& deadline) {
  const ErrorOr<std::int64_t> r = kernel.futexes().wait(task, uaddr, shared, val, bitset, deadline);
  if (!r && r.error() == Errno::kERESTARTSYS && !deadline.is_never()) {
    task.futex_restart = kernel::FutexRestartBlock{true, uaddr, val, bitset, shared, deadline};
    task.poll_restart.armed = false;  // one restart block per task, as Linux's
    return Errno::kERESTART_RESTARTBLOCK;
  }
  return r;
}

}  // namespace

ErrorOr<std::int64_t> sys_futex(Kernel& kernel, Task& task, const SyscallArgs& args) {
  const GuestAddr uaddr = args.addr(0);
  const int op = args.i32(1);
  const std::uint32_t val = args.u32(2);
  const GuestAddr utime = args.addr(3);
  const GuestAddr uaddr2 = args.addr(4);
  const std::uint32_t val3 = args.u32(5);
  const int cmd = op & abi::kCmdMask;
  const bool shared = (op & abi::kPrivateFlag) == 0;
  const bool clock_realtime = (op & abi::kClockRealtime) != 0;

  // The timespec is read (EFAULT) and checked (EINVAL) before the op itself is looked at.
  sync::Deadline deadline;
  if (utime != 0 && cmd_has_timeout(cmd)) {
    deadline = FUTEXBOX_TRY(decode_futex_timeout(task, utime, cmd, clock_realtime));
  }
  if (clock_realtime && cmd != abi::kWaitBitset && cmd != abi::kWaitRequeuePi &&
      cmd != abi::kLockPi2) {
    return Errno::kENOSYS;
  }
  kernel::FutexTable& futexes = kernel.futexes();
  // For ops without a timeout the fourth argument is the integer val2.
  const auto val2 = static_cast<std::uint32_t>(utime);
  switch (cmd) {
    case abi::kWait:
      return wait_with_restart(task, kernel, uaddr, shared, val, kernel::kFutexBitsetMatchAny,
                               deadline);
    case abi::kWaitBitset:
      return wait_with_restart(task, kernel, uaddr, shared, val, val3, deadline);
    case abi::kWake:
      return futexes.wake(task, uaddr, shared, static_cast<int>(val), kernel::kFutexBitsetMatchAny);
    case abi::kWakeBitset:
      return futexes.wake(task, uaddr, shared, static_cast<int>(val), val3);
    case abi::kRequeue:
      return futexes.requeue(task, uaddr, shared, uaddr2, shared, static_cast<int>(val),
                             static_cast<int>(val2), nullptr);
    case abi::kCmpRequeue:
      return futexes.requeue(task, uaddr, shared, uaddr2, shared, static_cast<int>(val),
                             static_cast<int>(val2), &val3);
    case abi::kWakeOp:
      return futexes.wake_op(task, uaddr, uaddr2, shared, static_cast<int>(val),
                             static_cast<int>(val2), val3);
    case abi::kLockPi:
    case abi::kLockPi2:
    case abi::kTrylockPi:
      return futexes.lock_pi(task, uaddr, shared, deadline, cmd == abi::kTrylockPi,
                             [&](pid_t tid) { return kernel.task_exists(tid); });
    case abi::kUnlockPi:
      return futexes.unlock_pi(task, uaddr, shared);
    case abi::kWaitRequeuePi:
      return futexes.wait_requeue_pi(task, uaddr, shared, val, deadline, uaddr2);
    case abi::kCmpRequeuePi:
      return futexes.cmp_requeue_pi(task, uaddr, shared, uaddr2, static_cast<int>(val),
                                    static_cast<int>(val2), val3,
                                    [&](pid_t tid) { return kernel.task_exists(tid); });
    default:
      // FUTEX_FD (removed in 2.6.26) and unknown commands.
      return Errno::kENOSYS;
  }
}

ErrorOr<std::int64_t> sys_futex_waitv(Kernel& kernel, Task& task, const SyscallArgs& args) {
  const GuestAddr waiters = args.addr(0);
  const std::uint32_t nr = args.u32(1);
  const std::uint32_t flags = args.u32(2);
  const GuestAddr timeout = args.addr(3);
  const std::int32_t clockid = args.i32(4);
  if (flags != 0) return Errno::kEINVAL;
  if (nr == 0 || nr > abi::kWaitvMax || waiters == 0) return Errno::kEINVAL;
  const sync::Deadline deadline = FUTEXBOX_TRY(decode_futex2_timeout(task, timeout, clockid));
  std::array<kernel::FutexWaitvEntry, abi::kWaitvMax> entries;
  FUTEXBOX_TRY(parse_waitv(task, waiters, nr, entries.data()));
  return kernel.futexes().waitv(task, std::span(entries.data(), nr), deadline);
}

ErrorOr<std::int64_t> sys_futex_wake(Kernel& kernel, Task& task, const SyscallArgs& args) {
  const GuestAddr uaddr = args.addr(0);
  const std::uint64_t mask = args.u64(1);
  const int nr = args.i32(2);
  const bool shared = FUTEXBOX_TRY(decode_futex2_flags(args.u32(3)));
  if (!fits_u32(mask)) return Errno::kEINVAL;
  return kernel.futexes().wake(task, uaddr, shared, nr, static_cast<std::uint32_t>(mask),
                               /*strict=*/true);
}

ErrorOr<std::int64_t> sys_futex_wait(Kernel& kernel, Task& task, const SyscallArgs& args) {
  const GuestAddr uaddr = args.addr(0);
  const std::uint64_t val = args.u64(1);
  const std::uint64_t mask = args.u64(2);
  const bool shared = FUTEXBOX_TRY(decode_futex2_flags(args.u32(3)));
  if (!fits_u32(val) || !fits_u32(mask)) return Errno::kEINVAL;
  const sync::Deadline deadline =
      FUTEXBOX_TRY(decode_futex2_timeout(task, args.addr(4), args.i32(5)));
  // futex_wait(2) calls __futex_wait directly: an interruption is ERESTARTSYS, no restart block.
  return kernel.futexes().wait(task, uaddr, shared, static_cast<std::uint32_t>(val),
                               static_cast<std::uint32_t>(mask), deadline);
}

ErrorOr<std::int64_t> sys_futex_requeue(Kernel& kernel, Task& task, const SyscallArgs& args) {
  const GuestAddr waiters = args.addr(0);
  const std::uint32_t flags = args.u32(1);
  const int nr_wake = args.i32(2);
  const int nr_requeue = args.i32(3);
  if (flags != 0 || waiters == 0) return Errno::kEINVAL;
  std::array<kernel::FutexWaitvEntry, 2> w;
  FUTEXBOX_TRY(parse_waitv(task, waiters, 2, w.data()));
  // "For now mandate both flags are identical, like the sys_futex() interface has" (Linux): the
  // only flag left to differ after parsing is FUTEX2_PRIVATE.
  if (w[0].shared != w[1].shared) return Errno::kEINVAL;
  return kernel.futexes().requeue(task, w[0].uaddr, w[0].shared, w[1].uaddr, w[1].shared, nr_wake,
                                  nr_requeue, &w[0].val);
}

ErrorOr<std::int64_t> sys_restart_syscall(Kernel& kernel, Task& task, const SyscallArgs&) {
  if (task.poll_restart.armed) return restart_poll(kernel, task);
  kernel::FutexRestartBlock block = task.futex_restart;
  if (!block.armed) return Errno::kEINTR;  // do_no_restart_syscall
  task.futex_restart.armed = false;
  return wait_with_restart(task, kernel, block.uaddr, block.shared, block.val, block.bitset,
                           block.deadline);
}

}  // namespace futexbox::syscalls
