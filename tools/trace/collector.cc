#include "tools/trace/collector.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>

#include "sync/deadline.h"
#include "tools/protocol/agent_env.h"
#include "tools/trace/proc_threads.h"
#include "tools/trace/profile.h"

namespace futexbox::tools {

namespace {

std::uint64_t monotonic_ns() {
  return static_cast<std::uint64_t>(sync::Deadline::now_ns(sync::ClockKind::kMonotonic));
}

// Quiet for 300 ms with every thread stuck: checked every 100 ms, so reported within half a second.
constexpr std::uint64_t kQuietNs = 300'000'000;
constexpr std::chrono::milliseconds kWatchInterval{100};
// New threads' stacks are looked for more often than the maps are read (address_names.h).
constexpr std::chrono::milliseconds kStackInterval{20};

}  // namespace

TraceCollector::TraceCollector(TraceFile& file, AddressNamer& names, CollectorOptions options,
                               Finish on_finish)
    : file_(file),
      names_(names),
      options_(std::move(options)),
      deadlocks_(kQuietNs, options_.tool),
      on_finish_(std::move(on_finish)) {}

void TraceCollector::add_environment(std::vector<std::string>& env) {
  env.push_back(std::string(agent_env::kTrace) + "=" + file_.path());
}

void TraceCollector::started(pid_t guest) {
  guest_ = guest;
  // Room for a busy guest's first seconds without copying the whole trace as it grows (address
  // space only: pages appear as events arrive).
  if (options_.keep_events) events_.reserve(std::size_t{1} << 20);
  drainer_ = std::thread([this] {
    const auto watch_every = std::max(1u, static_cast<unsigned>(kWatchInterval / options_.interval));
    const auto stacks_every = std::max(1u, static_cast<unsigned>(kStackInterval / options_.interval));
    for (unsigned round = 0; !stopping_.load(std::memory_order_acquire); ++round) {
      drain();
      // The guest's memory map, for naming addresses afterwards (the guest is gone by then): at
      // each process's first event, and every 100 ms for libraries loaded and threads started.
      if (round % watch_every == 0) {
        for (const pid_t pid : pids_) names_.snapshot(pid);
        watch_deadlocks();
      } else if (round % stacks_every == 0) {
        for (const pid_t pid : pids_) names_.sample_stacks(pid);
      }
      std::this_thread::sleep_for(options_.interval);
    }
  });
}

void TraceCollector::finished(const GuestExit& exit, const RunStatsPage& /*stats*/) {
  stop();
  drain();  // everything the guest's threads recorded, whatever they died of
  for (const auto& [key, addr] : join_candidates_) {
    if (threads_.count(key) != 0) names_.add_stack_hint(key.first, key.second, addr);
  }
  on_finish_(exit, events_, guest_);
}

void TraceCollector::drain() {
  if ((file_.record() & kTraceCallState) != 0) {
    look_at_calls();
    return;
  }
  const std::uint64_t now = monotonic_ns();
  const bool watch = options_.on_deadlock != OnDeadlock::kIgnore;
  file_.drain([this, now, watch](const TraceEvent& e) {
    if (options_.keep_events) events_.push_back(e);
    if (pids_.insert(e.pid).second) names_.snapshot(e.pid);
    if (e.kind == TraceKind::kEntry) note_entry(e);
    if (watch) deadlocks_.observe(e, now);
  });
}

void TraceCollector::note_entry(const TraceEvent& e) {
  threads_.emplace(e.pid, e.tid);
  if (!describe_entry(e).sleeps_on_word) return;
  const auto expected = static_cast<pid_t>(static_cast<std::uint32_t>(e.v[2]));
  if (expected == e.tid || expected <= 0 || !names_.anonymous(e.pid, e.v[0])) return;
  const std::pair<pid_t, pid_t> key{e.pid, expected};
  if (threads_.count(key) == 0) {
    // Not seen in the trace (yet): ask /proc, once per value, for the first few thousand values
    // (a counter on a thread's stack must not cost a /proc lookup per wait).
    constexpr std::size_t kMaxCandidates = 4096;
    if (join_candidates_.count(key) != 0 || join_candidates_.size() >= kMaxCandidates ||
        !thread_state(e.pid, expected)) {
      if (join_candidates_.size() < kMaxCandidates) join_candidates_[key] = e.v[0];
      return;
    }
    threads_.insert(key);
  }
  names_.add_stack_hint(e.pid, expected, e.v[0]);
}

void TraceCollector::look_at_calls() {
  if (options_.on_deadlock == OnDeadlock::kIgnore) return;
  const std::uint64_t now = monotonic_ns();
  seen_.resize(file_.slots());
  auto moved = [&](pid_t pid, pid_t tid) {  // it left a call, or made calls since the last look
    TraceEvent e;
    e.ts_ns = now;
    e.pid = pid;
    e.tid = tid;
    e.kind = TraceKind::kExit;
    deadlocks_.observe(e, now);
  };
  for (std::uint32_t i = 0; i < file_.slots(); ++i) {
    CallLook look;
    if (!file_.look(i, look) || look.pid == 0) continue;
    Seen& seen = seen_[i];
    if (seen.tid != look.tid) {  // a new owner (the old one has gone)
      if (seen.tid != 0 && seen.in_call) moved(seen.pid, seen.tid);
      seen = Seen{look.pid, look.tid, look.seq + 1, false, 0};
      if (pids_.insert(look.pid).second) names_.snapshot(look.pid);
    }
    if (look.last_wake != seen.last_wake) {
      deadlocks_.observe_wake(look.pid, look.tid, look.last_wake);
      seen.last_wake = look.last_wake;
    }
    if (look.seq == seen.seq) continue;
    moved(look.pid, look.tid);
    if (look.in_call) {
      // The agent does not read the clock for this: "since" is when futexbox first saw the call,
      // which can only make the watch later, never wrong.
      look.entry.ts_ns = now;
      look.entry.kind = TraceKind::kEntry;
      note_entry(look.entry);
      deadlocks_.observe(look.entry, now);
    }
    seen.seq = look.seq;
    seen.in_call = look.in_call;
  }
}

// A process whose threads are all stuck, or PI owners waiting for each other, get reported (and
// the process killed, if asked).
void TraceCollector::watch_deadlocks() {
  if (options_.on_deadlock == OnDeadlock::kIgnore) return;
  while (std::optional<DeadlockReport> r = deadlocks_.check(monotonic_ns(), names_)) {
    std::fputs(r->text.c_str(), stderr);
    if (options_.on_deadlock == OnDeadlock::kAbort) {
      std::fprintf(stderr, "%s: --on-deadlock=abort: killing process %d\n", options_.tool.c_str(), r->pid);
      kill(r->pid, SIGKILL);
    }
    std::fflush(stderr);
  }
}

void TraceCollector::stop() {
  stopping_.store(true, std::memory_order_release);
  if (drainer_.joinable()) drainer_.join();
}

}  // namespace futexbox::tools
