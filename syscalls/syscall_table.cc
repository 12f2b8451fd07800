#include "syscalls/syscall_table.h"

#include <array>

#include "syscalls/handlers.h"

namespace futexbox::syscalls {
namespace {

// x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl), in increasing order.
constexpr SyscallEntry kTable[] = {
    {59, "execve", &sys_execve, Support::kPartial,
     "the futex release of exec (robust-list walk, clear_child_tid); loading the image is the "
     "embedder's"},
    {60, "exit", &sys_exit, Support::kPartial,
     "the futex side of thread death: robust-list walk (OWNER_DIED, shared wakes, PI handoff), "
     "then clear_child_tid store and shared wake; ending the thread is the embedder's"},
    {186, "gettid", &sys_gettid, Support::kFull, ""},
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
    {273, "set_robust_list", &sys_set_robust_list, Support::kFull,
     "walked at thread exit and exec: at most 2048 entries, list_op_pending last"},
    {274, "get_robust_list", &sys_get_robust_list, Support::kFull, ""},
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

std::int64_t dispatch(kernel::Kernel& kernel, kernel::Task& task,
                      const SyscallArgs& args) noexcept {
  const SyscallEntry* entry = find_syscall(args.nr);
  if (entry == nullptr || entry->handler == nullptr) {
    return -static_cast<std::int64_t>(kernel::Errno::kENOSYS);
  }
  const kernel::ErrorOr<std::int64_t> result = entry->handler(kernel, task, args);
  // The one place an Errno becomes the ABI's -errno.
  return result ? result.value() : -static_cast<std::int64_t>(result.error());
}

}  // namespace futexbox::syscalls
