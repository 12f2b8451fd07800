// Futex calls printed exactly as strace prints them (checked against the host's strace by
// tests/tools/strace_format_test.cc): the first piece of `futexbox trace --format=strace`.
//
//   futex(0x10000000, FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME, 3, NULL,
//         FUTEX_BITSET_MATCH_ANY) = -1 EAGAIN (Resource temporarily unavailable)
//
// Which arguments appear depends on the command (op & FUTEX_CMD_MASK), as in strace's futex.c;
// the op is named only for the combinations strace's table knows, and printed raw otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "abi/futex.h"

namespace futexbox::tools {

// One futex(2) call as a tracer saw it: the six argument registers, the timespec the timeout
// argument pointed at when the call began (strace reads it at entry), and the result.
struct StraceFutexCall {
  std::uint64_t args[6] = {};
  bool timeout_readable = false;  // args[3] pointed at a readable timespec
  std::int64_t timeout_sec = 0;
  std::int64_t timeout_nsec = 0;
  std::int64_t result = 0;  // the syscall's return: a value or -errno (restart codes included)
};

// One futex_waitv(2) call: its five arguments, the timeout and the waiters as read at entry
// (strace shows the first 32 waiters, then "...").
struct StraceWaitvCall {
  std::uint64_t args[5] = {};
  bool timeout_readable = false;
  std::int64_t timeout_sec = 0;
  std::int64_t timeout_nsec = 0;
  bool waiters_readable = false;
  std::vector<abi::futex::Waitv> waiters;  // the first min(n, 32)
};
// "futex_waitv([{val=0x7, uaddr=0x..., flags=FUTEX_32|FUTEX_PRIVATE_FLAG}], 1, 0, NULL,
// CLOCK_MONOTONIC)"
void append_futex_waitv_call(fmt::memory_buffer& out, const StraceWaitvCall& call);

// The same, appended to a buffer (the trace's strace view formats a line per call this way).
void append_futex_call(fmt::memory_buffer& out, const StraceFutexCall& call);
void append_result(fmt::memory_buffer& out, std::int64_t result);

// "futex(...)": the call without its result.
std::string strace_futex_call(const StraceFutexCall& call);
// " = 0", " = -1 EAGAIN (Resource temporarily unavailable)", " = ? ERESTARTSYS (...)".
std::string strace_result(std::int64_t result);
// The whole line, padded before " = " to strace's default alignment column (-a 40).
std::string strace_futex_line(const StraceFutexCall& call);

}  // namespace futexbox::tools
