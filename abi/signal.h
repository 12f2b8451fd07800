// The signal ABI of Linux x86-64: numbers, sets, struct sigaction as the kernel sees it, sa_flags,
// siginfo_t and its codes, stack_t, default actions. Values are Linux's, written out once so that
// no layer (nor the agent, which sees the kernel's struct sigaction, not glibc's) depends on the
// host's libc headers agreeing with the guest's.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace futexbox::abi::sig {

inline constexpr int kNumSignals = 64;  // _NSIG
inline constexpr int kSigHup = 1, kSigInt = 2, kSigQuit = 3, kSigIll = 4, kSigTrap = 5,
                     kSigAbrt = 6, kSigBus = 7, kSigFpe = 8, kSigKill = 9, kSigUsr1 = 10,
                     kSigSegv = 11, kSigUsr2 = 12, kSigPipe = 13, kSigAlrm = 14, kSigTerm = 15,
                     kSigStkflt = 16, kSigChld = 17, kSigCont = 18, kSigStop = 19, kSigTstp = 20,
                     kSigTtin = 21, kSigTtou = 22, kSigUrg = 23, kSigXcpu = 24, kSigXfsz = 25,
                     kSigVtalrm = 26, kSigProf = 27, kSigWinch = 28, kSigIo = 29, kSigPwr = 30,
                     kSigSys = 31, kSigRtMin = 32;

// sigset_t as the kernel's rt_sig* calls take it: one 64-bit word, bit (sig - 1).
using SigSet = std::uint64_t;
constexpr SigSet sig_bit(int sig) noexcept { return SigSet{1} << (sig - 1); }
inline constexpr SigSet kUnblockable = sig_bit(kSigKill) | sig_bit(kSigStop);
inline constexpr SigSet kStopSignals =
    sig_bit(kSigStop) | sig_bit(kSigTstp) | sig_bit(kSigTtin) | sig_bit(kSigTtou);
// Signals dequeued before any other (SYNCHRONOUS_MASK in kernel/signal.c).
inline constexpr SigSet kSynchronous = sig_bit(kSigSegv) | sig_bit(kSigBus) | sig_bit(kSigIll) |
                                       sig_bit(kSigTrap) | sig_bit(kSigFpe) | sig_bit(kSigSys);
constexpr bool valid_signal(std::int64_t sig) noexcept { return sig >= 1 && sig <= kNumSignals; }
constexpr bool is_realtime(int sig) noexcept { return sig >= kSigRtMin; }

// rt_sigprocmask's `how`.
inline constexpr int kSigBlock = 0, kSigUnblock = 1, kSigSetmask = 2;

// Handler values and sa_flags (include/uapi/asm-generic/signal-defs.h, arch/x86).
inline constexpr std::uint64_t kSigDfl = 0;
inline constexpr std::uint64_t kSigIgn = 1;
inline constexpr std::uint64_t kSaNoCldStop = 0x1, kSaNoCldWait = 0x2, kSaSigInfo = 0x4,
                               kSaUnsupported = 0x400, kSaExposeTagBits = 0x800,
                               kSaRestorer = 0x04000000, kSaOnStack = 0x08000000,
                               kSaRestart = 0x10000000, kSaNoDefer = 0x40000000,
                               kSaResetHand = 0x80000000;
// What do_sigaction keeps (UAPI_SA_FLAGS): unknown bits are cleared so programs can probe.
inline constexpr std::uint64_t kSaKnownFlags = kSaNoCldStop | kSaNoCldWait | kSaSigInfo |
                                               kSaOnStack | kSaRestart | kSaNoDefer |
                                               kSaResetHand | kSaExposeTagBits | kSaRestorer;

// struct sigaction as rt_sigaction(2) reads it on x86-64 (the kernel's layout, not glibc's).
struct SigAction {
  std::uint64_t handler = kSigDfl;
  std::uint64_t flags = 0;
  std::uint64_t restorer = 0;
  SigSet mask = 0;
};
static_assert(sizeof(SigAction) == 32);

// si_code values (include/uapi/asm-generic/siginfo.h).
inline constexpr int kSiUser = 0, kSiKernel = 0x80, kSiQueue = -1, kSiTkill = -6;
inline constexpr int kSysSeccomp = 1;  // SIGSYS's si_code for a seccomp SECCOMP_RET_TRAP

// siginfo_t: 128 bytes. The common header and the kill/rt fields are named; the rest is carried.
struct SigInfo {
  std::int32_t signo = 0;
  std::int32_t errno_value = 0;
  std::int32_t code = 0;
  std::int32_t pad0 = 0;
  // _kill / _rt: sender's pid and uid, then (for _rt) the sigval.
  std::int32_t pid = 0;
  std::uint32_t uid = 0;
  std::uint64_t value = 0;
  std::array<std::uint8_t, 128 - 32> rest{};

  static SigInfo user(int sig, int code, pid_t pid, std::uint32_t uid) noexcept {
    SigInfo info;
    info.signo = sig;
    info.code = code;
    info.pid = pid;
    info.uid = uid;
    return info;
  }
};
static_assert(sizeof(SigInfo) == 128);

// stack_t for sigaltstack(2).
struct StackT {
  std::uint64_t sp = 0;
  std::int32_t flags = 0;
  std::int32_t pad = 0;
  std::uint64_t size = 0;
};
static_assert(sizeof(StackT) == 24);
inline constexpr std::int32_t kSsOnStack = 1, kSsDisable = 2;
inline constexpr std::uint32_t kSsAutoDisarm = 1u << 31;
inline constexpr std::uint64_t kMinSigStackSize = 2048;  // MINSIGSTKSZ on x86

// The default action of each signal (the table in signal(7)).
enum class DefaultAction : std::uint8_t { kTerminate, kCoreDump, kIgnore, kStop, kContinue };
constexpr DefaultAction default_action(int sig) noexcept {
  switch (sig) {
    case kSigQuit:
    case kSigIll:
    case kSigTrap:
    case kSigAbrt:
    case kSigBus:
    case kSigFpe:
    case kSigSegv:
    case kSigXcpu:
    case kSigXfsz:
    case kSigSys:
      return DefaultAction::kCoreDump;
    case kSigChld:
    case kSigUrg:
    case kSigWinch:
      return DefaultAction::kIgnore;
    case kSigCont:
      return DefaultAction::kContinue;
    case kSigStop:
    case kSigTstp:
    case kSigTtin:
    case kSigTtou:
      return DefaultAction::kStop;
    default:
      return DefaultAction::kTerminate;  // including every real-time signal
  }
}

}  // namespace futexbox::abi::sig
