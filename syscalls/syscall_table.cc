#include "syscalls/syscall_table.h"

#include <array>

#include "abi/syscall_numbers.h"
#include "syscalls/handlers.h"
#include "syscalls/syscall_return.h"

namespace futexbox::syscalls {
namespace {

// x86-64 numbers (abi/syscall_numbers.h), in increasing order.
constexpr SyscallEntry kTable[] = {
    {abi::kSysRead, "read", &sys_read, Support::kFull, "pipes and eventfds"},
    {abi::kSysWrite, "write", &sys_write, Support::kFull,
     "pipes (PIPE_BUF atomicity, EPIPE + SIGPIPE) and eventfds"},
    {abi::kSysClose, "close", &sys_close, Support::kFull, ""},
    {abi::kSysPoll, "poll", &sys_poll, Support::kFull,
     "pipes and eventfds; restarts through restart_syscall with the same deadline"},
    {abi::kSysRtSigaction, "rt_sigaction", &sys_rt_sigaction, Support::kFull,
     "SA_RESTART, SA_SIGINFO, SA_NODEFER, SA_RESETHAND, SA_ONSTACK; unknown flags cleared"},
    {abi::kSysRtSigprocmask, "rt_sigprocmask", &sys_rt_sigprocmask, Support::kFull, ""},
    {abi::kSysIoctl, "ioctl", &sys_ioctl, Support::kPartial, "FIONREAD on pipes, FIOCLEX, FIONCLEX, FIONBIO"},
    {abi::kSysReadv, "readv", &sys_readv, Support::kFull, ""},
    {abi::kSysWritev, "writev", &sys_writev, Support::kFull, ""},
    {abi::kSysPipe, "pipe", &sys_pipe2, Support::kFull, ""},
    {abi::kSysDup, "dup", &sys_dup, Support::kFull, "at most 1024 descriptors (RLIMIT_NOFILE's soft limit)"},
    {abi::kSysDup2, "dup2", &sys_dup2, Support::kFull, ""},
    {abi::kSysGetpid, "getpid", &sys_getpid, Support::kFull, ""},
    {abi::kSysExecve, "execve", &sys_execve, Support::kPartial,
     "the futex release of exec (robust-list walk, clear_child_tid); loading the image is the "
     "embedder's"},
    {abi::kSysExit, "exit", &sys_exit, Support::kPartial,
     "the futex side of thread death: robust-list walk (OWNER_DIED, shared wakes, PI handoff), "
     "then clear_child_tid store and shared wake; ending the thread is the embedder's"},
    {abi::kSysKill, "kill", &sys_kill, Support::kFull,
     "every process is its own process group; no permission model beyond one user"},
    {abi::kSysFcntl, "fcntl", &sys_fcntl, Support::kPartial,
     "F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETPIPE_SZ, F_SETPIPE_SZ"},
    {abi::kSysRtSigpending, "rt_sigpending", &sys_rt_sigpending, Support::kFull, ""},
    {abi::kSysRtSigtimedwait, "rt_sigtimedwait", &sys_rt_sigtimedwait, Support::kFull, ""},
    {abi::kSysRtSigqueueinfo, "rt_sigqueueinfo", &sys_rt_sigqueueinfo, Support::kFull, ""},
    {abi::kSysRtSigsuspend, "rt_sigsuspend", &sys_rt_sigsuspend, Support::kFull, ""},
    {abi::kSysSigaltstack, "sigaltstack", &sys_sigaltstack, Support::kPartial,
     "EPERM for changing the stack in use needs the guest's stack pointer, which the table does "
     "not see"},
    {abi::kSysGettid, "gettid", &sys_gettid, Support::kFull, ""},
    {abi::kSysTkill, "tkill", &sys_tkill, Support::kFull, ""},
    {abi::kSysFutex, "futex", &sys_futex, Support::kFull,
     "every op: WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAIT_BITSET, WAKE_BITSET, LOCK_PI, "
     "LOCK_PI2, TRYLOCK_PI, UNLOCK_PI, WAIT_REQUEUE_PI, CMP_REQUEUE_PI, with PRIVATE and "
     "CLOCK_REALTIME; FUTEX_FD is ENOSYS as on Linux; PI locks hand over in FIFO order without "
     "priority boosting"},
    {abi::kSysSetTidAddress, "set_tid_address", &sys_set_tid_address, Support::kFull,
     "cleared and woken (shared) at thread exit when other threads share the memory"},
    {abi::kSysRestartSyscall, "restart_syscall", &sys_restart_syscall, Support::kFull,
     "resumes an interrupted timed FUTEX_WAIT with its original absolute deadline"},
    {abi::kSysExitGroup, "exit_group", &sys_exit, Support::kPartial,
     "as exit for the calling thread; the embedder runs the exit hook for the others"},
    {abi::kSysTgkill, "tgkill", &sys_tgkill, Support::kFull, ""},
    {abi::kSysPpoll, "ppoll", &sys_ppoll, Support::kFull, "with a temporary signal mask"},
    {abi::kSysSetRobustList, "set_robust_list", &sys_set_robust_list, Support::kFull,
     "walked at thread exit and exec: at most 2048 entries, list_op_pending last"},
    {abi::kSysGetRobustList, "get_robust_list", &sys_get_robust_list, Support::kFull, ""},
    {abi::kSysEventfd, "eventfd", &sys_eventfd2, Support::kFull, ""},
    {abi::kSysEventfd2, "eventfd2", &sys_eventfd2, Support::kFull,
     "EFD_SEMAPHORE, EFD_NONBLOCK, EFD_CLOEXEC; waits in the 512-slot table"},
    {abi::kSysDup3, "dup3", &sys_dup3, Support::kFull, ""},
    {abi::kSysPipe2, "pipe2", &sys_pipe2, Support::kFull, "O_CLOEXEC, O_NONBLOCK, O_DIRECT (packet mode)"},
    {abi::kSysRtTgsigqueueinfo, "rt_tgsigqueueinfo", &sys_rt_tgsigqueueinfo, Support::kFull, ""},
    {abi::kSysFutexWaitv, "futex_waitv", &sys_futex_waitv, Support::kPartial,
     "up to 128 32-bit futexes; FUTEX2_NUMA and FUTEX2_MPOL placement are EINVAL"},
    {abi::kSysFutexWake, "futex_wake", &sys_futex_wake, Support::kPartial, "32-bit only; NUMA/MPOL are EINVAL"},
    {abi::kSysFutexWait, "futex_wait", &sys_futex_wait, Support::kPartial, "32-bit only; NUMA/MPOL are EINVAL"},
    {abi::kSysFutexRequeue, "futex_requeue", &sys_futex_requeue, Support::kPartial,
     "32-bit only; NUMA/MPOL are EINVAL"},
};

}  // namespace

std::span<const SyscallEntry> syscall_table() noexcept { return kTable; }

namespace {
constexpr std::size_t kMaxNr = 512;

// Direct index by number: dispatch sits on every served futex call.
struct Index {
  std::array<const SyscallEntry*, kMaxNr> by_nr{};
  constexpr Index() {
    for (const SyscallEntry& e : kTable) by_nr[e.nr] = &e;
  }
};
constexpr Index kIndex;
}  // namespace

const SyscallEntry* find_syscall(std::uint64_t nr) noexcept {
  return nr < kMaxNr ? kIndex.by_nr[nr] : nullptr;
}

std::string_view support_name(Support support) noexcept {
  switch (support) {
    case Support::kFull:
      return "full";
    case Support::kPartial:
      return "partial";
    case Support::kNone:
      return "none";
  }
  return "none";
}

namespace {

[[gnu::noinline]] std::int64_t dispatch_traced(kernel::Tracer& tracer, const SyscallEntry& entry,
                                               kernel::Kernel& kernel, kernel::Task& task,
                                               const SyscallArgs& args) noexcept {
  return run_traced(tracer, task, args, [&] { return entry.handler(kernel, task, args); });
}

}  // namespace

std::int64_t dispatch(kernel::Kernel& kernel, kernel::Task& task,
                      const SyscallArgs& args) noexcept {
  const SyscallEntry* entry = find_syscall(args.nr);
  if (entry == nullptr || entry->handler == nullptr) {
    return -static_cast<std::int64_t>(kernel::Errno::kENOSYS);
  }
  // Untraced: one load and one predictable branch on top of the handler.
  if (kernel::Tracer* const tracer = kernel.tracer(); tracer != nullptr) [[unlikely]] {
    return dispatch_traced(*tracer, *entry, kernel, task, args);
  }
  return to_rax(entry->handler(kernel, task, args));
}

}  // namespace futexbox::syscalls
