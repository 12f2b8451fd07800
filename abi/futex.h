// The futex ABI of Linux x86-64 (include/uapi/linux/futex.h): futex(2)'s commands and flags, the
// bits of a PI or robust lock word, futex2's flags and structs, the robust-list head. Spelled out
// here, once, so that nothing depends on the build machine's headers (Debian 12's lack futex2's)
// and no layer keeps a copy of its own.
#pragma once

#include <cstdint>

namespace futexbox::abi::futex {

// futex(2) commands (op & kCmdMask).
inline constexpr int kWait = 0;
inline constexpr int kWake = 1;
inline constexpr int kFd = 2;
inline constexpr int kRequeue = 3;
inline constexpr int kCmpRequeue = 4;
inline constexpr int kWakeOp = 5;
inline constexpr int kLockPi = 6;
inline constexpr int kUnlockPi = 7;
inline constexpr int kTrylockPi = 8;
inline constexpr int kWaitBitset = 9;
inline constexpr int kWakeBitset = 10;
inline constexpr int kWaitRequeuePi = 11;
inline constexpr int kCmpRequeuePi = 12;
inline constexpr int kLockPi2 = 13;
inline constexpr int kCommands = 14;  // one past the highest command Linux has

// The commands whose fourth argument is a timeout pointer rather than the integer val2
// (futex_cmd_has_timeout): exactly the ones that may sleep.
constexpr bool cmd_has_timeout(int cmd) noexcept {
  return cmd == kWait || cmd == kWaitBitset || cmd == kLockPi || cmd == kLockPi2 ||
         cmd == kWaitRequeuePi;
}

// futex(2) op flags.
inline constexpr int kPrivateFlag = 128;
inline constexpr int kClockRealtime = 256;
inline constexpr int kCmdMask = ~(kPrivateFlag | kClockRealtime);

inline constexpr std::uint32_t kBitsetMatchAny = 0xffffffffu;  // FUTEX_BITSET_MATCH_ANY

// A PI or robust lock word: the owner's TID and two state bits.
inline constexpr std::uint32_t kWaiters = 0x80000000u;    // FUTEX_WAITERS
inline constexpr std::uint32_t kOwnerDied = 0x40000000u;  // FUTEX_OWNER_DIED
inline constexpr std::uint32_t kTidMask = 0x3fffffffu;    // FUTEX_TID_MASK

// FUTEX_WAKE_OP's encoded operation: op in bits 28-30 (bit 31 = FUTEX_OP_OPARG_SHIFT), cmp in
// bits 24-27, then two signed 12-bit arguments.
inline constexpr std::uint32_t kOpOpargShift = 0x80000000u;
inline constexpr unsigned kOpSet = 0, kOpAdd = 1, kOpOr = 2, kOpAndn = 3, kOpXor = 4;
inline constexpr unsigned kOpCmpEq = 0, kOpCmpNe = 1, kOpCmpLt = 2, kOpCmpLe = 3, kOpCmpGt = 4,
                          kOpCmpGe = 5;

// futex2 flags (futex_waitv entries, futex_wake/wait/requeue(2)).
inline constexpr std::uint32_t kFutex2SizeMask = 0x03;
inline constexpr std::uint32_t kFutex2SizeU32 = 0x02;
inline constexpr std::uint32_t kFutex2Numa = 0x04;
inline constexpr std::uint32_t kFutex2Mpol = 0x08;
inline constexpr std::uint32_t kFutex2Private = 128;
inline constexpr std::uint32_t kFutex2ValidMask =
    kFutex2SizeMask | kFutex2Numa | kFutex2Mpol | kFutex2Private;
inline constexpr unsigned kWaitvMax = 128;  // FUTEX_WAITV_MAX

struct Waitv {  // struct futex_waitv
  std::uint64_t val;
  std::uint64_t uaddr;
  std::uint32_t flags;
  std::uint32_t reserved;
};
static_assert(sizeof(Waitv) == 24);

struct RobustListHead {  // struct robust_list_head, LP64
  std::uint64_t next;
  std::int64_t futex_offset;
  std::uint64_t list_op_pending;
};
static_assert(sizeof(RobustListHead) == 24);

}  // namespace futexbox::abi::futex
