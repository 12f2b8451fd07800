#include "tools/agent/futex_routing.h"

#include <sys/syscall.h>

#include "abi/errno.h"
#include "sync/host_syscall.h"
#include "syscalls/futex_dispatch.h"
#include "tools/agent/legacy_waiters.h"
#include "tools/agent/recording.h"
#include "tools/agent/signal_windows.h"

namespace futexbox::tools::agent {
namespace {

namespace futex = abi::futex;
using sync::host_syscall;
using syscalls::FutexKeys;

// FUTEX_LOCK_PI's owner check: the guest's threads are host threads the agent registers lazily.
bool host_task_exists(pid_t tid) noexcept {
  return tid > 0 && host_syscall(abi::kSysKill, tid, 0) != abi::negated(abi::Errno::kESRCH);
}

long forward(AgentThread& me, const syscalls::FutexCall& call, const long (&args)[6]) noexcept {
  if (call.may_sleep) return forward_in_window(me, call.nr, args);
  return sync::host_syscall6(call.nr, args[0], args[1], args[2], args[3], args[4], args[5]);
}

// `entries`: a futex_waitv's or futex_requeue's array as routing read it (empty for the others),
// which the handler then uses instead of reading it a second time.
long serve(Agent& agent, AgentThread& me, const syscalls::FutexCall& call, const long (&args)[6],
           std::span<const futex::Waitv> entries = {}) noexcept {
  kernel::Task* task = current_task(agent, me);
  if (task == nullptr) return abi::negated(abi::Errno::kENOMEM);  // no chunk of slots could be mapped
  if (call.nr == abi::kSysFutexWaitv) TaskPool::prepare_waitv(*task);
  syscalls::SyscallArgs sa;
  sa.nr = call.nr;
  for (int i = 0; i < 6; ++i) sa.regs[static_cast<std::size_t>(i)] = static_cast<std::uint64_t>(args[i]);
  auto exists = [](pid_t tid) { return host_task_exists(tid); };
  long r = syscalls::dispatch_futex({agent.futexes, exists}, *task, sa, entries);
  // Plain wakes also reach waiters that slept in the host before the filter (legacy_waiters.h).
  if (r >= 0 && call.wakes_plain && call.word != 0) {
    r += legacy_wake(call.word);
    if (call.word2 != 0) r += legacy_wake(call.word2);
  }
  return r;
}

long route(Agent& agent, AgentThread& me, const syscalls::FutexCall& call, const long (&args)[6],
           std::span<const futex::Waitv> entries = {}) noexcept {
  return call.is_shared() ? forward(me, call, args) : serve(agent, me, call, args, entries);
}

// A futex_waitv mixing private and shared entries: served, with the shared words also slept on in
// the host (the sleep hooks of signal_windows.h read them from AgentThread).
long serve_mixed_waitv(Agent& agent, AgentThread& me, const syscalls::FutexCall& call,
                       const long (&args)[6], std::span<const futex::Waitv> entries) noexcept {
  const std::uint32_t* words[futex::kWaitvMax];
  std::uint32_t values[futex::kWaitvMax];
  int indices[futex::kWaitvMax];
  int k = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if ((entries[i].flags & futex::kFutex2Private) != 0) continue;
    words[k] = reinterpret_cast<const std::uint32_t*>(entries[i].uaddr);
    values[k] = static_cast<std::uint32_t>(entries[i].val);
    indices[k] = static_cast<int>(i);
    ++k;
  }
  me.host_words = words;
  me.host_values = values;
  me.host_indices = indices;
  me.host_word_count = k;
  const long r = serve(agent, me, call, args, entries);
  me.host_word_count = 0;
  return r;
}

// futex_waitv(2) and futex_requeue(2), whose words are in an array, out of line: the 128-entry
// scratch arrays (about 5 KB) then live on the stack only for these calls, not for every futex
// call a guest thread with a small stack makes.
[[gnu::noinline]] long route_array_call(Agent& agent, AgentThread& me, syscalls::FutexCall& call,
                                        const long (&args)[6]) noexcept {
  futex::Waitv entries[futex::kWaitvMax];
  const std::uint32_t n = syscalls::entries_to_read(call);
  const bool read = n != 0 && agent.memory.copy_in(call.array, entries, n * sizeof entries[0]);
  const std::span<const futex::Waitv> got(entries, read ? n : 0);
  syscalls::classify_entries(call, got);
  if (agent.trace.valid()) record_entry(agent, me, call, args, got);
  if (call.keys == FutexKeys::kMixed && call.nr == abi::kSysFutexWaitv) {
    return serve_mixed_waitv(agent, me, call, args, got);
  }
  // Unread (served: EFAULT or EINVAL as Linux) or mixed futex_requeue (served: EINVAL).
  return route(agent, me, call, args, got);
}

}  // namespace

kernel::Task* current_task(Agent& agent, AgentThread& me) noexcept {
  const std::uint64_t generation = g_generation.load(std::memory_order_acquire);
  if (me.task != nullptr && me.generation == generation) return me.task;
  const auto tid = static_cast<pid_t>(host_syscall(abi::kSysGettid));
  kernel::Task* task = agent.tasks.claim(agent.process, tid);
  if (task == nullptr) return nullptr;
  task->attach_to_current_thread();
  me.task = task;
  me.generation = generation;
  me.tid = tid;
  RunStatsPage::add(agent.stats->threads);
  legacy_seen(tid);
  return task;
}

long route_futex_call(Agent& agent, AgentThread& me, syscalls::FutexCall& call,
                      const long (&args)[6]) noexcept {
  if (call.array != 0) return route_array_call(agent, me, call, args);
  if (agent.trace.valid()) record_entry(agent, me, call, args, {});
  return route(agent, me, call, args);
}

void count_futex_call(Agent& agent, const syscalls::FutexCall& call, long r) noexcept {
  OpCounters& counters = agent.stats->ops[call.stats_slot];
  RunStatsPage::add(call.is_shared() ? counters.forwarded : counters.served);
  const bool timed_out = r == abi::negated(abi::Errno::kETIMEDOUT);
  const bool interrupted = r == abi::negated(abi::Errno::kEINTR);
  if (call.may_sleep && (r >= 0 || timed_out || interrupted)) RunStatsPage::add(counters.waits);
  if (timed_out) RunStatsPage::add(counters.timeouts);
  if (interrupted) RunStatsPage::add(counters.eintr);
  if (call.wakes && r > 0) RunStatsPage::add(counters.woken, static_cast<std::uint64_t>(r));
}

}  // namespace futexbox::tools::agent
