// Linux x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl) of every call
// futexbox names: the ones its syscall table serves and the ones the agent traps or issues by
// number. Written out because the build machine's <sys/syscall.h> may predate some (Debian 12's
// has no futex_wake, futex_wait or futex_requeue).
#pragma once

#include <cstdint>

namespace futexbox::abi {

inline constexpr std::uint32_t kSysRead = 0;
inline constexpr std::uint32_t kSysWrite = 1;
inline constexpr std::uint32_t kSysClose = 3;
inline constexpr std::uint32_t kSysPoll = 7;
inline constexpr std::uint32_t kSysRtSigaction = 13;
inline constexpr std::uint32_t kSysRtSigprocmask = 14;
inline constexpr std::uint32_t kSysRtSigreturn = 15;
inline constexpr std::uint32_t kSysIoctl = 16;
inline constexpr std::uint32_t kSysReadv = 19;
inline constexpr std::uint32_t kSysWritev = 20;
inline constexpr std::uint32_t kSysPipe = 22;
inline constexpr std::uint32_t kSysDup = 32;
inline constexpr std::uint32_t kSysDup2 = 33;
inline constexpr std::uint32_t kSysGetpid = 39;
inline constexpr std::uint32_t kSysClone = 56;
inline constexpr std::uint32_t kSysFork = 57;
inline constexpr std::uint32_t kSysVfork = 58;
inline constexpr std::uint32_t kSysExecve = 59;
inline constexpr std::uint32_t kSysExit = 60;
inline constexpr std::uint32_t kSysKill = 62;
inline constexpr std::uint32_t kSysFcntl = 72;
inline constexpr std::uint32_t kSysRtSigpending = 127;
inline constexpr std::uint32_t kSysRtSigtimedwait = 128;
inline constexpr std::uint32_t kSysRtSigqueueinfo = 129;
inline constexpr std::uint32_t kSysRtSigsuspend = 130;
inline constexpr std::uint32_t kSysSigaltstack = 131;
inline constexpr std::uint32_t kSysGettid = 186;
inline constexpr std::uint32_t kSysTkill = 200;
inline constexpr std::uint32_t kSysFutex = 202;
inline constexpr std::uint32_t kSysSetTidAddress = 218;
inline constexpr std::uint32_t kSysRestartSyscall = 219;
inline constexpr std::uint32_t kSysExitGroup = 231;
inline constexpr std::uint32_t kSysTgkill = 234;
inline constexpr std::uint32_t kSysPselect6 = 270;
inline constexpr std::uint32_t kSysPpoll = 271;
inline constexpr std::uint32_t kSysEpollPwait = 281;
inline constexpr std::uint32_t kSysSetRobustList = 273;
inline constexpr std::uint32_t kSysGetRobustList = 274;
inline constexpr std::uint32_t kSysEventfd = 284;
inline constexpr std::uint32_t kSysEventfd2 = 290;
inline constexpr std::uint32_t kSysDup3 = 292;
inline constexpr std::uint32_t kSysPipe2 = 293;
inline constexpr std::uint32_t kSysRtTgsigqueueinfo = 297;
inline constexpr std::uint32_t kSysExecveat = 322;
inline constexpr std::uint32_t kSysClone3 = 435;
inline constexpr std::uint32_t kSysEpollPwait2 = 441;
inline constexpr std::uint32_t kSysFutexWaitv = 449;
inline constexpr std::uint32_t kSysFutexWake = 454;
inline constexpr std::uint32_t kSysFutexWait = 455;
inline constexpr std::uint32_t kSysFutexRequeue = 456;

}  // namespace futexbox::abi
