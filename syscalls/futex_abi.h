// Constants of the futex ABI (include/uapi/linux/futex.h), spelled out so the decoding does not
// depend on the build machine's headers (Debian 12's lack the futex2 ones).
#pragma once

#include <cstdint>

namespace futexbox::syscalls::futex_abi {

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

inline constexpr int kPrivateFlag = 128;
inline constexpr int kClockRealtime = 256;
inline constexpr int kCmdMask = ~(kPrivateFlag | kClockRealtime);

inline constexpr std::uint32_t kTidMask = 0x3fffffff;  // a PI or robust lock word's owner

// futex(2) ops (FUTEX_CMD_MASK applied inside) that may sleep on the word in uaddr, and those
// that wake its waiters.
constexpr bool op_may_wait(int op) {
  const int cmd = op & kCmdMask;
  return cmd == kWait || cmd == kWaitBitset || cmd == kLockPi || cmd == kLockPi2 ||
         cmd == kWaitRequeuePi;
}
constexpr bool op_wakes(int op) {
  const int cmd = op & kCmdMask;
  return cmd == kWake || cmd == kWakeBitset || cmd == kRequeue || cmd == kCmpRequeue ||
         cmd == kWakeOp || cmd == kUnlockPi || cmd == kCmpRequeuePi;
}

inline constexpr std::uint32_t kFutex2SizeMask = 0x03;
inline constexpr std::uint32_t kFutex2SizeU32 = 0x02;
inline constexpr std::uint32_t kFutex2Numa = 0x04;
inline constexpr std::uint32_t kFutex2Mpol = 0x08;
inline constexpr std::uint32_t kFutex2Private = 128;
inline constexpr std::uint32_t kFutex2ValidMask =
    kFutex2SizeMask | kFutex2Numa | kFutex2Mpol | kFutex2Private;
inline constexpr unsigned kWaitvMax = 128;

struct Waitv {  // struct futex_waitv
  std::uint64_t val;
  std::uint64_t uaddr;
  std::uint32_t flags;
  std::uint32_t reserved;
};
static_assert(sizeof(Waitv) == 24);

struct Timespec {  // struct __kernel_timespec
  std::int64_t tv_sec;
  std::int64_t tv_nsec;
};

struct RobustListHead {  // struct robust_list_head, LP64
  std::uint64_t next;
  std::int64_t futex_offset;
  std::uint64_t list_op_pending;
};
static_assert(sizeof(RobustListHead) == 24);

}  // namespace futexbox::syscalls::futex_abi
