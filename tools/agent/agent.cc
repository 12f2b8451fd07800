// The in-process agent: libfutexbox-agent.so, preloaded into every guest process by
// `futexbox run`, serves the guest's private futex calls from futexbox's kernel.
//
// How a call gets here. The constructor installs a SIGSYS handler and a seccomp filter
// (seccomp_filter.h) that traps the futex family, rt_sigaction, rt_sigprocmask and execve(at)
// unless the call comes from the agent's own gadget section. A trapped call arrives in on_sigsys()
// on the guest thread, with the guest's registers in the signal frame; the handler serves it and
// writes the result into the frame's rax (or rewinds rip to make the guest issue it again, which
// is how Linux restarts a syscall).
//
// What is served and what is forwarded. Linux keeps private futex keys (mm, address) and shared
// ones apart: a private wake never reaches a shared waiter. The wakes the host kernel issues on its
// own (clear_child_tid at thread exit, the robust-list walk) are shared. So every private op is
// served here and every shared op goes to the host unchanged, and both sides see all of the ops
// on their keys. futex_requeue(2) with two private (or two shared) words goes to one side; with
// mixed ones it is served (Linux's answer is EINVAL). A futex_waitv mixing both is served, with the
// shared entries also slept on in the host (windows.h): a wake on either side ends it.
//
// Why this is safe to do in a signal handler.
// - Nothing here calls malloc or takes a lock a guest thread could hold: tasks come from a pool
//   carved out of one mapping (task_pool.h), the kernel and table were built by the constructor,
//   the parking lot's memory is its own mmap'd table and TLS, and every syscall is raw.
// - The handler runs with all maskable signals blocked except the synchronous fault signals
//   (guest_signals.h: kHandlerMask), so no guest handler can run on top of a half-done operation
//   (the lot is not reentrant). The guest's mask is opened only while a call sleeps (windows.h),
//   and a signal that lands then is deferred to the call's return, as Linux delivers it.
// - Guest memory is accessed through HostGuestMemory's fault-tolerant accessors: a bad pointer is
//   EFAULT, never a crash.
// - Threads that existed before the filter may already sleep in the host on a private word
//   ("legacy" waiters): until each of them has been seen trapping (or has exited), every served
//   wake is also sent to the host, so none of them can miss it (an extra wake is a spurious one).
// - fork: glibc's fork runs the parking lot's handlers; a raw fork does not, so a MADV_WIPEONFORK
//   page tells a child apart from its parent on its first trap, and the child forgets every waiter
//   and task of the parent's threads then (a vfork child shares our memory and resets nothing).
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <new>

#include "kernel/errno.h"
#include "kernel/host_guest_memory.h"
#include "kernel/kernel.h"
#include "sync/deadline.h"
#include "sync/host_futex.h"
#include "sync/parking_lot.h"
#include "sync/sharded_wait.h"
#include "syscalls/futex_abi.h"
#include "syscalls/restart.h"
#include "syscalls/syscall_table.h"
#include "tools/agent/agent_thread.h"
#include "tools/agent/exec_guard.h"
#include "tools/agent/guest_signals.h"
#include "tools/agent/seccomp_filter.h"
#include "tools/agent/task_pool.h"
#include "tools/agent/windows.h"
#include "tools/run_stats.h"
#include "tools/trace_file.h"

namespace futexbox::tools::agent {

__attribute__((tls_model("initial-exec"))) thread_local AgentThread t_agent;

namespace {

using sync::host_syscall;

constexpr long kSysFutexWake = 454;
constexpr long kSysFutexWait = 455;
constexpr long kSysFutexRequeue = 456;
constexpr std::uint32_t kFutex2Private = 128;
constexpr int kPrivateFlag = 128;
constexpr int kClockRealtime = 256;
constexpr int kFutexWakePrivate = 1 | kPrivateFlag;

struct Agent {
  explicit Agent(std::shared_ptr<kernel::HostGuestMemory> mem)
      : memory(*mem), process(static_cast<pid_t>(getpid()), std::move(mem)) {}
  kernel::HostGuestMemory& memory;
  kernel::Process process;
  kernel::Kernel kernel;
  TaskPool tasks;
  RunStatsPage* stats = nullptr;
  TraceFile trace;  // valid only under futexbox trace
  std::atomic<pid_t> pid{0};
  char agent_path[PATH_MAX] = {};
  char stats_path[PATH_MAX] = {};
  ExecGuardConfig exec_config{agent_path, stats_path};
};

alignas(Agent) unsigned char g_agent_storage[sizeof(Agent)];
Agent* g_agent = nullptr;
RunStatsPage g_private_stats;  // when futexbox run did not hand us a page
std::atomic<std::uint64_t> g_generation{1};
std::atomic<std::uint32_t>* g_fork_sentinel = nullptr;  // 1 in the process that set it, 0 after fork
volatile bool g_probing = false;
volatile bool g_probe_trapped = false;

// Where every image's agent puts its syscall gadget: far below the mmap area (which starts near
// the top of the 47-bit space and grows down) and far above any heap, so nothing is there.
constexpr std::uintptr_t kGadgetAddress = 0x6fff'ff00'0000;

// --- threads that predate the filter ---
constexpr int kMaxLegacy = 256;
std::atomic<bool> g_legacy_active{false};
std::atomic<pid_t> g_legacy_tids[kMaxLegacy];
std::atomic<int> g_legacy_left{0};
std::atomic<std::uint32_t> g_legacy_wakes{0};

void legacy_forget(int i) noexcept {
  if (g_legacy_tids[i].exchange(0, std::memory_order_acq_rel) != 0 &&
      g_legacy_left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    g_legacy_active.store(false, std::memory_order_release);
  }
}

void legacy_seen(pid_t tid) noexcept {
  if (!g_legacy_active.load(std::memory_order_acquire)) return;
  for (int i = 0; i < kMaxLegacy; ++i) {
    if (g_legacy_tids[i].load(std::memory_order_relaxed) == tid) legacy_forget(i);
  }
}

// A served wake on `uaddr` also wakes host waiters that went to sleep before the filter existed.
long legacy_wake(kernel::GuestAddr uaddr) noexcept {
  if (!g_legacy_active.load(std::memory_order_acquire)) return 0;
  if ((g_legacy_wakes.fetch_add(1, std::memory_order_relaxed) & 255) == 0) {
    const long pid = host_syscall(SYS_getpid);
    for (int i = 0; i < kMaxLegacy; ++i) {
      const pid_t tid = g_legacy_tids[i].load(std::memory_order_relaxed);
      if (tid != 0 && host_syscall(SYS_tgkill, pid, tid, 0) == -ESRCH) legacy_forget(i);
    }
  }
  const long r = host_syscall(SYS_futex, uaddr, kFutexWakePrivate, INT_MAX, 0, 0, 0);
  return r > 0 ? r : 0;
}

void legacy_init() noexcept {
  const long self = host_syscall(SYS_gettid);
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return;
  int n = 0;
  int overflow = 0;
  while (const dirent* e = readdir(dir)) {
    const long tid = std::strtol(e->d_name, nullptr, 10);
    if (tid <= 0 || tid == self) continue;
    if (n < kMaxLegacy) {
      g_legacy_tids[n++].store(static_cast<pid_t>(tid), std::memory_order_relaxed);
    } else {
      ++overflow;  // never all seen: the host wakes stay on for good
    }
  }
  closedir(dir);
  g_legacy_left.store(n + overflow, std::memory_order_relaxed);
  g_legacy_active.store(n + overflow > 0, std::memory_order_release);
}

// --- fork ---

void check_fork(Agent& agent) noexcept {
  std::atomic<std::uint32_t>& sentinel = *g_fork_sentinel;
  if (sentinel.load(std::memory_order_acquire) == 1) return;
  std::uint32_t expected = 0;
  if (sentinel.compare_exchange_strong(expected, 2, std::memory_order_acq_rel)) {
    sync::parking_lot::reset_after_fork_without_handlers();
    sync::reset_sharded_waits_after_fork_without_handlers();
    agent.tasks.reset_after_fork();
    agent.pid.store(static_cast<pid_t>(host_syscall(SYS_getpid)), std::memory_order_relaxed);
    for (auto& tid : g_legacy_tids) tid.store(0, std::memory_order_relaxed);
    g_legacy_left.store(0, std::memory_order_relaxed);
    g_legacy_active.store(false, std::memory_order_relaxed);
    g_generation.fetch_add(1, std::memory_order_acq_rel);
    RunStatsPage::add(agent.stats->processes);
    sentinel.store(1, std::memory_order_release);
    return;
  }
  while (sentinel.load(std::memory_order_acquire) != 1) __builtin_ia32_pause();
}

// A vfork child (posix_spawn) runs on our memory with its own PID and signal table.
bool in_vfork_child(const Agent& agent) noexcept {
  return host_syscall(SYS_getpid) != agent.pid.load(std::memory_order_relaxed);
}

bool host_task_exists(pid_t tid) noexcept {
  return tid > 0 && host_syscall(SYS_kill, tid, 0) != -ESRCH;
}

// --- futexbox trace ---

bool thread_alive(pid_t pid, pid_t tid) noexcept {
  return host_syscall(SYS_tgkill, pid, tid, 0) != -ESRCH;
}

// This thread's slot in the trace file, claimed on its first use in this process (-1: none left;
// counted).
int trace_slot(Agent& agent, AgentThread& me) noexcept {
  const std::uint64_t generation = g_generation.load(std::memory_order_acquire);
  if (me.trace_generation != generation) {
    me.trace_pid = static_cast<pid_t>(host_syscall(SYS_getpid));
    me.trace_tid = static_cast<pid_t>(host_syscall(SYS_gettid));
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

// The kernel's tracer hooks for served calls, written to the calling thread's ring.
class AgentTracer final : public kernel::Tracer {
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
AgentTracer g_agent_tracer;

void trace_entry(Agent& agent, AgentThread& me, long nr, const long (&args)[6]) noexcept {
  if ((agent.trace.record() & kTraceCallState) != 0) {
    // futexbox run's deadlock watch: only the call this thread is in, and the last word it woke.
    const int slot = trace_slot(agent, me);
    if (slot < 0) return;
    TraceEvent e;
    e.pid = me.trace_pid;
    e.tid = me.trace_tid;
    e.nr = static_cast<std::uint32_t>(nr);
    for (int i = 0; i < 6; ++i) e.v[i] = static_cast<std::uint64_t>(args[i]);
    agent.trace.enter_call(slot, e);
    if (nr == 454 || (nr == SYS_futex && syscalls::futex_abi::op_wakes(static_cast<int>(args[1])))) {
      agent.trace.note_wake(slot, static_cast<std::uint64_t>(args[0]));
    }
    return;
  }
  std::uint64_t sec = 0;
  std::uint64_t nsec = 0;
  std::uint16_t flags = 0;
  // strace shows the timespec a futex(2) or futex_waitv timeout points at, read at entry.
  if ((nr == SYS_futex || nr == SYS_futex_waitv) && args[3] != 0) {
    std::int64_t ts[2];
    if (agent.memory.copy_in(static_cast<kernel::GuestAddr>(args[3]), ts, sizeof ts)) {
      sec = static_cast<std::uint64_t>(ts[0]);
      nsec = static_cast<std::uint64_t>(ts[1]);
      flags |= kTraceTimeoutRead;
    }
  }
  // And futex_waitv's array, as far as strace prints it, in kEntryData records after the entry.
  syscalls::futex_abi::Waitv waiters[kTraceWaitvShown];
  const std::size_t shown = std::min<std::size_t>(static_cast<std::uint32_t>(args[1]), kTraceWaitvShown);
  if (nr == SYS_futex_waitv && args[0] != 0 && shown != 0 &&
      agent.memory.copy_in(static_cast<kernel::GuestAddr>(args[0]), waiters, shown * sizeof waiters[0])) {
    flags |= kTraceArrayRead;
  }
  trace_event(agent, me, TraceKind::kEntry, nr, flags,
              {static_cast<std::uint64_t>(args[0]), static_cast<std::uint64_t>(args[1]),
               static_cast<std::uint64_t>(args[2]), static_cast<std::uint64_t>(args[3]),
               static_cast<std::uint64_t>(args[4]), static_cast<std::uint64_t>(args[5]), sec, nsec});
  if ((flags & kTraceArrayRead) == 0) return;
  static_assert(sizeof waiters % sizeof(std::uint64_t) == 0);
  std::uint64_t words[sizeof waiters / (sizeof(std::uint64_t))];
  std::memcpy(words, waiters, shown * sizeof waiters[0]);
  trace_words(agent, me, nr, words, shown * sizeof waiters[0] / sizeof(std::uint64_t));  // 3 each
}

void trace_exit(Agent& agent, AgentThread& me, long nr, std::uint16_t flags, long result) noexcept {
  if ((agent.trace.record() & kTraceCallState) != 0) {
    if (me.trace_slot >= 0) agent.trace.leave_call(me.trace_slot);  // claimed at the entry
    return;
  }
  trace_event(agent, me, TraceKind::kExit, nr, flags, {static_cast<std::uint64_t>(result)});
}

// A thread's exit(2), or its process's exit_group(2) with every thread it ends (read from
// /proc/self/task with raw syscalls: this runs in the SIGSYS handler).
void trace_end(Agent& agent, AgentThread& me, long nr, long status) noexcept {
  if ((agent.trace.record() & kTraceCallState) != 0) return;
  const auto code = static_cast<std::uint64_t>(status & 0xff);
  if (nr == SYS_exit) {
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

kernel::Task* current_task(Agent& agent, AgentThread& me) noexcept {
  const std::uint64_t generation = g_generation.load(std::memory_order_acquire);
  if (me.task != nullptr && me.generation == generation) return me.task;
  const auto tid = static_cast<pid_t>(host_syscall(SYS_gettid));
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

// --- the futex family ---

struct FutexCall {
  std::size_t slot = kFutexInvalidSlot;
  bool shared = false;
  bool wait_type = false;  // may block
  bool wake_type = false;  // returns a count of woken (and requeued) waiters
  kernel::GuestAddr wake_addr = 0;   // words a served wake also wakes legacy host waiters on
  kernel::GuestAddr wake_addr2 = 0;
};

FutexCall classify_futex(int op, const long (&args)[6]) noexcept {
  FutexCall c;
  c.slot = futex_op_slot(op);
  c.shared = (op & kPrivateFlag) == 0;
  namespace abi = syscalls::futex_abi;
  const int cmd = op & abi::kCmdMask;
  c.wait_type = cmd == abi::kWait || cmd == abi::kWaitBitset || cmd == abi::kLockPi ||
                cmd == abi::kLockPi2 || cmd == abi::kWaitRequeuePi;
  const bool plain_wake = cmd == abi::kWake || cmd == abi::kWakeBitset || cmd == abi::kRequeue ||
                          cmd == abi::kCmpRequeue || cmd == abi::kWakeOp;
  c.wake_type = plain_wake || cmd == abi::kCmpRequeuePi;
  // Plain wakes also reach waiters that slept in the host before the filter (legacy_wake).
  if (plain_wake) c.wake_addr = args[0];
  if (cmd == abi::kWakeOp) c.wake_addr2 = args[4];
  return c;
}

struct WaitvEntry {  // struct futex_waitv
  std::uint64_t val;
  std::uint64_t uaddr;
  std::uint32_t flags;
  std::uint32_t reserved;
};

long forward(AgentThread& me, const FutexCall& c, long nr, const long (&args)[6]) noexcept {
  if (c.wait_type) return forward_in_window(me, nr, args);
  return sync::host_syscall6(nr, args[0], args[1], args[2], args[3], args[4], args[5]);
}

long serve(Agent& agent, AgentThread& me, const FutexCall& c, long nr,
           const long (&args)[6]) noexcept {
  kernel::Task* task = current_task(agent, me);
  if (task == nullptr) return -EAGAIN;  // more than TaskPool::kSlots live threads
  syscalls::SyscallArgs sa;
  sa.nr = static_cast<std::uint64_t>(nr);
  for (int i = 0; i < 6; ++i) sa.regs[static_cast<std::size_t>(i)] = static_cast<std::uint64_t>(args[i]);
  long r = syscalls::dispatch(agent.kernel, *task, sa);
  if (r >= 0 && c.wake_addr != 0) {
    r += legacy_wake(c.wake_addr);
    if (c.wake_addr2 != 0) r += legacy_wake(c.wake_addr2);
  }
  return r;
}

// futex_waitv(2) on its own, out of line: its 128-entry scratch arrays (about 5 KB) then live on
// the stack only for this call, not for every futex call a guest thread with a small stack makes.
[[gnu::noinline]] long futex_waitv_call(Agent& agent, AgentThread& me, long nr,
                                        const long (&args)[6], FutexCall& c) noexcept {
  kernel::GuestMemory& memory = agent.memory;
  c.slot = kWaitvSlot;
  c.wait_type = true;
  const auto n = static_cast<std::uint64_t>(args[1]);
  // Served (Linux's EINVAL / EFAULT) unless every entry can be read and classified.
  if (n == 0 || n > 128 || args[2] != 0) return serve(agent, me, c, nr, args);
  WaitvEntry w[128];
  if (!memory.copy_in(static_cast<kernel::GuestAddr>(args[0]), w, n * sizeof w[0])) {
    return serve(agent, me, c, nr, args);
  }
  std::size_t shared = 0;
  for (std::uint64_t i = 0; i < n; ++i) shared += (w[i].flags & kFutex2Private) == 0;
  if (shared == n) {
    c.shared = true;
    return forward(me, c, nr, args);
  }
  if (shared == 0) return serve(agent, me, c, nr, args);
  // Mixed: served, with the shared words also slept on in the host.
  const std::uint32_t* words[128];
  std::uint32_t values[128];
  int indices[128];
  int k = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    if ((w[i].flags & kFutex2Private) != 0) continue;
    words[k] = reinterpret_cast<const std::uint32_t*>(w[i].uaddr);
    values[k] = static_cast<std::uint32_t>(w[i].val);
    indices[k] = static_cast<int>(i);
    ++k;
  }
  me.host_words = words;
  me.host_values = values;
  me.host_indices = indices;
  me.host_word_count = k;
  const long r = serve(agent, me, c, nr, args);
  me.host_word_count = 0;
  return r;
}

// Serves or forwards one call of the futex family; returns what goes into rax (possibly a
// restart code, which on_sigsys resolves) and describes the call in `c` for the stats.
long futex_family(Agent& agent, AgentThread& me, long nr, const long (&args)[6],
                  FutexCall& c) noexcept {
  kernel::GuestMemory& memory = agent.memory;
  switch (nr) {
    case SYS_futex:
      c = classify_futex(static_cast<int>(args[1]), args);
      break;
    case kSysFutexWake:
      c.slot = kFutexWakeSlot;
      c.shared = (args[3] & kFutex2Private) == 0;
      c.wake_type = true;
      c.wake_addr = args[0];
      break;
    case kSysFutexWait:
      c.slot = kFutexWaitSlot;
      c.shared = (args[3] & kFutex2Private) == 0;
      c.wait_type = true;
      break;
    case kSysFutexRequeue: {
      c.slot = kFutexRequeueSlot;
      c.wake_type = true;
      WaitvEntry w[2];
      // Unreadable: served, which answers EFAULT as Linux does.
      if (!memory.copy_in(static_cast<kernel::GuestAddr>(args[0]), w, sizeof w)) break;
      const bool p0 = (w[0].flags & kFutex2Private) != 0;
      const bool p1 = (w[1].flags & kFutex2Private) != 0;
      c.shared = !p0 && !p1;  // mixed: served (EINVAL)
      c.wake_addr = w[0].uaddr;
      break;
    }
    case SYS_futex_waitv:
      return futex_waitv_call(agent, me, nr, args, c);
    default:
      return -ENOSYS;
  }
  return c.shared ? forward(me, c, nr, args) : serve(agent, me, c, nr, args);
}

void count(OpCounters& counters, const FutexCall& c, bool served, long r) noexcept {
  RunStatsPage::add(served ? counters.served : counters.forwarded);
  if (c.wait_type && (r >= 0 || r == -ETIMEDOUT || r == -EINTR)) RunStatsPage::add(counters.waits);
  if (r == -ETIMEDOUT) RunStatsPage::add(counters.timeouts);
  if (r == -EINTR) RunStatsPage::add(counters.eintr);
  if (c.wake_type && r > 0) RunStatsPage::add(counters.woken, static_cast<std::uint64_t>(r));
}

bool is_restart_code(long r) noexcept {
  return r == -static_cast<long>(kernel::Errno::kERESTARTSYS) ||
         r == -static_cast<long>(kernel::Errno::kERESTARTNOINTR) ||
         r == -static_cast<long>(kernel::Errno::kERESTARTNOHAND) ||
         r == -static_cast<long>(kernel::Errno::kERESTART_RESTARTBLOCK);
}

long issue_exec(long nr, const long (&args)[6]) noexcept {
  // With the guest's mask open (the new image inherits the mask), and interruptible like any
  // forwarded call: a signal before it is deferred and the execve issued again afterwards.
  return forward_in_window(t_agent, nr, args);
}

void on_sigsys(int /*sig*/, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  const int saved_errno = errno;
  Agent* agent = g_agent;
  const long nr = info->si_syscall;
  bool ours = false;
  for (const std::uint32_t t : trapped_syscalls()) ours |= static_cast<long>(t) == nr;
  constexpr int kSysSeccomp = 1;  // si_code of a seccomp SECCOMP_RET_TRAP (SYS_SECCOMP)
  if (info->si_code != kSysSeccomp || agent == nullptr || !ours) {
    guest_signals().deliver_guest_sigsys(info, uc);
    errno = saved_errno;
    return;
  }
  check_fork(*agent);
  if (g_probing) g_probe_trapped = true;
  greg_t* regs = uc->uc_mcontext.gregs;
  const long args[6] = {regs[REG_RDI], regs[REG_RSI], regs[REG_RDX],
                        regs[REG_R10], regs[REG_R8],  regs[REG_R9]};
  AgentThread& me = t_agent;
  me.guest_mask = frame_mask(uc);
  me.has_deferred = false;
  me.host_woken_index = -1;

  long rax;
  bool futex_call = false;
  FutexCall call;
  switch (nr) {
    case SYS_exit:
    case SYS_exit_group:
      // Recorded (not from a vfork child, which would write into its parent's slot), then
      // issued: neither returns.
      if (agent->trace.valid() && !in_vfork_child(*agent)) trace_end(*agent, me, nr, args[0]);
      host_syscall(nr, args[0]);
      __builtin_unreachable();
    case SYS_rt_sigaction:
      rax = guest_signals().rt_sigaction(static_cast<int>(args[0]), args[1], args[2],
                                         static_cast<std::uint64_t>(args[3]),
                                         in_vfork_child(*agent));
      break;
    case SYS_rt_sigprocmask:
      rax = guest_signals().rt_sigprocmask(uc, static_cast<int>(args[0]), args[1], args[2],
                                           static_cast<std::uint64_t>(args[3]),
                                           in_vfork_child(*agent));
      break;
    case SYS_execve:
    case SYS_execveat: {
      const bool at = nr == SYS_execveat;
      bool refused = false;
      rax = guarded_exec(agent->exec_config, agent->memory, nr,
                         at ? static_cast<int>(args[0]) : AT_FDCWD, at ? args[1] : args[0],
                         at ? args[2] : args[1], at ? args[3] : args[2],
                         at ? static_cast<int>(args[4]) : 0, &issue_exec, &refused);
      if (refused) RunStatsPage::add(agent->stats->exec_refused);
      break;
    }
    default:
      futex_call = true;
      if (agent->trace.valid()) trace_entry(*agent, me, nr, args);
      rax = futex_family(*agent, me, nr, args, call);
      break;
  }
  const long raw_rax = rax;  // before the restart rules: what strace shows for this attempt

  bool restart = rax == kForwardNotRun;
  if (is_restart_code(rax)) {
    if (me.host_woken_index >= 0) {
      rax = me.host_woken_index;  // a shared word of a mixed futex_waitv woke
    } else if (me.has_deferred) {
      const KernelSigaction a = guest_signals().action(me.deferred_signo);
      const bool handler = a.handler > 1;
      const syscalls::RestartDecision d =
          syscalls::apply_restart_rules(rax, handler, (a.flags & SA_RESTART) != 0);
      // kRestartSyscall needs no handler, and only signals with a handler are deferred.
      restart = d.action != syscalls::RestartAction::kReturn;
      rax = d.rax;
    } else {
      rax = -EINTR;
    }
  }
  if ((me.has_deferred || me.host_woken_index >= 0) && me.task != nullptr) {
    me.task->clear_interrupt();
  }
  if (futex_call && !restart) {
    count(agent->stats->ops[call.slot], call, !call.shared, rax);
  }
  if (futex_call && agent->trace.valid()) {
    // A forwarded call a signal stopped before it ran never happened (it is issued again).
    const std::uint16_t flags = static_cast<std::uint16_t>(
        (call.shared ? 0 : kTraceServed) | (raw_rax == kForwardNotRun ? kTraceNotRun : 0));
    trace_exit(*agent, me, nr, flags, restart ? raw_rax : rax);
  }
  if (restart) {
    regs[REG_RIP] -= 2;  // back onto the guest's `syscall`, which traps again
    regs[REG_RAX] = nr;
  } else {
    regs[REG_RAX] = rax;
  }
  errno = saved_errno;
}

[[noreturn]] void fail(const char* what, long error) {
  std::fprintf(stderr, "futexbox agent: %s: %s\n", what, std::strerror(static_cast<int>(-error)));
  _exit(127);
}

__attribute__((constructor(101))) void agent_init() {
  auto memory = std::make_shared<kernel::HostGuestMemory>(
      kernel::HostGuestMemory::FaultHandler::kEmbedderCalls);
  Agent* agent = new (g_agent_storage) Agent(std::move(memory));
  agent->pid.store(static_cast<pid_t>(getpid()), std::memory_order_relaxed);
  agent->kernel.set_host_task_oracle(&host_task_exists);
  if (!agent->tasks.init()) fail("reserving the task pool", -errno);
  // First, before any raw syscall: every image of the guest puts the gadget at the same address,
  // so the filter an earlier image installed (it survives exec) lets this one's calls through.
  if (const long r = sync::relocate_syscall_gadget(kGadgetAddress); r != 0) {
    fail("mapping the syscall gadget at its fixed address", r);
  }
  init_windows(agent->memory);

  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&agent_init), &self) == 0 || self.dli_fname == nullptr ||
      realpath(self.dli_fname, agent->agent_path) == nullptr) {
    fail("finding the agent's own path", -ENOENT);
  }
  if (const char* trace = std::getenv("FUTEXBOX_AGENT_TRACE"); trace != nullptr && *trace != '\0') {
    agent->trace = TraceFile::attach(trace);
    if (!agent->trace.valid()) fail("mapping the trace file named by FUTEXBOX_AGENT_TRACE", -EINVAL);
    agent->trace.keep_mapped();  // threads record until the very end
    if ((agent->trace.record() & kTraceWaits) != 0) agent->kernel.set_tracer(&g_agent_tracer);
  }
  if (const char* stats = std::getenv("FUTEXBOX_AGENT_STATS"); stats != nullptr && *stats != '\0') {
    if (std::strlen(stats) >= sizeof agent->stats_path) fail("FUTEXBOX_AGENT_STATS", -ENAMETOOLONG);
    std::strcpy(agent->stats_path, stats);
    agent->stats = RunStatsFile::attach(stats).release();
    if (agent->stats == nullptr) fail("mapping the stats page named by FUTEXBOX_AGENT_STATS", -EINVAL);
  } else {
    agent->stats = &g_private_stats;
  }

  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) fail("mapping the fork sentinel", -errno);
  if (madvise(page, 4096, MADV_WIPEONFORK) != 0) fail("MADV_WIPEONFORK", -errno);
  g_fork_sentinel = new (page) std::atomic<std::uint32_t>(1);

  legacy_init();
  if (!guest_signals().init(&on_sigsys, agent->memory)) fail("installing signal handlers", -EINVAL);
  sync::set_park_sleep_hooks(&sleep_hooks());
  g_agent = agent;
  // An image exec'd by a guest already runs under the filter. Ask it: a trapped call made from
  // outside the gadget reaches on_sigsys, which notes it. Only without one is a filter installed
  // (stacking a copy per exec would only slow every trap down).
  std::uint64_t mask = 0;
  g_probing = true;
  syscall(SYS_rt_sigprocmask, SIG_BLOCK, nullptr, &mask, sizeof mask);
  g_probing = false;
  if (!g_probe_trapped) {
    if (const long r =
            install_seccomp_filter(sync::syscall_gadget_begin(), sync::syscall_gadget_end());
        r != 0) {
      fail("installing the seccomp filter", r > 0 ? -EAGAIN : r);
    }
  }
  RunStatsPage::add(agent->stats->processes);
}

}  // namespace
}  // namespace futexbox::tools::agent
