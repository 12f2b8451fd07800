#include "kernel/signal_manager.h"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cassert>

#include <boost/container/small_vector.hpp>
#include <oneapi/tbb/concurrent_hash_map.h>

#include "kernel/task.h"
#include "sync/mutex.h"
#include "sync/parking_lot.h"

namespace futexbox::kernel {

using namespace abi::sig;  // NOLINT: the ABI's names are the vocabulary of this file

namespace {

// A pending set and its queue of siginfo (Linux's struct sigpending). A bit may be set without a
// queue entry: a signal generated beyond the queue limit that Linux keeps without its siginfo.
struct Pending {
  SigSet set = 0;
  boost::container::small_vector<SigInfo, 4> queue;
};

struct ThreadSignals;

struct ProcessSignals {
  ProcessSignals(pid_t p, std::uint32_t u) : pid(p), uid(u) {}
  const pid_t pid;
  const std::uint32_t uid;
  sync::Mutex siglock;
  std::array<SigAction, kNumSignals> actions FUTEXBOX_GUARDED_BY(siglock){};
  Pending shared FUTEXBOX_GUARDED_BY(siglock);
  // Oldest first.
  boost::container::small_vector<std::shared_ptr<ThreadSignals>, 4> threads
      FUTEXBOX_GUARDED_BY(siglock);
  std::size_t curr_target FUTEXBOX_GUARDED_BY(siglock) = 0;
  int group_exit_signal FUTEXBOX_GUARDED_BY(siglock) = 0;
};

struct ThreadSignals {
  ThreadSignals(Task& t, std::shared_ptr<ProcessSignals> p) : process(std::move(p)), task(&t) {}
  // Set at creation, never changed; the process's siglock guards everything else here.
  const std::shared_ptr<ProcessSignals> process;
  Task* task FUTEXBOX_GUARDED_BY(process->siglock);  // null once removed
  SigSet blocked FUTEXBOX_GUARDED_BY(process->siglock) = 0;
  // rt_sigtimedwait's saved mask while it waits.
  SigSet real_blocked FUTEXBOX_GUARDED_BY(process->siglock) = 0;
  // rt_sigsuspend / ppoll, restored by delivery.
  std::optional<SigSet> saved_mask FUTEXBOX_GUARDED_BY(process->siglock);
  Pending pending FUTEXBOX_GUARDED_BY(process->siglock);
  StackT altstack FUTEXBOX_GUARDED_BY(process->siglock){0, kSsDisable, 0, 0};
  // A group stop another thread started (Linux's JOBCTL_STOP_PENDING): the stop signal's number.
  int stop_pending FUTEXBOX_GUARDED_BY(process->siglock) = 0;
};

// `t` is one of `p`'s threads, so `p`'s siglock, held, is `t`'s too: tells the analysis, which
// cannot see that two ways of reaching one lock meet.
void same_siglock(const ProcessSignals& p, const ThreadSignals& t) noexcept
    FUTEXBOX_REQUIRES(p.siglock) FUTEXBOX_ASSERT_CAPABILITY(t.process->siglock) {
  assert(t.process.get() == &p);
  (void)p;
  (void)t;
}

using ProcessMap = tbb::concurrent_hash_map<pid_t, std::shared_ptr<ProcessSignals>,
                                            tbb::tbb_hash_compare<pid_t>,
                                            std::allocator<std::pair<const pid_t,
                                                                     std::shared_ptr<ProcessSignals>>>>;
using ThreadMap = tbb::concurrent_hash_map<pid_t, std::shared_ptr<ThreadSignals>,
                                           tbb::tbb_hash_compare<pid_t>,
                                           std::allocator<std::pair<const pid_t,
                                                                    std::shared_ptr<ThreadSignals>>>>;

bool handler_ignores(const SigAction& a, int sig) noexcept {
  return a.handler == kSigIgn ||
         (a.handler == kSigDfl && default_action(sig) == DefaultAction::kIgnore);
}

// sig_fatal(): delivering it would kill the process.
bool fatal(const ProcessSignals& p, int sig) noexcept FUTEXBOX_REQUIRES(p.siglock) {
  if (p.actions[static_cast<std::size_t>(sig - 1)].handler != kSigDfl) return false;
  const DefaultAction d = default_action(sig);
  return d == DefaultAction::kTerminate || d == DefaultAction::kCoreDump;
}

}  // namespace

struct SignalManager::State {
  // Held while processes are added or removed and while kill(-1) walks them: a concurrent_hash_map
  // may not be iterated while it changes.
  sync::Mutex membership;
  ProcessMap processes;
  ThreadMap threads;
  std::atomic<std::size_t> queued{0};
  std::atomic<std::size_t> limit{0};

  std::shared_ptr<ProcessSignals> find_process(pid_t pid) {
    ProcessMap::const_accessor a;
    return processes.find(a, pid) ? a->second : nullptr;
  }
  std::shared_ptr<ThreadSignals> find_thread(pid_t tid) {
    ThreadMap::const_accessor a;
    return threads.find(a, tid) ? a->second : nullptr;
  }
  // The calling task's thread state (exists for every task the kernel created).
  std::shared_ptr<ThreadSignals> self(Task& task) { return find_thread(task.tid()); }

  // ---- queues (siglock held)

  void discard(Pending& p, SigSet mask) {
    p.set &= ~mask;
    const auto before = p.queue.size();
    p.queue.erase(std::remove_if(p.queue.begin(), p.queue.end(),
                                 [&](const SigInfo& i) { return (sig_bit(i.signo) & mask) != 0; }),
                  p.queue.end());
    queued.fetch_sub(before - p.queue.size(), std::memory_order_relaxed);
  }

  void discard_everywhere(ProcessSignals& p, SigSet mask) FUTEXBOX_REQUIRES(p.siglock) {
    discard(p.shared, mask);
    for (auto& t : p.threads) {
      same_siglock(p, *t);
      discard(t->pending, mask);
    }
  }

  // next_signal(): synchronous signals first, then the lowest number.
  static int next_signal(const Pending& p, SigSet allowed) noexcept {
    const SigSet ready = p.set & allowed;
    if (ready == 0) return 0;
    const SigSet sync_ready = ready & kSynchronous;
    const SigSet pick = sync_ready != 0 ? sync_ready : ready;
    return std::countr_zero(pick) + 1;
  }

  // collect_signal(): the first queued siginfo of `sig`; the bit stays while more are queued.
  SigInfo take(Pending& p, int sig) {
    auto first = std::find_if(p.queue.begin(), p.queue.end(),
                              [&](const SigInfo& i) { return i.signo == sig; });
    SigInfo info;
    if (first == p.queue.end()) {
      // Queued without its siginfo (beyond the limit): Linux makes up a kill() from nobody.
      info = SigInfo::user(sig, kSiUser, 0, 0);
    } else {
      info = *first;
      p.queue.erase(first);
      queued.fetch_sub(1, std::memory_order_relaxed);
    }
    const bool more = std::any_of(p.queue.begin(), p.queue.end(),
                                  [&](const SigInfo& i) { return i.signo == sig; });
    if (!more) p.set &= ~sig_bit(sig);
    return info;
  }

  // dequeue_signal(): the thread's own queue first, then the process's.
  int dequeue(ThreadSignals& t, SigSet allowed, SigInfo& info) FUTEXBOX_REQUIRES(t.process->siglock) {
    int sig = next_signal(t.pending, allowed);
    if (sig != 0) {
      info = take(t.pending, sig);
      return sig;
    }
    sig = next_signal(t.process->shared, allowed);
    if (sig != 0) info = take(t.process->shared, sig);
    return sig;
  }

  // recalc_sigpending(): the task's "deliverable signal" flag follows its queues and mask.
  static bool deliverable(const ThreadSignals& t) noexcept FUTEXBOX_REQUIRES(t.process->siglock) {
    return t.process->group_exit_signal != 0 || t.stop_pending != 0 ||
           ((t.pending.set | t.process->shared.set) & ~t.blocked) != 0;
  }
  static void recalc(ThreadSignals& t) noexcept FUTEXBOX_REQUIRES(t.process->siglock) {
    if (t.task == nullptr) return;
    if (deliverable(t)) {
      if (!t.task->interrupt_pending()) t.task->interrupt();
    } else {
      t.task->clear_interrupt();
    }
  }

  // wants_signal(): a thread that can take `sig` now and has nothing else pending.
  static bool wants(const ThreadSignals& t, int sig) noexcept FUTEXBOX_REQUIRES(t.process->siglock) {
    if (t.task == nullptr || (t.blocked & sig_bit(sig)) != 0) return false;
    if (sig == kSigKill) return true;
    return !t.task->interrupt_pending();
  }

  // complete_signal(): picks the thread to wake for a signal just queued.
  static void complete(ProcessSignals& p, ThreadSignals* target, int sig, bool group)
      FUTEXBOX_REQUIRES(p.siglock) {
    ThreadSignals* t = nullptr;
    bool target_wants = false;
    if (target != nullptr) {
      same_siglock(p, *target);
      target_wants = wants(*target, sig);
    }
    if (target_wants) {
      t = target;
    } else if (!group || p.threads.size() <= 1) {
      return;  // it stays pending until the thread unblocks it
    } else {
      const std::size_t n = p.threads.size();
      std::size_t i = p.curr_target % n;
      for (std::size_t k = 0; k < n; ++k, i = (i + 1) % n) {
        same_siglock(p, *p.threads[i]);
        if (wants(*p.threads[i], sig)) {
          t = p.threads[i].get();
          break;
        }
      }
      if (t == nullptr) return;
      p.curr_target = i;
    }
    same_siglock(p, *t);
    if (fatal(p, sig) && p.group_exit_signal == 0 && (t->real_blocked & sig_bit(sig)) == 0 &&
        default_action(sig) != DefaultAction::kCoreDump) {
      // The whole group dies: every thread is woken to carry it out.
      p.group_exit_signal = sig;
      for (auto& each : p.threads) {
        same_siglock(p, *each);
        recalc(*each);
      }
      return;
    }
    recalc(*t);
  }

  // __send_signal_locked(): `target` is the thread named by the sender (for a process-directed
  // signal, the one whose id was used), `group` whether the process's queue takes it.
  ErrorOr<void> send_locked(ProcessSignals& p, ThreadSignals* target, int sig, const SigInfo& info,
                            bool group) FUTEXBOX_REQUIRES(p.siglock) {
    if (p.group_exit_signal != 0) return {};  // already dying
    // prepare_signal(): stop and continue signals cancel each other's pending instances.
    if ((sig_bit(sig) & kStopSignals) != 0) discard_everywhere(p, sig_bit(kSigCont));
    if (sig == kSigCont) {
      discard_everywhere(p, kStopSignals);
      for (auto& t : p.threads) {
        same_siglock(p, *t);
        if (t->stop_pending != 0) {
          t->stop_pending = 0;
          recalc(*t);
        }
      }
    }
    // sig_ignored(): blocked signals are kept (the action may change before they are unblocked).
    ThreadSignals* checked = target != nullptr ? target : p.threads.front().get();
    same_siglock(p, *checked);
    const bool blocked = ((checked->blocked | checked->real_blocked) & sig_bit(sig)) != 0;
    if (!blocked && handler_ignores(p.actions[static_cast<std::size_t>(sig - 1)], sig)) return {};

    Pending& pending = group ? p.shared : target->pending;
    // legacy_queue(): a standard signal already pending is not queued again.
    if (!is_realtime(sig) && (pending.set & sig_bit(sig)) != 0) return {};
    const bool override_limit = !is_realtime(sig) && info.code >= 0;
    if (override_limit || queued.load(std::memory_order_relaxed) < limit.load()) {
      queued.fetch_add(1, std::memory_order_relaxed);
      pending.queue.push_back(info);
    } else if (is_realtime(sig) && info.code != kSiUser) {
      return Errno::kEAGAIN;  // queue overflow, as sigqueue(3) documents
    }
    pending.set |= sig_bit(sig);
    complete(p, target, sig, group);
    return {};
  }

  ErrorOr<void> send(const std::shared_ptr<ProcessSignals>& p, ThreadSignals* target, int sig,
                     const SigInfo& info, bool group) {
    if (sig == 0) return {};
    sync::MutexLock lock(p->siglock);
    if (target != nullptr) {
      same_siglock(*p, *target);
      if (target->task == nullptr) return {};  // exited meanwhile
    }
    return send_locked(*p, target, sig, info, group);
  }

  // Process-directed: to the process of thread `id` (a thread's id names its whole process).
  ErrorOr<void> send_to_process(pid_t id, int sig, const SigInfo& info) {
    std::shared_ptr<ThreadSignals> named = find_thread(id);
    if (named == nullptr) return Errno::kESRCH;
    if (!valid_signal(sig) && sig != 0) return Errno::kEINVAL;
    return send(named->process, named.get(), sig, info, /*group=*/true);
  }

  // do_send_specific(): thread-directed, with the tgid check (tgid <= 0: any process).
  ErrorOr<void> send_to_thread(pid_t tgid, pid_t tid, int sig, const SigInfo& info) {
    std::shared_ptr<ThreadSignals> t = find_thread(tid);
    if (t == nullptr || (tgid > 0 && t->process->pid != tgid)) return Errno::kESRCH;
    if (!valid_signal(sig) && sig != 0) return Errno::kEINVAL;
    return send(t->process, t.get(), sig, info, /*group=*/false);
  }

  // retarget_shared_pending(): signals of the process's queue that `t` now blocks go to a thread
  // that does not.
  static void retarget(ProcessSignals& p, ThreadSignals& t, SigSet newly_blocked)
      FUTEXBOX_REQUIRES(p.siglock) {
    SigSet left = p.shared.set & newly_blocked;
    for (auto& other : p.threads) {
      if (left == 0) break;
      same_siglock(p, *other);
      if (other.get() == &t || other->task == nullptr) continue;
      const SigSet takes = left & ~other->blocked;
      if (takes != 0 && !other->task->interrupt_pending()) {
        left &= ~takes;
        recalc(*other);
      }
    }
  }

  // Sleeps until a deliverable signal is flagged for `task` (true) or the deadline passes.
  static bool sleep_until_signal(Task& task, const ThreadSignals& t,
                                 const sync::Deadline& deadline) {
    const auto key = reinterpret_cast<sync::ParkKey>(&t);
    for (;;) {
      const sync::ParkResult r = sync::parking_lot::park(
          key, [&] { return !task.interrupt_pending(); }, [] {}, [](sync::ParkKey, bool) {},
          sync::kDefaultParkToken, deadline, /*interruptible=*/true);
      if (task.interrupt_pending()) return true;
      if (r.status == sync::ParkStatus::kTimedOut) return false;
      // A stale poke: sleep again.
    }
  }
};

SignalManager::SignalManager() : state_(std::make_unique<State>()) {
  rlimit r{};
  state_->limit = getrlimit(RLIMIT_SIGPENDING, &r) == 0 && r.rlim_cur != RLIM_INFINITY
                      ? static_cast<std::size_t>(r.rlim_cur)
                      : std::size_t{1} << 20;
}
SignalManager::~SignalManager() {
  // A process and its threads point at each other (a thread's state keeps its process alive for
  // senders that hold only the thread); remove_thread breaks that cycle, and so must the end of
  // the manager for processes whose tasks the embedder never removed.
  for (auto& [pid, p] : state_->processes) {
    sync::MutexLock lock(p->siglock);
    for (auto& t : p->threads) t->task = nullptr;
    p->threads.clear();
  }
}

void SignalManager::add_process(Task& first, std::uint32_t uid) {
  auto p = std::make_shared<ProcessSignals>(first.process().pid(), uid);
  auto t = std::make_shared<ThreadSignals>(first, p);
  {
    sync::MutexLock lock(p->siglock);  // nobody else can see p yet; the analysis cannot tell
    p->threads.push_back(t);
  }
  sync::MutexLock lock(state_->membership);
  state_->processes.insert({p->pid, p});
  state_->threads.insert({first.tid(), t});
}

void SignalManager::add_thread(Task& task, SigSet mask) {
  std::shared_ptr<ProcessSignals> p = state_->find_process(task.process().pid());
  if (p == nullptr) return;  // a process the embedder did not create through the kernel
  auto t = std::make_shared<ThreadSignals>(task, p);
  {
    sync::MutexLock lock(p->siglock);
    same_siglock(*p, *t);
    t->blocked = mask & ~kUnblockable;
    p->threads.push_back(t);
  }
  state_->threads.insert({task.tid(), t});
}

void SignalManager::remove_thread(Task& task) {
  std::shared_ptr<ThreadSignals> t = state_->find_thread(task.tid());
  if (t == nullptr) return;
  const std::shared_ptr<ProcessSignals> p = t->process;
  {
    sync::MutexLock lock(p->siglock);
    same_siglock(*p, *t);
    if (t->task != &task) return;  // an earlier task's entry under a reused tid
  }
  state_->threads.erase(task.tid());
  bool last = false;
  {
    sync::MutexLock lock(p->siglock);
    same_siglock(*p, *t);
    t->task = nullptr;
    state_->discard(t->pending, ~SigSet{0});
    p->threads.erase(std::remove(p->threads.begin(), p->threads.end(), t), p->threads.end());
    if (p->threads.empty()) {
      last = true;
      state_->discard(p->shared, ~SigSet{0});
    } else if (p->shared.set != 0) {
      // Process-directed signals this thread was going to take go to another.
      for (auto& other : p->threads) {
        same_siglock(*p, *other);
        State::recalc(*other);
      }
    }
  }
  if (last) {
    sync::MutexLock lock(state_->membership);
    state_->processes.erase(p->pid);
  }
}

std::size_t SignalManager::process_count() const { return state_->processes.size(); }
std::size_t SignalManager::thread_count() const { return state_->threads.size(); }
std::size_t SignalManager::queued_count() const noexcept { return state_->queued.load(); }
void SignalManager::set_queue_limit(std::size_t limit) noexcept { state_->limit = limit; }

ErrorOr<void> SignalManager::set_action(Task& task, int sig, const SigAction* act, SigAction* old) {
  if (!valid_signal(sig) || (act != nullptr && (sig == kSigKill || sig == kSigStop))) {
    return Errno::kEINVAL;
  }
  std::shared_ptr<ThreadSignals> self = state_->self(task);
  if (self == nullptr) return Errno::kESRCH;
  ProcessSignals& p = *self->process;
  sync::MutexLock lock(p.siglock);
  same_siglock(p, *self);
  SigAction& slot = p.actions[static_cast<std::size_t>(sig - 1)];
  if (old != nullptr) {
    *old = slot;
    old->flags &= kSaKnownFlags;
  }
  if (act != nullptr) {
    slot = *act;
    slot.flags &= kSaKnownFlags;
    slot.mask &= ~kUnblockable;
    // POSIX: setting a pending signal's action to ignore discards it, even when blocked.
    if (handler_ignores(slot, sig)) {
      state_->discard_everywhere(p, sig_bit(sig));
      for (auto& t : p.threads) {
        same_siglock(p, *t);
        State::recalc(*t);
      }
    }
  }
  return {};
}

ErrorOr<void> SignalManager::change_mask(Task& task, int how, const SigSet* set, SigSet* old) {
  std::shared_ptr<ThreadSignals> self = state_->self(task);
  if (self == nullptr) return Errno::kESRCH;
  ProcessSignals& p = *self->process;
  sync::MutexLock lock(p.siglock);
  same_siglock(p, *self);
  const SigSet before = self->blocked;
  if (set != nullptr) {
    const SigSet s = *set & ~kUnblockable;
    SigSet next = 0;
    switch (how) {
      case kSigBlock:
        next = before | s;
        break;
      case kSigUnblock:
        next = before & ~s;
        break;
      case kSigSetmask:
        next = s;
        break;
      default:
        return Errno::kEINVAL;
    }
    const SigSet newly_blocked = next & ~before;
    self->blocked = next;
    if (newly_blocked != 0) State::retarget(p, *self, newly_blocked);
    State::recalc(*self);
  }
  if (old != nullptr) *old = before;
  return {};
}

SigSet SignalManager::mask(Task& task) {
  std::shared_ptr<ThreadSignals> self = state_->self(task);
  if (self == nullptr) return 0;
  sync::MutexLock lock(self->process->siglock);
  return self->blocked;
}

SigSet SignalManager::pending(Task& task) {
  std::shared_ptr<ThreadSignals> self = state_->self(task);
  if (self == nullptr) return 0;
  sync::MutexLock lock(self->process->siglock);
  return (self->pending.set | self->process->shared.set) & self->blocked;
}

namespace {
SigInfo kill_info(Task& sender, int sig, int code, std::uint32_t uid) {
  return SigInfo::user(sig, code, sender.process().pid(), uid);
}
}  // namespace

ErrorOr<void> SignalManager::kill(Task& sender, pid_t pid, int sig) {
  std::shared_ptr<ThreadSignals> self = state_->self(sender);
  const std::uint32_t uid = self != nullptr ? self->process->uid : 0;
  const SigInfo info = kill_info(sender, sig, kSiUser, uid);
  if (pid > 0) return state_->send_to_process(pid, sig, info);
  if (pid == 0 || (pid < -1 && pid != INT32_MIN)) {
    // Process groups: every process is the only member of its own group here.
    const pid_t group = pid == 0 ? sender.process().pid() : -pid;
    std::shared_ptr<ProcessSignals> p = state_->find_process(group);
    if (p == nullptr) return Errno::kESRCH;
    if (!valid_signal(sig) && sig != 0) return Errno::kEINVAL;
    ThreadSignals* leader = nullptr;
    {
      sync::MutexLock lock(p->siglock);
      if (!p->threads.empty()) leader = p->threads.front().get();
    }
    if (leader == nullptr) return Errno::kESRCH;
    return state_->send(p, leader, sig, info, true);
  }
  if (pid == INT32_MIN) return Errno::kESRCH;
  // pid == -1: every process but the caller's and init.
  std::vector<std::shared_ptr<ProcessSignals>> targets;
  {
    sync::MutexLock lock(state_->membership);
    for (auto& [id, p] : state_->processes) {
      if (id > 1 && id != sender.process().pid()) targets.push_back(p);
    }
  }
  if (targets.empty()) return Errno::kESRCH;
  if (!valid_signal(sig) && sig != 0) return Errno::kEINVAL;
  ErrorOr<void> result{};
  for (auto& p : targets) {
    ThreadSignals* leader = nullptr;
    {
      sync::MutexLock lock(p->siglock);
      if (!p->threads.empty()) leader = p->threads.front().get();
    }
    if (leader != nullptr) {
      const ErrorOr<void> r = state_->send(p, leader, sig, info, true);
      if (!r) result = r;
    }
  }
  return result;
}

ErrorOr<void> SignalManager::tgkill(Task& sender, pid_t tgid, pid_t tid, int sig) {
  std::shared_ptr<ThreadSignals> self = state_->self(sender);
  const std::uint32_t uid = self != nullptr ? self->process->uid : 0;
  return state_->send_to_thread(tgid, tid, sig, kill_info(sender, sig, kSiTkill, uid));
}

ErrorOr<void> SignalManager::queue_info(Task& sender, pid_t pid, int sig, SigInfo info) {
  // Only the kernel and kill() may claim si_code >= 0 (or tkill's code), except to oneself.
  if ((info.code >= 0 || info.code == kSiTkill) && sender.tid() != pid) return Errno::kEPERM;
  info.signo = sig;
  return state_->send_to_process(pid, sig, info);
}

ErrorOr<void> SignalManager::tg_queue_info(Task& sender, pid_t tgid, pid_t tid, int sig,
                                           SigInfo info) {
  if ((info.code >= 0 || info.code == kSiTkill) && sender.tid() != tid) return Errno::kEPERM;
  info.signo = sig;
  return state_->send_to_thread(tgid, tid, sig, info);
}

void SignalManager::raise_on_thread(Task& target, int sig) {
  std::shared_ptr<ThreadSignals> t = state_->self(target);
  if (t == nullptr) return;
  const SigInfo info = SigInfo::user(sig, kSiUser, target.process().pid(), t->process->uid);
  (void)state_->send(t->process, t.get(), sig, info, false);
}

ErrorOr<int> SignalManager::timed_wait(Task& task, SigSet set, SigInfo& info,
                                       const sync::Deadline& deadline, bool poll_only) {
  std::shared_ptr<ThreadSignals> self = state_->self(task);
  if (self == nullptr) return Errno::kESRCH;
  ProcessSignals& p = *self->process;
  const SigSet wanted = set & ~kUnblockable;
  {
    sync::MutexLock lock(p.siglock);
    same_siglock(p, *self);
    const int sig = state_->dequeue(*self, wanted, info);
    if (sig != 0) {
      State::recalc(*self);
      return sig;
    }
    if (poll_only) return Errno::kEAGAIN;
    // The waited-for signals become deliverable for the time of the wait, so sending one wakes us.
    self->real_blocked = self->blocked;
    self->blocked &= ~wanted;
    State::recalc(*self);
  }
  const bool woken = State::sleep_until_signal(task, *self, deadline);
  sync::MutexLock lock(p.siglock);
  same_siglock(p, *self);
  self->blocked = self->real_blocked;
  self->real_blocked = 0;
  const int sig = state_->dequeue(*self, wanted, info);
  State::recalc(*self);
  if (sig != 0) return sig;
  return woken ? Errno::kEINTR : Errno::kEAGAIN;
}

Errno SignalManager::suspend(Task& task, SigSet mask) {
  std::shared_ptr<ThreadSignals> self = state_->self(task);
  if (self == nullptr) return Errno::kESRCH;
  {
    sync::MutexLock lock(self->process->siglock);
    self->saved_mask = self->blocked;
    self->blocked = mask & ~kUnblockable;
    State::recalc(*self);
  }
  State::sleep_until_signal(task, *self, sync::Deadline::never());
  return Errno::kERESTARTNOHAND;
}

void SignalManager::set_temporary_mask(Task& task, SigSet mask) {
  std::shared_ptr<ThreadSignals> self = state_->self(task);
  if (self == nullptr) return;
  sync::MutexLock lock(self->process->siglock);
  self->saved_mask = self->blocked;
  self->blocked = mask & ~kUnblockable;
  State::recalc(*self);
}

void SignalManager::end_temporary_mask(Task& task) {
  std::shared_ptr<ThreadSignals> self = state_->self(task);
  if (self == nullptr) return;
  sync::MutexLock lock(self->process->siglock);
  if (!self->saved_mask) return;
  self->blocked = *self->saved_mask;
  self->saved_mask.reset();
  State::recalc(*self);
}

ErrorOr<void> SignalManager::alternate_stack(Task& task, const StackT* ss, StackT* old,
                                             std::uint64_t sp) {
  std::shared_ptr<ThreadSignals> self = state_->self(task);
  if (self == nullptr) return Errno::kESRCH;
  sync::MutexLock lock(self->process->siglock);
  StackT& cur = self->altstack;
  const bool on_stack = sp != 0 && cur.size != 0 && sp > cur.sp && sp - cur.sp <= cur.size;
  if (old != nullptr) {
    *old = cur;
    old->flags = on_stack ? kSsOnStack : (cur.size == 0 ? kSsDisable : 0);
    old->flags |= static_cast<std::int32_t>(static_cast<std::uint32_t>(cur.flags) & kSsAutoDisarm);
  }
  if (ss != nullptr) {
    if (on_stack) return Errno::kEPERM;
    const auto flags = static_cast<std::uint32_t>(ss->flags);
    const std::uint32_t mode = flags & ~kSsAutoDisarm;
    if (mode != static_cast<std::uint32_t>(kSsDisable) &&
        mode != static_cast<std::uint32_t>(kSsOnStack) && mode != 0) {
      return Errno::kEINVAL;
    }
    if (mode == static_cast<std::uint32_t>(kSsDisable)) {
      cur = StackT{0, kSsDisable, 0, 0};
    } else {
      if (ss->size < kMinSigStackSize) return Errno::kENOMEM;
      cur = StackT{ss->sp, static_cast<std::int32_t>(flags), 0, ss->size};
    }
  }
  return {};
}

std::optional<SignalDelivery> SignalManager::next_delivery(Task& task) {
  std::shared_ptr<ThreadSignals> self = state_->self(task);
  if (self == nullptr) return std::nullopt;
  ProcessSignals& p = *self->process;
  sync::MutexLock lock(p.siglock);
  same_siglock(p, *self);
  for (;;) {
    if (p.group_exit_signal != 0) {
      SignalDelivery d;
      d.signo = p.group_exit_signal;
      d.info = SigInfo::user(d.signo, kSiUser, 0, 0);
      d.action = default_action(d.signo) == DefaultAction::kCoreDump
                     ? SignalDelivery::Action::kCoreDump
                     : SignalDelivery::Action::kTerminate;
      d.group_exit = true;
      return d;
    }
    if (self->stop_pending != 0) {
      // Another thread took a stop signal: this one stops with the group.
      SignalDelivery d;
      d.signo = self->stop_pending;
      d.info = SigInfo::user(d.signo, kSiUser, 0, 0);
      d.action = SignalDelivery::Action::kStop;
      self->stop_pending = 0;
      State::recalc(*self);
      return d;
    }
    SignalDelivery d;
    d.signo = state_->dequeue(*self, ~self->blocked, d.info);
    if (d.signo == 0) {
      if (self->saved_mask) {
        self->blocked = *self->saved_mask;
        self->saved_mask.reset();
      }
      State::recalc(*self);
      return std::nullopt;
    }
    SigAction& action = p.actions[static_cast<std::size_t>(d.signo - 1)];
    if (action.handler == kSigIgn) continue;
    if (action.handler == kSigDfl) {
      switch (default_action(d.signo)) {
        case DefaultAction::kIgnore:
          continue;
        case DefaultAction::kContinue:
          d.action = SignalDelivery::Action::kContinue;
          break;
        case DefaultAction::kStop:
          // A group stop: every other thread is interrupted and stops too (do_signal_stop).
          d.action = SignalDelivery::Action::kStop;
          for (auto& t : p.threads) {
            same_siglock(p, *t);
            if (t.get() != self.get()) {
              t->stop_pending = d.signo;
              State::recalc(*t);
            }
          }
          break;
        case DefaultAction::kTerminate:
        case DefaultAction::kCoreDump:
          d.action = default_action(d.signo) == DefaultAction::kCoreDump
                         ? SignalDelivery::Action::kCoreDump
                         : SignalDelivery::Action::kTerminate;
          d.group_exit = true;
          p.group_exit_signal = d.signo;
          for (auto& t : p.threads) {
            same_siglock(p, *t);
            State::recalc(*t);
          }
          break;
      }
      if (d.action != SignalDelivery::Action::kTerminate &&
          d.action != SignalDelivery::Action::kCoreDump) {
        State::recalc(*self);
      }
      return d;
    }
    d.action = SignalDelivery::Action::kHandler;
    d.handler = action;
    d.restore_mask = self->saved_mask.value_or(self->blocked);
    self->saved_mask.reset();
    SigSet during = self->blocked | action.mask;
    if ((action.flags & kSaNoDefer) == 0) during |= sig_bit(d.signo);
    self->blocked = during & ~kUnblockable;
    d.handler_mask = self->blocked;
    if ((action.flags & kSaOnStack) != 0 && self->altstack.size != 0) {
      d.on_alternate_stack = true;
      d.alternate_stack = self->altstack;
      if ((static_cast<std::uint32_t>(self->altstack.flags) & kSsAutoDisarm) != 0) {
        self->altstack = StackT{0, kSsDisable, 0, 0};
      }
    }
    if ((action.flags & kSaResetHand) != 0) action.handler = kSigDfl;  // flags stay, as Linux's
    State::recalc(*self);
    return d;
  }
}

void SignalManager::restore_mask(Task& task, SigSet mask) {
  std::shared_ptr<ThreadSignals> self = state_->self(task);
  if (self == nullptr) return;
  sync::MutexLock lock(self->process->siglock);
  self->blocked = mask & ~kUnblockable;
  State::recalc(*self);
}

}  // namespace futexbox::kernel
