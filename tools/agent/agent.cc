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
// What is served and what is forwarded: private keys here, shared keys in the host
// (futex_routing.h). What is recorded for futexbox trace and run's deadlock watch: recording.h.
//
// The agent's files, and which of them run inside the guest's SIGSYS handler (all but the
// constructor's parts do, so they follow the rules below):
//   agent.cc           the constructor (agent_init) and the SIGSYS entry (on_sigsys), fork checks
//   agent_stack.h      the per-thread stack the handler does its work on
//   temporary_masks.h  sigsuspend, ppoll, pselect6, epoll_pwait(2): issued with SIGSYS open
//   futex_routing.h    serve or forward a futex-family call; the run counters
//   recording.h        the trace file's records
//   legacy_waiters.h   threads that slept in the host before the filter existed
//   guest_signals.h    the guest's signal actions and mask; the entry every guest handler runs through
//   signal_windows.h   the two stretches where the guest's signals are open, and deferral
//   task_pool.h        kernel::Tasks for host threads, without malloc
//   exec_guard.h       execve: refuse what cannot load the agent, carry the agent's environment
//   seccomp_filter.h   the BPF filter (constructor only)
//   agent_state.h, agent_thread.h   process-wide and per-thread state
//
// Why this is safe to do in a signal handler.
// - Nothing here calls malloc or takes a lock a guest thread could hold: tasks come from a pool
//   carved out of one mapping (task_pool.h), the kernel and table were built by the constructor,
//   the parking lot's memory is its own mmap'd table and TLS, and every syscall is raw.
// - The handler runs with all maskable signals blocked except the synchronous fault signals
//   (guest_signals.h: kHandlerMask), so no guest handler can run on top of a half-done operation
//   (the lot is not reentrant). The guest's mask is opened only while a call sleeps (signal_windows.h),
//   and a signal that lands then is deferred to the call's return, as Linux delivers it.
// - Guest memory is accessed through HostGuestMemory's fault-tolerant accessors: a bad pointer is
//   EFAULT, never a crash.
// - Threads that existed before the filter may already sleep in the host on a private word:
//   legacy_waiters.h.
// - fork: glibc's fork runs the parking lot's handlers; a raw fork does not, so a MADV_WIPEONFORK
//   page tells a child apart from its parent on its first trap, and the child forgets every waiter
//   and task of the parent's threads then (a vfork child shares our memory and resets nothing).
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "abi/errno.h"
#include "abi/signal.h"
#include "abi/syscall_numbers.h"
#include "kernel/host_guest_memory.h"
#include "sync/host_syscall.h"
#include "sync/parking_lot.h"
#include "sync/sharded_wait.h"
#include "syscalls/futex_call.h"
#include "syscalls/restart.h"
#include "tools/agent/agent_stack.h"
#include "tools/agent/audit/bootstrap_layout.h"
#include "tools/agent/agent_state.h"
#include "tools/agent/agent_thread.h"
#include "tools/agent/exec_guard.h"
#include "tools/agent/futex_routing.h"
#include "tools/agent/guest_signals.h"
#include "tools/agent/legacy_waiters.h"
#include "tools/agent/recording.h"
#include "tools/agent/seccomp_filter.h"
#include "tools/agent/signal_windows.h"
#include "tools/agent/task_pool.h"
#include "tools/agent/temporary_masks.h"
#include "tools/agent/trapped_calls.h"
#include "tools/protocol/agent_env.h"
#include "tools/protocol/run_stats.h"
#include "tools/protocol/trace_file.h"

namespace futexbox::tools::agent {

__attribute__((tls_model("initial-exec"))) thread_local AgentThread t_agent;
Agent* g_agent = nullptr;
std::atomic<std::uint64_t> g_generation{1};

bool in_vfork_child(const Agent& agent) noexcept {
  return sync::host_syscall(abi::kSysGetpid) != agent.pid.load(std::memory_order_relaxed);
}

namespace {

using sync::host_syscall;

alignas(Agent) unsigned char g_agent_storage[sizeof(Agent)];
RunStatsPage g_private_stats;  // when futexbox run did not hand us a page
std::atomic<std::uint32_t>* g_fork_sentinel = nullptr;  // 1 in the process that set it, 0 after fork
volatile bool g_probing = false;
volatile bool g_probe_trapped = false;

// The guest's SIGSYS action as the audit module kept it, if this image was started through it
// (it set one before the agent ran); SIG_DFL otherwise.
abi::sig::SigAction sigsys_set_before_agent() {
  // msync tells whether the state page is mapped without touching it.
  void* page = reinterpret_cast<void*>(bootstrap::kStateAddress);
  if (msync(page, bootstrap::kPage, MS_ASYNC) != 0) return {};
  const auto& state = *static_cast<const bootstrap::BootstrapState*>(page);
  return state.magic == bootstrap::kMagic ? state.guest_sigsys : abi::sig::SigAction{};
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
    agent.pid.store(static_cast<pid_t>(host_syscall(abi::kSysGetpid)), std::memory_order_relaxed);
    legacy_reset_after_fork();
    g_generation.fetch_add(1, std::memory_order_acq_rel);
    RunStatsPage::add(agent.stats->processes);
    sentinel.store(1, std::memory_order_release);
    return;
  }
  while (sentinel.load(std::memory_order_acquire) != 1) __builtin_ia32_pause();
}

long issue_exec(long nr, const long (&args)[6]) noexcept {
  // With the guest's mask open (the new image inherits the mask), and interruptible like any
  // forwarded call: a signal before it is deferred and the execve issued again afterwards. From a
  // vfork child the window is marked as the child's, so that the parent's thread, whose TLS this
  // is, does not take it for its own once the exec has succeeded (GuestSignals::entry).
  AgentThread& me = t_agent;
  me.window_pid = in_vfork_child(*g_agent) ? static_cast<pid_t>(host_syscall(abi::kSysGetpid)) : 0;
  const long r = forward_in_window(me, nr, args);
  me.window_pid = 0;
  return r;
}

// One trapped call, as on_sigsys hands it to serve_trap on the agent stack.
struct Trap {
  Agent* agent;
  ucontext_t* uc;
  long nr;
  // The agent stack to make the thread's sigaltstack while the call is served (null: none).
  char* altstack_top;
};

// Serves the trapped call and writes its outcome into the SIGSYS frame: the result into rax, or
// rip rewound onto the guest's `syscall` to have it issued again (how Linux restarts a syscall).
// Runs on the thread's agent stack (agent_stack.h).
void serve_trap(void* p) {
  const Trap& trap = *static_cast<const Trap*>(p);
  if (trap.altstack_top != nullptr) use_as_sigaltstack(trap.altstack_top);
  Agent* agent = trap.agent;
  ucontext_t* uc = trap.uc;
  const long nr = trap.nr;
  greg_t* regs = uc->uc_mcontext.gregs;
  const long args[6] = {regs[REG_RDI], regs[REG_RSI], regs[REG_RDX],
                        regs[REG_R10], regs[REG_R8],  regs[REG_R9]};
  AgentThread& me = t_agent;
  me.guest_mask = frame_mask(uc);
  me.has_deferred = false;
  me.host_woken_index = -1;

  long rax;
  syscalls::FutexCall call;  // call.family: a futex-family call
  switch (nr) {
    case abi::kSysRtSigaction:
      rax = guest_signals().rt_sigaction(static_cast<int>(args[0]), args[1], args[2],
                                         static_cast<std::uint64_t>(args[3]),
                                         in_vfork_child(*agent));
      break;
    case abi::kSysRtSigprocmask:
      rax = guest_signals().rt_sigprocmask(uc, static_cast<int>(args[0]), args[1], args[2],
                                           static_cast<std::uint64_t>(args[3]),
                                           in_vfork_child(*agent));
      break;
    case abi::kSysExecve:
    case abi::kSysExecveat: {
      const bool at = nr == abi::kSysExecveat;
      bool refused = false;
      rax = guarded_exec(agent->exec_config, agent->memory, nr,
                         at ? static_cast<int>(args[0]) : AT_FDCWD, at ? args[1] : args[0],
                         at ? args[2] : args[1], at ? args[3] : args[2],
                         at ? static_cast<int>(args[4]) : 0, &issue_exec, &refused);
      if (refused) RunStatsPage::add(agent->stats->exec_refused);
      break;
    }
    default: {
      const std::uint64_t regs6[6] = {static_cast<std::uint64_t>(args[0]), static_cast<std::uint64_t>(args[1]),
                                      static_cast<std::uint64_t>(args[2]), static_cast<std::uint64_t>(args[3]),
                                      static_cast<std::uint64_t>(args[4]), static_cast<std::uint64_t>(args[5])};
      call = syscalls::describe_futex_call(static_cast<std::uint64_t>(nr), regs6);
      rax = route_futex_call(*agent, me, call, args);
      break;
    }
  }
  const long raw_rax = rax;  // before the restart rules: what strace shows for this attempt

  bool restart = rax == kForwardNotRun;
  if (abi::is_restart_code(rax)) {
    if (me.host_woken_index >= 0) {
      rax = me.host_woken_index;  // a shared word of a mixed futex_waitv woke
    } else if (me.has_deferred) {
      const abi::sig::SigAction a = guest_signals().action(me.deferred_signo);
      const bool handler = a.handler > abi::sig::kSigIgn;
      const syscalls::RestartDecision d =
          syscalls::apply_restart_rules(rax, handler, (a.flags & abi::sig::kSaRestart) != 0);
      // kRestartSyscall needs no handler, and only signals with a handler are deferred.
      restart = d.action != syscalls::RestartAction::kReturn;
      rax = d.rax;
    } else {
      rax = abi::negated(abi::Errno::kEINTR);
    }
  }
  if ((me.has_deferred || me.host_woken_index >= 0) && me.task != nullptr) {
    me.task->clear_interrupt();
  }
  if (call.family && !restart) count_futex_call(*agent, call, rax);
  if (call.family && agent->trace.valid()) {
    // A forwarded call a signal stopped before it ran never happened (it is issued again).
    const std::uint16_t flags = static_cast<std::uint16_t>(
        (call.is_shared() ? 0 : kTraceServed) | (raw_rax == kForwardNotRun ? kTraceNotRun : 0));
    record_exit(*agent, me, call, flags, restart ? raw_rax : rax);
  }
  if (restart) {
    regs[REG_RIP] -= 2;  // back onto the guest's `syscall`, which traps again
    regs[REG_RAX] = nr;
  } else {
    regs[REG_RAX] = rax;
  }
}

// exit(2) and exit_group(2): recorded (not from a vfork child, which would write into its
// parent's slot), then issued; neither returns. On the frame's stack, not the agent stack: exit
// gives the thread's slot, and with it that stack, to the next thread that claims it.
[[noreturn]] void serve_exit(Agent& agent, long nr, long status) {
  AgentThread& me = t_agent;
  const bool vfork_child = in_vfork_child(agent);
  if (agent.trace.valid() && !vfork_child) record_end(agent, me, nr, status);
  // A thread ending: out of the lot's thread registry now, whether or not its TLS destructor
  // already did it (a served wait during glibc's teardown registers it again). Its task-pool
  // slot is free again too.
  if (nr == abi::kSysExit && !vfork_child) {
    sync::parking_lot::forget_exiting_thread();
    if (me.task != nullptr && me.generation == g_generation.load(std::memory_order_acquire)) {
      agent.tasks.release(*me.task);
      me.task = nullptr;
    }
  }
  host_syscall(nr, status);
  __builtin_unreachable();
}

// The SIGSYS entry, on the stack the kernel chose for the frame. Kept small: the frame is all
// of the guest's stack a served call may take (agent_stack.h).
void on_sigsys(int /*sig*/, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  const int saved_errno = errno;
  Agent* agent = g_agent;
  const long nr = info->si_syscall;
  if (info->si_code != abi::sig::kSysSeccomp || agent == nullptr || !is_trapped_call(nr)) {
    guest_signals().deliver_guest_sigsys(info, uc);
    errno = saved_errno;
    return;
  }
  check_fork(*agent);
  if (g_probing) g_probe_trapped = true;
  if (nr == abi::kSysExit || nr == abi::kSysExitGroup) {
    serve_exit(*agent, nr, uc->uc_mcontext.gregs[REG_RDI]);
  }
  if (is_temporary_mask_call(nr)) issue_with_sigsys_open(agent->memory, uc, info, nr, saved_errno);
  AgentThread& me = t_agent;
  // The thread's task, and with it its agent stack. A vfork child uses its parent thread's (it
  // runs on that thread's TLS) and never claims one of its own, which would be the parent's then.
  kernel::Task* task = me.task;
  if (task == nullptr || me.generation != g_generation.load(std::memory_order_acquire)) {
    task = in_vfork_child(*agent) ? nullptr : current_task(*agent, me);
  }
  char* top = task != nullptr ? TaskPool::stack_top(*task) : nullptr;
  // A guest with a sigaltstack of its own has this frame on it; see agent_stack.h for why the
  // agent stack stands in for it while the call is served.
  const bool guest_altstack = (uc->uc_stack.ss_flags & SS_DISABLE) == 0;
  Trap trap{agent, uc, nr, guest_altstack ? top : nullptr};
  if (top != nullptr) {
    run_on_agent_stack(top, &serve_trap, &trap);
  } else {
    serve_trap(&trap);  // no stack could be mapped: on the frame's stack, as before
  }
  errno = saved_errno;
}

[[noreturn]] void fail(const char* what, long error) {
  std::fprintf(stderr, "futexbox agent: %s: %s\n", what, std::strerror(static_cast<int>(-error)));
  _exit(127);
}

// Copies the agent_env variable `name` into `out` (PATH_MAX bytes); "" if unset.
void take_variable(const char* name, char* out) {
  const char* value = std::getenv(name);
  if (value == nullptr) return;
  if (std::strlen(value) >= PATH_MAX) fail(name, abi::negated(abi::Errno::kENAMETOOLONG));
  std::strcpy(out, value);
}

__attribute__((constructor(101))) void agent_init() {
  auto memory = std::make_shared<kernel::HostGuestMemory>(
      kernel::HostGuestMemory::FaultHandler::kEmbedderCalls);
  Agent* agent = new (g_agent_storage) Agent(std::move(memory));
  agent->pid.store(static_cast<pid_t>(getpid()), std::memory_order_relaxed);
  if (!agent->tasks.init()) fail("reserving the task pool", -errno);
  // First, before any raw syscall: every image of the guest puts the gadget at the same address,
  // so the filter an earlier image installed (it survives exec) lets this one's calls through.
  if (const long r = sync::relocate_syscall_gadget(bootstrap::kGadgetAddress); r != 0) {
    fail("mapping the syscall gadget at its fixed address", r);
  }
  if (sync::syscall_gadget_end() > bootstrap::kStubAddress) {
    fail("fitting the syscall gadget into its page", abi::negated(abi::Errno::kE2BIG));
  }
  init_windows(agent->memory);

  Dl_info self{};
  if (dladdr(reinterpret_cast<void*>(&agent_init), &self) == 0 || self.dli_fname == nullptr ||
      realpath(self.dli_fname, agent->agent_path) == nullptr) {
    fail("finding the agent's own path", abi::negated(abi::Errno::kENOENT));
  }
  agent->exec_config.agent_path = agent->agent_path;
  if (const char* slash = std::strrchr(agent->agent_path, '/'); slash != nullptr) {
    const auto dir = static_cast<std::size_t>(slash - agent->agent_path + 1);
    if (dir + sizeof agent_env::kAuditLibraryName <= sizeof agent->audit_path) {
      std::memcpy(agent->audit_path, agent->agent_path, dir);
      std::memcpy(agent->audit_path + dir, agent_env::kAuditLibraryName,
                  sizeof agent_env::kAuditLibraryName);
      if (access(agent->audit_path, R_OK) != 0) agent->audit_path[0] = '\0';
    }
  }
  agent->exec_config.audit_path = agent->audit_path;
  for (int i = 0; i < agent_env::kCarriedCount; ++i) {
    take_variable(agent_env::kCarried[i], agent->carried[i]);
    agent->exec_config.carried[i] = agent->carried[i];
  }
  static_assert(agent_env::kCarried[0] == agent_env::kStats && agent_env::kCarried[1] == agent_env::kTrace);
  const char* trace = agent->carried[1];
  if (*trace != '\0') {
    agent->trace = TraceFile::attach(trace);
    if (!agent->trace.valid()) fail("mapping the trace file named by FUTEXBOX_AGENT_TRACE", abi::negated(abi::Errno::kEINVAL));
    agent->trace.keep_mapped();  // threads record until the very end
    if ((agent->trace.record() & kTraceWaits) != 0) agent->futexes.set_tracer(&recording_tracer());
  }
  const char* stats = agent->carried[0];
  if (*stats != '\0') {
    agent->stats = RunStatsFile::attach(stats).release();
    if (agent->stats == nullptr) fail("mapping the stats page named by FUTEXBOX_AGENT_STATS", abi::negated(abi::Errno::kEINVAL));
  } else {
    agent->stats = &g_private_stats;
  }

  // Raw calls, not glibc's: a sanitizer's interceptors must not see the agent's own mappings.
  const long mapped = host_syscall(SYS_mmap, nullptr, 4096, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped < 0 && mapped > -4096) fail("mapping the fork sentinel", mapped);
  void* page = reinterpret_cast<void*>(mapped);
  if (const long r = host_syscall(SYS_madvise, page, 4096, MADV_WIPEONFORK); r != 0) {
    fail("MADV_WIPEONFORK", r);
  }
  g_fork_sentinel = new (page) std::atomic<std::uint32_t>(1);

  legacy_init();
  if (!guest_signals().init(&on_sigsys, agent->memory, sigsys_set_before_agent())) fail("installing signal handlers", abi::negated(abi::Errno::kEINVAL));
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
            install_seccomp_filter(bootstrap::kGadgetAddress, bootstrap::kTrustedEnd);
        r != 0) {
      fail("installing the seccomp filter", r > 0 ? abi::negated(abi::Errno::kEAGAIN) : r);
    }
  }
  RunStatsPage::add(agent->stats->processes);
}

}  // namespace
}  // namespace futexbox::tools::agent
