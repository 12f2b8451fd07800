#include "tools/trace/views/strace_format.h"

#include <fmt/format.h>
#include <string.h>

#include "abi/errno.h"
#include "abi/futex.h"
#include "syscalls/futex_op_name.h"

namespace futexbox::tools {
namespace {


using Out = fmt::memory_buffer;

void pointer(Out& out, std::uint64_t p) {
  if (p == 0) {
    fmt::format_to(std::back_inserter(out), "NULL");
  } else {
    fmt::format_to(std::back_inserter(out), "{:#x}", p);
  }
}

void timeout(Out& out, const StraceFutexCall& c) {
  if (c.args[3] == 0 || !c.timeout_readable) return pointer(out, c.args[3]);
  fmt::format_to(std::back_inserter(out), "{{tv_sec={}, tv_nsec={}}}", c.timeout_sec, c.timeout_nsec);
}

void u32(Out& out, std::uint64_t v) {
  fmt::format_to(std::back_inserter(out), "{}", static_cast<std::uint32_t>(v));
}

// %#x as C prints it: "0" for zero, "0x..." otherwise.
void hex(Out& out, std::uint32_t v) {
  if (v == 0) {
    out.push_back('0');
  } else {
    fmt::format_to(std::back_inserter(out), "{:#x}", v);
  }
}

void bitset(Out& out, std::uint64_t v) {
  const auto b = static_cast<std::uint32_t>(v);
  if (b == 0xffffffffu) {
    fmt::format_to(std::back_inserter(out), "FUTEX_BITSET_MATCH_ANY");
  } else {
    hex(out, b);
  }
}

// FUTEX_OP_OPARG_SHIFT<<28|FUTEX_OP_SET<<28|0x3<<12|FUTEX_OP_CMP_NE<<24|0x1
void wake_op(Out& out, std::uint64_t v) {
  static constexpr const char* kOps[] = {"FUTEX_OP_SET", "FUTEX_OP_ADD", "FUTEX_OP_OR",
                                         "FUTEX_OP_ANDN", "FUTEX_OP_XOR"};
  static constexpr const char* kCmps[] = {"FUTEX_OP_CMP_EQ", "FUTEX_OP_CMP_NE", "FUTEX_OP_CMP_LT",
                                          "FUTEX_OP_CMP_LE", "FUTEX_OP_CMP_GT", "FUTEX_OP_CMP_GE"};
  const auto e = static_cast<std::uint32_t>(v);
  const std::uint32_t op = (e >> 28) & 7;
  const std::uint32_t cmp = (e >> 24) & 15;
  auto to = std::back_inserter(out);
  if ((e >> 28) & 8) fmt::format_to(to, "FUTEX_OP_OPARG_SHIFT<<28|");
  if (op < 5) {
    fmt::format_to(to, "{}<<28", kOps[op]);
  } else {
    fmt::format_to(to, "{:#x}<<28 /* FUTEX_OP_??? */", op);
  }
  out.push_back('|');
  hex(out, (e >> 12) & 0xfff);
  fmt::format_to(to, "<<12|");
  if (cmp < 6) {
    fmt::format_to(to, "{}<<24", kCmps[cmp]);
  } else {
    fmt::format_to(to, "{:#x}<<24 /* FUTEX_OP_CMP_??? */", cmp);
  }
  out.push_back('|');
  hex(out, e & 0xfff);
}

}  // namespace

void append_futex_call(fmt::memory_buffer& out, const StraceFutexCall& c) {
  const auto op = static_cast<int>(c.args[1]);
  auto to = std::back_inserter(out);
  fmt::format_to(to, "futex(");
  pointer(out, c.args[0]);
  fmt::format_to(to, ", {}", syscalls::futex_op_name(op));
  auto sep = [&] { fmt::format_to(to, ", "); };
  auto val = [&] { sep(); u32(out, c.args[2]); };
  switch (op & abi::futex::kCmdMask) {
    case abi::futex::kWait:
      val(), sep(), timeout(out, c);
      break;
    case abi::futex::kWake:
    case abi::futex::kFd:
      val();
      break;
    case abi::futex::kLockPi:
    case abi::futex::kLockPi2:
      sep(), timeout(out, c);
      break;
    case abi::futex::kUnlockPi:
    case abi::futex::kTrylockPi:
      break;
    case abi::futex::kWaitBitset:
      val(), sep(), timeout(out, c), sep(), bitset(out, c.args[5]);
      break;
    case abi::futex::kWakeBitset:
      val(), sep(), bitset(out, c.args[5]);
      break;
    case abi::futex::kRequeue:
      val(), sep(), u32(out, c.args[3]), sep(), pointer(out, c.args[4]);
      break;
    case abi::futex::kCmpRequeue:
    case abi::futex::kCmpRequeuePi:
      val(), sep(), u32(out, c.args[3]), sep(), pointer(out, c.args[4]), sep(), u32(out, c.args[5]);
      break;
    case abi::futex::kWakeOp:
      val(), sep(), u32(out, c.args[3]), sep(), pointer(out, c.args[4]), sep(), wake_op(out, c.args[5]);
      break;
    case abi::futex::kWaitRequeuePi:
      val(), sep(), timeout(out, c), sep(), pointer(out, c.args[4]);
      break;
    default:
      val(), sep(), pointer(out, c.args[3]), sep(), pointer(out, c.args[4]), sep(), u32(out, c.args[5]);
      break;
  }
  out.push_back(')');
}

namespace {

// futex_waitv's clock argument, as strace's clocknames table has it.
void clock_name(Out& out, std::uint32_t clock) {
  static constexpr const char* kNames[] = {
      "CLOCK_REALTIME",        "CLOCK_MONOTONIC",        "CLOCK_PROCESS_CPUTIME_ID",
      "CLOCK_THREAD_CPUTIME_ID", "CLOCK_MONOTONIC_RAW",  "CLOCK_REALTIME_COARSE",
      "CLOCK_MONOTONIC_COARSE", "CLOCK_BOOTTIME",        "CLOCK_REALTIME_ALARM",
      "CLOCK_BOOTTIME_ALARM",  "CLOCK_SGI_CYCLE",        "CLOCK_TAI"};
  if (clock < std::size(kNames)) {
    fmt::format_to(std::back_inserter(out), "{}", kNames[clock]);
  } else {
    fmt::format_to(std::back_inserter(out), "{:#x} /* CLOCK_??? */", clock);
  }
}

// A waiter's flags as strace's futex_waiter_flags: FUTEX_32 and FUTEX_PRIVATE_FLAG as bits, the
// rest in hex, 0 as "0".
void waiter_flags(Out& out, std::uint32_t flags) {
  if (flags == 0) {
    out.push_back('0');
    return;
  }
  bool first = true;
  auto name = [&](std::uint32_t bit, const char* text) {
    if ((flags & bit) == 0) return;
    if (!first) out.push_back('|');
    fmt::format_to(std::back_inserter(out), "{}", text);
    flags &= ~bit;
    first = false;
  };
  name(abi::futex::kFutex2SizeU32, "FUTEX_32");
  name(abi::futex::kFutex2Private, "FUTEX_PRIVATE_FLAG");
  if (flags != 0) {
    if (!first) out.push_back('|');
    fmt::format_to(std::back_inserter(out), "{:#x}", flags);
  }
}

}  // namespace

void append_futex_waitv_call(fmt::memory_buffer& out, const StraceWaitvCall& c) {
  auto to = std::back_inserter(out);
  fmt::format_to(to, "futex_waitv(");
  const auto n = static_cast<std::uint32_t>(c.args[1]);
  if (c.args[0] == 0) {
    fmt::format_to(to, "NULL");
  } else if (n == 0) {
    fmt::format_to(to, "[]");
  } else if (!c.waiters_readable) {
    pointer(out, c.args[0]);
  } else {
    out.push_back('[');
    for (std::size_t i = 0; i < c.waiters.size(); ++i) {
      const abi::futex::Waitv& w = c.waiters[i];
      if (i != 0) fmt::format_to(to, ", ");
      fmt::format_to(to, "{{val=");
      if (w.val == 0) {
        out.push_back('0');
      } else {
        fmt::format_to(to, "{:#x}", w.val);
      }
      fmt::format_to(to, ", uaddr=");
      pointer(out, w.uaddr);
      fmt::format_to(to, ", flags=");
      waiter_flags(out, w.flags);
      out.push_back('}');
    }
    if (n > c.waiters.size()) fmt::format_to(to, ", ...");
    out.push_back(']');
  }
  fmt::format_to(to, ", {}, ", n);
  hex(out, static_cast<std::uint32_t>(c.args[2]));
  fmt::format_to(to, ", ");
  if (c.args[3] == 0 || !c.timeout_readable) {
    pointer(out, c.args[3]);
  } else {
    fmt::format_to(to, "{{tv_sec={}, tv_nsec={}}}", c.timeout_sec, c.timeout_nsec);
  }
  fmt::format_to(to, ", ");
  clock_name(out, static_cast<std::uint32_t>(c.args[4]));
  out.push_back(')');
}

void append_result(fmt::memory_buffer& out, std::int64_t r) {
  auto to = std::back_inserter(out);
  if (r >= 0) {
    fmt::format_to(to, " = {}", r);
    return;
  }
  const auto e = static_cast<int>(-r);
  if (abi::is_restart_code(r)) {  // strace: "= ? ERESTARTSYS (To be restarted if SA_RESTART is set)"
    const auto code = static_cast<abi::Errno>(e);
    fmt::format_to(to, " = ? {} ({})", abi::errno_name(code), abi::errno_description(code));
    return;
  }
  const char* name = strerrorname_np(e);
  if (name != nullptr) {
    fmt::format_to(to, " = -1 {} ({})", name, strerror(e));
  } else {
    fmt::format_to(to, " = -1 {} ({})", e, strerror(e));
  }
}

std::string strace_futex_call(const StraceFutexCall& c) {
  fmt::memory_buffer out;
  append_futex_call(out, c);
  return fmt::to_string(out);
}

std::string strace_result(std::int64_t r) {
  fmt::memory_buffer out;
  append_result(out, r);
  return fmt::to_string(out);
}

std::string strace_futex_line(const StraceFutexCall& c) {
  std::string line = strace_futex_call(c);
  constexpr std::size_t kColumn = 39;  // strace -a 40: " = " starts in column 40
  if (line.size() < kColumn) line.append(kColumn - line.size(), ' ');
  return line + strace_result(c.result);
}

}  // namespace futexbox::tools
