#include "syscalls/syscall_table.h"

#include <array>

#include "syscalls/handlers.h"
#include "syscalls/syscall_return.h"

namespace futexbox::syscalls {
namespace {

// x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl), in increasing order.
constexpr SyscallEntry kTable[] = {
    {0, "read", &sys_read, Support::kFull, "pipes and eventfds"},
    {1, "write", &sys_write, Support::kFull,
     "pipes (PIPE_BUF atomicity, EPIPE + SIGPIPE) and eventfds"},
    {3, "close", &sys_close, Support::kFull, ""},
    {7, "poll", &sys_poll, Support::kFull,
     "pipes and eventfds; restarts through restart_syscall with the same deadline"},
    {13, "rt_sigaction", &sys_rt_sigaction, Support::kFull,
     "SA_RESTART, SA_SIGINFO, SA_NODEFER, SA_RESETHAND, SA_ONSTACK; unknown flags cleared"},
    {14, "rt_sigprocmask", &sys_rt_sigprocmask, Support::kFull, ""},
    {16, "ioctl", &sys_ioctl, Support::kPartial, "FIONREAD on pipes, FIOCLEX, FIONCLEX, FIONBIO"},
    {19, "readv", &sys_readv, Support::kFull, ""},
    {20, "writev", &sys_writev, Support::kFull, ""},
    {22, "pipe", &sys_pipe2, Support::kFull, ""},
    {32, "dup", &sys_dup, Support::kFull, "at most 1024 descriptors (RLIMIT_NOFILE's soft limit)"},
    {33, "dup2", &sys_dup2, Support::kFull, ""},
    {39, "getpid", &sys_getpid, Support::kFull, ""},
    {59, "execve", &sys_execve, Support::kPartial,
     "the futex release of exec (robust-list walk, clear_child_tid); loading the image is the "
     "embedder's"},
    {60, "exit", &sys_exit, Support::kPartial,
     "the futex side of thread death: robust-list walk (OWNER_DIED, shared wakes, PI handoff), "
     "then clear_child_tid store and shared wake; ending the thread is the embedder's"},
    {62, "kill", &sys_kill, Support::kFull,
     "every process is its own process group; no permission model beyond one user"},
    {72, "fcntl", &sys_fcntl, Support::kPartial,
     "F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETPIPE_SZ, F_SETPIPE_SZ"},
    {127, "rt_sigpending", &sys_rt_sigpending, Support::kFull, ""},
    {128, "rt_sigtimedwait", &sys_rt_sigtimedwait, Support::kFull, ""},
    {129, "rt_sigqueueinfo", &sys_rt_sigqueueinfo, Support::kFull, ""},
    {130, "rt_sigsuspend", &sys_rt_sigsuspend, Support::kFull, ""},
    {131, "sigaltstack", &sys_sigaltstack, Support::kPartial,
     "EPERM for changing the stack in use needs the guest's stack pointer, which the table does "
     "not see"},
    {186, "gettid", &sys_gettid, Support::kFull, ""},
    {200, "tkill", &sys_tkill, Support::kFull, ""},
    {202, "futex", &sys_futex, Support::kFull,
     "every op: WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAIT_BITSET, WAKE_BITSET, LOCK_PI, "
     "LOCK_PI2, TRYLOCK_PI, UNLOCK_PI, WAIT_REQUEUE_PI, CMP_REQUEUE_PI, with PRIVATE and "
     "CLOCK_REALTIME; FUTEX_FD is ENOSYS as on Linux; PI locks hand over in FIFO order without "
     "priority boosting"},
    {218, "set_tid_address", &sys_set_tid_address, Support::kFull,
     "cleared and woken (shared) at thread exit when other threads share the memory"},
    {219, "restart_syscall", &sys_restart_syscall, Support::kFull,
     "resumes an interrupted timed FUTEX_WAIT with its original absolute deadline"},
    {231, "exit_group", &sys_exit, Support::kPartial,
     "as exit for the calling thread; the embedder runs the exit hook for the others"},
    {234, "tgkill", &sys_tgkill, Support::kFull, ""},
    {271, "ppoll", &sys_ppoll, Support::kFull, "with a temporary signal mask"},
    {273, "set_robust_list", &sys_set_robust_list, Support::kFull,
     "walked at thread exit and exec: at most 2048 entries, list_op_pending last"},
    {274, "get_robust_list", &sys_get_robust_list, Support::kFull, ""},
    {284, "eventfd", &sys_eventfd2, Support::kFull, ""},
    {290, "eventfd2", &sys_eventfd2, Support::kFull,
     "EFD_SEMAPHORE, EFD_NONBLOCK, EFD_CLOEXEC; waits in the 512-slot table"},
    {292, "dup3", &sys_dup3, Support::kFull, ""},
    {293, "pipe2", &sys_pipe2, Support::kFull, "O_CLOEXEC, O_NONBLOCK, O_DIRECT (packet mode)"},
    {297, "rt_tgsigqueueinfo", &sys_rt_tgsigqueueinfo, Support::kFull, ""},
    {449, "futex_waitv", &sys_futex_waitv, Support::kPartial,
     "up to 128 32-bit futexes; FUTEX2_NUMA and FUTEX2_MPOL placement are EINVAL"},
    {454, "futex_wake", &sys_futex_wake, Support::kPartial, "32-bit only; NUMA/MPOL are EINVAL"},
    {455, "futex_wait", &sys_futex_wait, Support::kPartial, "32-bit only; NUMA/MPOL are EINVAL"},
    {456, "futex_requeue", &sys_futex_requeue, Support::kPartial,
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
