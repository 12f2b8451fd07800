// The futex family's handlers: futex(2), futex_waitv(2), futex_wake(2), futex_wait(2) and
// futex_requeue(2), decoded and validated in Linux's order (kernel/futex/syscalls.c), then served
// by a kernel::FutexTable. Nothing here needs kernel::Kernel (sys_futex.cc instantiates these for
// the syscall table; futex_dispatch.cc for a FutexTable alone), so an embedder of the futex
// family alone links only the futex table.
#pragma once

#include <time.h>

#include <array>
#include <chrono>
#include <limits>
#include <optional>
#include <span>

#include "abi/futex.h"
#include "abi/syscall_numbers.h"
#include "abi/time.h"
#include "syscalls/futex_dispatch.h"

namespace futexbox::syscalls {
namespace futex_detail {

using kernel::Errno;
using kernel::ErrorOr;
using kernel::GuestAddr;
using kernel::Task;

inline bool timespec_valid(const abi::Timespec& ts) noexcept {
  return ts.tv_sec >= 0 && static_cast<std::uint64_t>(ts.tv_nsec) < 1'000'000'000ull;
}

inline sync::Deadline absolute(sync::ClockKind clock, const abi::Timespec& ts) noexcept {
  timespec t;
  t.tv_sec = static_cast<time_t>(ts.tv_sec);
  t.tv_nsec = static_cast<long>(ts.tv_nsec);
  return sync::Deadline::at(clock, t);
}

// futex_init_timeout: FUTEX_WAIT's timeout is relative (made absolute on CLOCK_MONOTONIC now),
// LOCK_PI's absolute on CLOCK_REALTIME, everything else absolute on the flag's clock.
inline ErrorOr<sync::Deadline> decode_futex_timeout(Task& task, GuestAddr utime, int cmd,
                                             bool clock_realtime) noexcept {
  const abi::Timespec ts = FUTEXBOX_TRY(task.memory().read<abi::Timespec>(utime));
  if (!timespec_valid(ts)) return Errno::kEINVAL;
  if (cmd == abi::futex::kWait) {
    const std::int64_t ns = ts.tv_sec > std::numeric_limits<std::int64_t>::max() / 1'000'000'000
                                ? std::numeric_limits<std::int64_t>::max()
                                : ts.tv_sec * 1'000'000'000 + ts.tv_nsec;
    return sync::Deadline::after(std::chrono::nanoseconds(ns));
  }
  if (cmd == abi::futex::kLockPi) return absolute(sync::ClockKind::kRealtime, ts);
  return absolute(clock_realtime ? sync::ClockKind::kRealtime : sync::ClockKind::kMonotonic, ts);
}

// futex2_setup_timeout: clockid must be MONOTONIC or REALTIME; the timeout is absolute.
inline ErrorOr<sync::Deadline> decode_futex2_timeout(Task& task, GuestAddr timeout,
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
inline ErrorOr<bool> decode_futex2_flags(std::uint64_t flags) noexcept {
  if ((flags & ~static_cast<std::uint64_t>(abi::futex::kFutex2ValidMask)) != 0) return Errno::kEINVAL;
  if ((flags & abi::futex::kFutex2SizeMask) != abi::futex::kFutex2SizeU32) return Errno::kEINVAL;
  if ((flags & (abi::futex::kFutex2Numa | abi::futex::kFutex2Mpol)) != 0) return Errno::kEINVAL;
  return (flags & abi::futex::kFutex2Private) == 0;  // shared?
}

inline bool fits_u32(std::uint64_t v) noexcept { return v <= std::numeric_limits<std::uint32_t>::max(); }

// futex_parse_waitv for `count` entries at `uwaitv`, or of `copy` when the caller already read
// them (Linux too reads the array once: a guest changing it meanwhile changes nothing).
inline ErrorOr<void> parse_waitv(Task& task, GuestAddr uwaitv, std::size_t count,
                                 kernel::FutexWaitvEntry* out,
                                 std::span<const abi::futex::Waitv> copy) noexcept {
  const bool copied = copy.size() >= count;
  for (std::size_t i = 0; i < count; ++i) {
    const abi::futex::Waitv w =
        copied ? copy[i]
               : FUTEXBOX_TRY(task.memory().read<abi::futex::Waitv>(uwaitv + i * sizeof(abi::futex::Waitv)));
    if ((w.flags & ~abi::futex::kFutex2ValidMask) != 0 || w.reserved != 0) return Errno::kEINVAL;
    const bool shared = FUTEXBOX_TRY(decode_futex2_flags(w.flags));
    if (!fits_u32(w.val)) return Errno::kEINVAL;
    out[i] = kernel::FutexWaitvEntry{w.uaddr, static_cast<std::uint32_t>(w.val), shared};
  }
  return {};
}

// An interrupted wait with a timeout leaves a restart block holding the absolute deadline
// (futex_wait_restart); restart_syscall(2) resumes it.
inline ErrorOr<std::int64_t> wait_with_restart(Task& task, kernel::FutexTable& futexes, GuestAddr uaddr,
                                        bool shared, std::uint32_t val, std::uint32_t bitset,
                                        const sync::Deadline& deadline) {
  const ErrorOr<std::int64_t> r = futexes.wait(task, uaddr, shared, val, bitset, deadline);
  if (!r && r.error() == Errno::kERESTARTSYS && !deadline.is_never()) {
    task.futex_restart = kernel::FutexRestartBlock{true, uaddr, val, bitset, shared, deadline};
    task.poll_restart.armed = false;  // one restart block per task, as Linux's
    return Errno::kERESTART_RESTARTBLOCK;
  }
  return r;
}

}  // namespace futex_detail

// The handlers, templates over the server: anything with `kernel::FutexTable& futexes()` and
// `bool task_exists(pid_t)` (FUTEX_LOCK_PI's owner check): kernel::Kernel for the syscall table
// (sys_futex.cc), FutexServer for dispatch_futex. Each entry point so compiles them for its own
// server, with nothing built for the owner check on the ops that never use it: a FUTEX_WAKE of
// nobody is about 10 ns, and a wrapper layer building a server object cost it about 10% (11
// instructions, SysWakeNoWaiters in docs/performance.md).
template <class Server>
kernel::ErrorOr<std::int64_t> futex(Server& server, kernel::Task& task, const SyscallArgs& args) {
  const kernel::GuestAddr uaddr = args.addr(0);
  const int op = args.i32(1);
  const std::uint32_t val = args.u32(2);
  const kernel::GuestAddr utime = args.addr(3);
  const kernel::GuestAddr uaddr2 = args.addr(4);
  const std::uint32_t val3 = args.u32(5);
  const int cmd = op & abi::futex::kCmdMask;
  const bool shared = (op & abi::futex::kPrivateFlag) == 0;
  const bool clock_realtime = (op & abi::futex::kClockRealtime) != 0;

  // The timespec is read (EFAULT) and checked (EINVAL) before the op itself is looked at.
  sync::Deadline deadline;
  if (utime != 0 && abi::futex::cmd_has_timeout(cmd)) {
    deadline = FUTEXBOX_TRY(futex_detail::decode_futex_timeout(task, utime, cmd, clock_realtime));
  }
  if (clock_realtime && cmd != abi::futex::kWaitBitset && cmd != abi::futex::kWaitRequeuePi &&
      cmd != abi::futex::kLockPi2) {
    return kernel::Errno::kENOSYS;
  }
  kernel::FutexTable& futexes = server.futexes();
  // For ops without a timeout the fourth argument is the integer val2.
  const auto val2 = static_cast<std::uint32_t>(utime);
  switch (cmd) {
    case abi::futex::kWait:
      return futex_detail::wait_with_restart(task, futexes, uaddr, shared, val, abi::futex::kBitsetMatchAny,
                               deadline);
    case abi::futex::kWaitBitset:
      return futex_detail::wait_with_restart(task, futexes, uaddr, shared, val, val3, deadline);
    case abi::futex::kWake:
      return futexes.wake(task, uaddr, shared, static_cast<int>(val), abi::futex::kBitsetMatchAny);
    case abi::futex::kWakeBitset:
      return futexes.wake(task, uaddr, shared, static_cast<int>(val), val3);
    case abi::futex::kRequeue:
      return futexes.requeue(task, uaddr, shared, uaddr2, shared, static_cast<int>(val),
                             static_cast<int>(val2), nullptr);
    case abi::futex::kCmpRequeue:
      return futexes.requeue(task, uaddr, shared, uaddr2, shared, static_cast<int>(val),
                             static_cast<int>(val2), &val3);
    case abi::futex::kWakeOp:
      return futexes.wake_op(task, uaddr, uaddr2, shared, static_cast<int>(val),
                             static_cast<int>(val2), val3);
    case abi::futex::kLockPi:
    case abi::futex::kLockPi2:
    case abi::futex::kTrylockPi:
      return futexes.lock_pi(task, uaddr, shared, deadline, cmd == abi::futex::kTrylockPi,
                             [&server](pid_t tid) { return server.task_exists(tid); });
    case abi::futex::kUnlockPi:
      return futexes.unlock_pi(task, uaddr, shared);
    case abi::futex::kWaitRequeuePi:
      return futexes.wait_requeue_pi(task, uaddr, shared, val, deadline, uaddr2);
    case abi::futex::kCmpRequeuePi:
      return futexes.cmp_requeue_pi(task, uaddr, shared, uaddr2, static_cast<int>(val),
                                    static_cast<int>(val2), val3,
                                    [&server](pid_t tid) { return server.task_exists(tid); });
    default:
      // FUTEX_FD (removed in 2.6.26) and unknown commands.
      return kernel::Errno::kENOSYS;
  }
}

template <class Server>
kernel::ErrorOr<std::int64_t> futex_waitv(Server& server, kernel::Task& task, const SyscallArgs& args,
                                          std::span<const abi::futex::Waitv> read = {}) {
  const kernel::GuestAddr waiters = args.addr(0);
  const std::uint32_t nr = args.u32(1);
  const std::uint32_t flags = args.u32(2);
  const kernel::GuestAddr timeout = args.addr(3);
  const std::int32_t clockid = args.i32(4);
  if (flags != 0) return kernel::Errno::kEINVAL;
  if (nr == 0 || nr > abi::futex::kWaitvMax || waiters == 0) return kernel::Errno::kEINVAL;
  const sync::Deadline deadline = FUTEXBOX_TRY(futex_detail::decode_futex2_timeout(task, timeout, clockid));
  std::array<kernel::FutexWaitvEntry, abi::futex::kWaitvMax> entries;
  FUTEXBOX_TRY(futex_detail::parse_waitv(task, waiters, nr, entries.data(), read));
  return server.futexes().waitv(task, std::span(entries.data(), nr), deadline);
}

template <class Server>
kernel::ErrorOr<std::int64_t> futex_wake(Server& server, kernel::Task& task, const SyscallArgs& args) {
  const kernel::GuestAddr uaddr = args.addr(0);
  const std::uint64_t mask = args.u64(1);
  const int nr = args.i32(2);
  const bool shared = FUTEXBOX_TRY(futex_detail::decode_futex2_flags(args.u32(3)));
  if (!futex_detail::fits_u32(mask)) return kernel::Errno::kEINVAL;
  return server.futexes().wake(task, uaddr, shared, nr, static_cast<std::uint32_t>(mask),
                               /*strict=*/true);
}

template <class Server>
kernel::ErrorOr<std::int64_t> futex_wait(Server& server, kernel::Task& task, const SyscallArgs& args) {
  const kernel::GuestAddr uaddr = args.addr(0);
  const std::uint64_t val = args.u64(1);
  const std::uint64_t mask = args.u64(2);
  const bool shared = FUTEXBOX_TRY(futex_detail::decode_futex2_flags(args.u32(3)));
  if (!futex_detail::fits_u32(val) || !futex_detail::fits_u32(mask)) return kernel::Errno::kEINVAL;
  const sync::Deadline deadline =
      FUTEXBOX_TRY(futex_detail::decode_futex2_timeout(task, args.addr(4), args.i32(5)));
  // futex_wait(2) calls __futex_wait directly: an interruption is ERESTARTSYS, no restart block.
  return server.futexes().wait(task, uaddr, shared, static_cast<std::uint32_t>(val),
                               static_cast<std::uint32_t>(mask), deadline);
}

template <class Server>
kernel::ErrorOr<std::int64_t> futex_requeue(Server& server, kernel::Task& task, const SyscallArgs& args,
                                            std::span<const abi::futex::Waitv> read = {}) {
  const kernel::GuestAddr waiters = args.addr(0);
  const std::uint32_t flags = args.u32(1);
  const int nr_wake = args.i32(2);
  const int nr_requeue = args.i32(3);
  if (flags != 0 || waiters == 0) return kernel::Errno::kEINVAL;
  std::array<kernel::FutexWaitvEntry, 2> w;
  FUTEXBOX_TRY(futex_detail::parse_waitv(task, waiters, 2, w.data(), read));
  // "For now mandate both flags are identical, like the sys_futex() interface has" (Linux): the
  // only flag left to differ after parsing is FUTEX2_PRIVATE.
  if (w[0].shared != w[1].shared) return kernel::Errno::kEINVAL;
  return server.futexes().requeue(task, w[0].uaddr, w[0].shared, w[1].uaddr, w[1].shared, nr_wake,
                                  nr_requeue, &w[0].val);
}

}  // namespace futexbox::syscalls
