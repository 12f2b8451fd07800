#include "tools/strace_format.h"

#include <fmt/format.h>
#include <string.h>

#include "syscalls/futex_abi.h"
#include "syscalls/futex_op_name.h"

namespace futexbox::tools {
namespace {

namespace abi = syscalls::futex_abi;

std::string pointer(std::uint64_t p) { return p == 0 ? "NULL" : fmt::format("{:#x}", p); }

std::string timeout(const StraceFutexCall& c) {
  if (c.args[3] == 0) return "NULL";
  if (!c.timeout_readable) return pointer(c.args[3]);
  return fmt::format("{{tv_sec={}, tv_nsec={}}}", c.timeout_sec, c.timeout_nsec);
}

std::string u32(std::uint64_t v) { return fmt::format("{}", static_cast<std::uint32_t>(v)); }

// %#x as C prints it: "0" for zero, "0x..." otherwise.
std::string hex(std::uint32_t v) { return v == 0 ? "0" : fmt::format("{:#x}", v); }

std::string bitset(std::uint64_t v) {
  const auto b = static_cast<std::uint32_t>(v);
  return b == 0xffffffffu ? "FUTEX_BITSET_MATCH_ANY" : hex(b);
}

// FUTEX_OP_OPARG_SHIFT<<28|FUTEX_OP_SET<<28|0x3<<12|FUTEX_OP_CMP_NE<<24|0x1
std::string wake_op(std::uint64_t v) {
  static constexpr const char* kOps[] = {"FUTEX_OP_SET", "FUTEX_OP_ADD", "FUTEX_OP_OR",
                                         "FUTEX_OP_ANDN", "FUTEX_OP_XOR"};
  static constexpr const char* kCmps[] = {"FUTEX_OP_CMP_EQ", "FUTEX_OP_CMP_NE", "FUTEX_OP_CMP_LT",
                                          "FUTEX_OP_CMP_LE", "FUTEX_OP_CMP_GT", "FUTEX_OP_CMP_GE"};
  const auto e = static_cast<std::uint32_t>(v);
  const std::uint32_t op = (e >> 28) & 7;
  const std::uint32_t cmp = (e >> 24) & 15;
  std::string s = (e >> 28) & 8 ? "FUTEX_OP_OPARG_SHIFT<<28|" : "";
  s += op < 5 ? fmt::format("{}<<28", kOps[op]) : fmt::format("{:#x}<<28 /* FUTEX_OP_??? */", op);
  s += fmt::format("|{}<<12|", hex((e >> 12) & 0xfff));
  s += cmp < 6 ? fmt::format("{}<<24", kCmps[cmp])
               : fmt::format("{:#x}<<24 /* FUTEX_OP_CMP_??? */", cmp);
  s += "|" + hex(e & 0xfff);
  return s;
}

}  // namespace

std::string strace_futex_call(const StraceFutexCall& c) {
  const auto op = static_cast<int>(c.args[1]);
  std::string s = "futex(" + pointer(c.args[0]) + ", " + syscalls::futex_op_name(op);
  const std::string val = u32(c.args[2]);
  switch (op & abi::kCmdMask) {
    case abi::kWait:
      s += ", " + val + ", " + timeout(c);
      break;
    case abi::kWake:
    case abi::kFd:
      s += ", " + val;
      break;
    case abi::kLockPi:
    case abi::kLockPi2:
      s += ", " + timeout(c);
      break;
    case abi::kUnlockPi:
    case abi::kTrylockPi:
      break;
    case abi::kWaitBitset:
      s += ", " + val + ", " + timeout(c) + ", " + bitset(c.args[5]);
      break;
    case abi::kWakeBitset:
      s += ", " + val + ", " + bitset(c.args[5]);
      break;
    case abi::kRequeue:
      s += ", " + val + ", " + u32(c.args[3]) + ", " + pointer(c.args[4]);
      break;
    case abi::kCmpRequeue:
    case abi::kCmpRequeuePi:
      s += ", " + val + ", " + u32(c.args[3]) + ", " + pointer(c.args[4]) + ", " + u32(c.args[5]);
      break;
    case abi::kWakeOp:
      s += ", " + val + ", " + u32(c.args[3]) + ", " + pointer(c.args[4]) + ", " +
           wake_op(c.args[5]);
      break;
    case abi::kWaitRequeuePi:
      s += ", " + val + ", " + timeout(c) + ", " + pointer(c.args[4]);
      break;
    default:
      s += ", " + val + ", " + pointer(c.args[3]) + ", " + pointer(c.args[4]) + ", " +
           u32(c.args[5]);
      break;
  }
  return s + ")";
}

std::string strace_result(std::int64_t r) {
  if (r >= 0) return fmt::format(" = {}", r);
  const auto e = static_cast<int>(-r);
  switch (e) {
    case 512: return " = ? ERESTARTSYS (To be restarted if SA_RESTART is set)";
    case 513: return " = ? ERESTARTNOINTR (To be restarted)";
    case 514: return " = ? ERESTARTNOHAND (To be restarted if no handler)";
    case 516: return " = ? ERESTART_RESTARTBLOCK (Interrupted by signal)";
    default: break;
  }
  const char* name = strerrorname_np(e);
  return fmt::format(" = -1 {} ({})", name != nullptr ? name : fmt::format("{}", e), strerror(e));
}

std::string strace_futex_line(const StraceFutexCall& c) {
  std::string line = strace_futex_call(c);
  constexpr std::size_t kColumn = 39;  // strace -a 40: " = " starts in column 40
  if (line.size() < kColumn) line.append(kColumn - line.size(), ' ');
  return line + strace_result(c.result);
}

}  // namespace futexbox::tools
