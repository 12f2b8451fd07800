#include "syscalls/futex_call.h"

#include "syscalls/futex_op_name.h"

namespace futexbox::syscalls {
namespace {

namespace futex = abi::futex;

// The low 32 bits of a register, as the kernel reads an int or u32 argument.
std::uint32_t u32(std::uint64_t reg) noexcept { return static_cast<std::uint32_t>(reg); }

FutexKeys keys_of_futex2_flags(std::uint64_t flags) noexcept {
  return (u32(flags) & futex::kFutex2Private) != 0 ? FutexKeys::kPrivate : FutexKeys::kShared;
}

void describe_futex(FutexCall& c, std::span<const std::uint64_t, 6> args) noexcept {
  c.op = static_cast<int>(u32(args[1]));
  c.cmd = c.op & futex::kCmdMask;
  c.keys = (c.op & futex::kPrivateFlag) != 0 ? FutexKeys::kPrivate : FutexKeys::kShared;
  c.word = args[0];
  const int cmd = c.cmd;
  if (cmd >= 0 && cmd < futex::kCommands) {
    c.stats_slot = static_cast<std::size_t>(cmd) * 4 + ((c.op & futex::kPrivateFlag) != 0 ? 2 : 0) +
                   ((c.op & futex::kClockRealtime) != 0 ? 1 : 0);
  }
  c.may_sleep = futex::cmd_has_timeout(cmd);
  c.sleeps_on_word = c.may_sleep;
  c.pi_lock = cmd == futex::kLockPi || cmd == futex::kLockPi2;
  if (c.may_sleep) c.timeout_arg = 3;
  c.wakes_plain = cmd == futex::kWake || cmd == futex::kWakeBitset || cmd == futex::kRequeue ||
                  cmd == futex::kCmpRequeue || cmd == futex::kWakeOp;
  c.wakes = c.wakes_plain || cmd == futex::kUnlockPi || cmd == futex::kCmpRequeuePi;
  if (cmd == futex::kWakeOp) c.word2 = args[4];
}

}  // namespace

FutexCall describe_futex_call(std::uint64_t nr, std::span<const std::uint64_t, 6> args) noexcept {
  FutexCall c;
  c.nr = static_cast<std::uint32_t>(nr);
  c.family = is_futex_family(nr);
  if (!c.family) return c;
  switch (c.nr) {
    case abi::kSysFutex:
      describe_futex(c, args);
      break;
    case abi::kSysFutexWaitv:  // (waiters, nr_futexes, flags, timeout, clockid)
      c.stats_slot = kWaitvSlot;
      c.keys = FutexKeys::kUnread;
      c.may_sleep = true;
      c.timeout_arg = 3;
      c.array = args[0];
      c.entries = u32(args[1]);
      c.flags = u32(args[2]);
      break;
    case abi::kSysFutexWake:  // (uaddr, mask, nr, flags)
      c.stats_slot = kFutexWakeSlot;
      c.keys = keys_of_futex2_flags(args[3]);
      c.word = args[0];
      c.wakes = c.wakes_plain = true;
      break;
    case abi::kSysFutexWait:  // (uaddr, val, mask, flags, timeout, clockid)
      c.stats_slot = kFutexWaitSlot;
      c.keys = keys_of_futex2_flags(args[3]);
      c.word = args[0];
      c.may_sleep = c.sleeps_on_word = true;
      c.timeout_arg = 4;
      break;
    case abi::kSysFutexRequeue:  // (waiters[2], flags, nr_wake, nr_requeue)
      c.stats_slot = kFutexRequeueSlot;
      c.keys = FutexKeys::kUnread;
      c.wakes = c.wakes_plain = true;
      c.array = args[0];
      c.entries = 2;
      c.flags = u32(args[1]);
      break;
    default:
      break;
  }
  return c;
}

std::uint32_t entries_to_read(const FutexCall& call) noexcept {
  if (call.array == 0) return 0;
  // Both calls' flags must be 0, and futex_waitv's 0 < nr_futexes <= FUTEX_WAITV_MAX, or Linux
  // reads nothing.
  if (call.flags != 0) return 0;
  if (call.nr == abi::kSysFutexRequeue) return 2;
  if (call.nr != abi::kSysFutexWaitv) return 0;
  return call.entries != 0 && call.entries <= futex::kWaitvMax ? call.entries : 0;
}

void classify_entries(FutexCall& call, std::span<const futex::Waitv> entries) noexcept {
  if (entries.empty()) return;
  std::size_t shared = 0;
  for (const futex::Waitv& w : entries) shared += (w.flags & futex::kFutex2Private) == 0 ? 1 : 0;
  call.keys = shared == entries.size() ? FutexKeys::kShared
              : shared == 0            ? FutexKeys::kPrivate
                                       : FutexKeys::kMixed;
  if (call.nr == abi::kSysFutexRequeue) call.word = entries[0].uaddr;
}

std::string futex_slot_name(std::size_t slot) {
  switch (slot) {
    case kFutexInvalidSlot: return "FUTEX_???";
    case kWaitvSlot: return "futex_waitv";
    case kFutexWakeSlot: return "futex_wake";
    case kFutexWaitSlot: return "futex_wait";
    case kFutexRequeueSlot: return "futex_requeue";
    default: break;
  }
  const int cmd = static_cast<int>(slot / 4);
  const int op = cmd | ((slot & 2) != 0 ? futex::kPrivateFlag : 0) |
                 ((slot & 1) != 0 ? futex::kClockRealtime : 0);
  return futex_op_name(op);
}

std::string futex_call_name(const FutexCall& call) {
  if (!call.family) return "syscall_" + std::to_string(call.nr);
  return futex_slot_name(call.stats_slot);
}

}  // namespace futexbox::syscalls
