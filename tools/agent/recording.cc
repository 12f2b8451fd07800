#include "tools/agent/recording.h"

#include <fcntl.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>

#include "abi/errno.h"
#include "abi/time.h"
#include "abi/syscall_numbers.h"
#include "sync/deadline.h"
#include "sync/host_syscall.h"

namespace futexbox::tools::agent {
namespace {

using sync::host_syscall;

bool thread_alive(pid_t pid, pid_t tid) noexcept {
  return host_syscall(abi::kSysTgkill, pid, tid, 0) != abi::negated(abi::Errno::kESRCH);
}

// This thread's slot in the trace file, claimed on its first use in this process (-1: none left;
// counted).
int trace_slot(Agent& agent, AgentThread& me) noexcept {
  const std::uint64_t generation = g_generation.load(std::memory_order_acquire);
  if (me.trace_generation != generation) {
    me.trace_pid = static_cast<pid_t>(host_syscall(abi::kSysGetpid));
    me.trace_tid = static_cast<pid_t>(host_syscall(abi::kSysGettid));
    me.trace_slot = agent.trace.claim(me.trace_pid, me.trace_tid, &thread_alive);
    me.trace_generation = generation;
  }
  if (me.trace_slot < 0) agent.trace.count_unslotted();
  return me.trace_slot;
}

// Appends one record to this thread's ring.
void trace_event(Agent& agent, AgentThread& me, TraceKind kind, long nr, std::uint16_t flags,
                 std::initializer_list<std::uint64_t> values) noexcept {
  if (trace_slot(agent, me) < 0) return;
  TraceEvent e;
  e.ts_ns = static_cast<std::uint64_t>(sync::Deadline::now_ns(sync::ClockKind::kMonotonic));
  e.pid = me.trace_pid;
  e.tid = me.trace_tid;
  e.kind = kind;
  e.flags = flags;
  e.nr = static_cast<std::uint32_t>(nr);
  std::size_t i = 0;
  for (const std::uint64_t v : values) e.v[i++] = v;
  (void)agent.trace.push(me.trace_slot, e);
}

// `n` words in kEntryData records, eight to a record, after the entry or exit_group they belong to.
void trace_words(Agent& agent, AgentThread& me, long nr, const std::uint64_t* words,
                 std::size_t n) noexcept {
  for (std::size_t at = 0; at < n; at += 8) {
    const auto w = [&](std::size_t i) { return at + i < n ? words[at + i] : 0; };
    trace_event(agent, me, TraceKind::kEntryData, nr, 0,
                {w(0), w(1), w(2), w(3), w(4), w(5), w(6), w(7)});
  }
}

class RecordingTracer final : public kernel::Tracer {
 public:
  void futex_wait(kernel::Task&, kernel::GuestAddr uaddr) noexcept override {
    trace_event(*g_agent, t_agent, TraceKind::kWait, 0, kTraceServed, {uaddr});
  }
  void futex_woken(kernel::Task&, kernel::GuestAddr uaddr, pid_t waker) noexcept override {
    trace_event(*g_agent, t_agent, TraceKind::kWoken, 0, kTraceServed,
                {uaddr, static_cast<std::uint64_t>(waker)});
  }
  void futex_wake(kernel::Task&, kernel::GuestAddr uaddr, std::size_t woken) noexcept override {
    trace_event(*g_agent, t_agent, TraceKind::kWake, 0, kTraceServed, {uaddr, woken});
  }
  void futex_requeue(kernel::Task&, kernel::GuestAddr from, kernel::GuestAddr to,
                     std::size_t woken, std::size_t requeued) noexcept override {
    trace_event(*g_agent, t_agent, TraceKind::kRequeue, 0, kTraceServed,
                {from, to, woken, requeued});
  }
};
RecordingTracer g_recording_tracer;

bool call_state_only(const Agent& agent) noexcept {
  return (agent.trace.record() & kTraceCallState) != 0;
}

}  // namespace

kernel::Tracer& recording_tracer() noexcept { return g_recording_tracer; }

void record_entry(Agent& agent, AgentThread& me, const syscalls::FutexCall& call,
                  const long (&args)[6], std::span<const abi::futex::Waitv> entries) noexcept {
  if (call_state_only(agent)) {
    // futexbox run's deadlock watch: only the call this thread is in, and the last word it woke.
    const int slot = trace_slot(agent, me);
    if (slot < 0) return;
    TraceEvent e;
    e.pid = me.trace_pid;
    e.tid = me.trace_tid;
    e.nr = call.nr;
    for (int i = 0; i < 6; ++i) e.v[i] = static_cast<std::uint64_t>(args[i]);
    agent.trace.enter_call(slot, e);
    if (call.wakes_named_word()) agent.trace.note_wake(slot, call.word);
    return;
  }
  std::uint64_t sec = 0;
  std::uint64_t nsec = 0;
  std::uint16_t flags = 0;
  // strace shows the timespec a futex(2) or futex_waitv timeout points at, read at entry.
  if ((call.nr == abi::kSysFutex || call.nr == abi::kSysFutexWaitv) && call.timeout_arg >= 0 &&
      args[call.timeout_arg] != 0) {
    abi::Timespec ts;
    if (agent.memory.copy_in(static_cast<kernel::GuestAddr>(args[call.timeout_arg]), &ts, sizeof ts)) {
      sec = static_cast<std::uint64_t>(ts.tv_sec);
      nsec = static_cast<std::uint64_t>(ts.tv_nsec);
      flags |= kTraceTimeoutRead;
    }
  }
  // And futex_waitv's array, as far as strace prints it, in kEntryData records after the entry:
  // the routing's copy when it read one, otherwise read here (a call Linux refuses before
  // reading, which strace still decodes).
  abi::futex::Waitv shown_entries[kTraceWaitvShown];
  const std::size_t shown = std::min<std::size_t>(call.entries, kTraceWaitvShown);
  if (call.nr == abi::kSysFutexWaitv && call.array != 0 && shown != 0) {
    if (entries.size() >= shown) {
      std::copy_n(entries.begin(), shown, shown_entries);
      flags |= kTraceArrayRead;
    } else if (agent.memory.copy_in(call.array, shown_entries, shown * sizeof shown_entries[0])) {
      flags |= kTraceArrayRead;
    }
  }
  trace_event(agent, me, TraceKind::kEntry, call.nr, flags,
              {static_cast<std::uint64_t>(args[0]), static_cast<std::uint64_t>(args[1]),
               static_cast<std::uint64_t>(args[2]), static_cast<std::uint64_t>(args[3]),
               static_cast<std::uint64_t>(args[4]), static_cast<std::uint64_t>(args[5]), sec, nsec});
  if ((flags & kTraceArrayRead) == 0) return;
  constexpr std::size_t kWordsPerEntry = sizeof(abi::futex::Waitv) / sizeof(std::uint64_t);
  static_assert(sizeof(abi::futex::Waitv) % sizeof(std::uint64_t) == 0);
  std::uint64_t words[kTraceWaitvShown * kWordsPerEntry];
  std::memcpy(words, shown_entries, shown * sizeof shown_entries[0]);
  trace_words(agent, me, call.nr, words, shown * kWordsPerEntry);  // 3 each
}

void record_exit(Agent& agent, AgentThread& me, const syscalls::FutexCall& call,
                 std::uint16_t flags, long result) noexcept {
  if (call_state_only(agent)) {
    if (me.trace_slot >= 0) agent.trace.leave_call(me.trace_slot);  // claimed at the entry
    return;
  }
  trace_event(agent, me, TraceKind::kExit, call.nr, flags, {static_cast<std::uint64_t>(result)});
}

// Every thread an exit_group ends is read from /proc/self/task with raw syscalls: this runs in
// the SIGSYS handler.
void record_end(Agent& agent, AgentThread& me, long nr, long status) noexcept {
  if (call_state_only(agent)) return;
  const auto code = static_cast<std::uint64_t>(status & 0xff);
  if (nr == abi::kSysExit) {
    trace_event(agent, me, TraceKind::kThreadExit, nr, 0, {code});
    return;
  }
  constexpr std::size_t kMaxTids = 512;
  std::uint64_t tids[kMaxTids];
  std::size_t n = 0;
  const long fd = host_syscall(SYS_openat, AT_FDCWD, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    alignas(8) char buf[2048];
    for (long got; n < kMaxTids && (got = host_syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0;) {
      for (long at = 0; at < got && n < kMaxTids;) {
        std::uint16_t reclen;
        std::memcpy(&reclen, buf + at + 16, sizeof reclen);  // linux_dirent64: ino, off, reclen
        const char* name = buf + at + 19;
        std::uint64_t tid = 0;
        for (; *name >= '0' && *name <= '9'; ++name) tid = tid * 10 + static_cast<std::uint64_t>(*name - '0');
        if (tid != 0) tids[n++] = tid;
        at += reclen;
      }
    }
    host_syscall(SYS_close, fd);
  }
  trace_event(agent, me, TraceKind::kExitGroup, nr, 0, {code, n});
  trace_words(agent, me, nr, tids, n);
}

}  // namespace futexbox::tools::agent
