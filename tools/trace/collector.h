// TraceCollector: the futexbox side of a guest's trace while it runs (a RunObserver). It hands
// the agent the trace file, and a thread of its own drains every ring every `interval` (so the
// rings, 32k events per thread, only have to hold what a thread records in that time), snapshots
// the guest's memory map for naming addresses afterwards, and feeds the deadlock watch. At the
// guest's end, the last drain and `on_finish` run before futexbox reports or exits.
//
// `futexbox trace` keeps every event for its views. `futexbox run` records no events at all: its
// agent keeps only each thread's current call in the slot (kTraceCallState), and the collector
// looks at the slots instead of draining rings (docs/tracing.md, "Deadlocks").
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tools/trace/address_names.h"
#include "tools/launch/launcher.h"
#include "tools/trace/deadlock_watch.h"
#include "tools/protocol/trace_file.h"

namespace futexbox::tools {

struct CollectorOptions {
  std::string tool = "futexbox trace";  // how reports and messages begin
  OnDeadlock on_deadlock = OnDeadlock::kReport;
  bool keep_events = true;
  std::chrono::milliseconds interval{5};
};

class TraceCollector final : public RunObserver {
 public:
  using Finish = std::function<void(const GuestExit&, std::vector<TraceEvent>&, pid_t guest)>;
  TraceCollector(TraceFile& file, AddressNamer& names, CollectorOptions options, Finish on_finish);
  TraceCollector(const TraceCollector&) = delete;
  TraceCollector& operator=(const TraceCollector&) = delete;
  ~TraceCollector() override { stop(); }

  void add_environment(std::vector<std::string>& env) override;
  void started(pid_t guest) override;
  void finished(const GuestExit& exit, const RunStatsPage& stats) override;

 private:
  void drain();
  // kTraceCallState: what each thread's slot says now, turned into the events the watch takes.
  void look_at_calls();
  // Every call entry: a wait for a word to stop holding another thread's tid is a join.
  void note_entry(const TraceEvent& entry);
  void watch_deadlocks();
  void stop();

  TraceFile& file_;
  AddressNamer& names_;
  CollectorOptions options_;
  DeadlockWatch deadlocks_;
  std::set<pid_t> pids_;
  std::set<std::pair<pid_t, pid_t>> threads_;  // (pid, tid) seen in the trace or in /proc
  // Waits on an anonymous word for a value that was not (yet) known as a thread: (pid, value) ->
  // the word. At the end, values that turned out to be threads (their events were drained after
  // the wait's) name the word's mapping after all.
  std::map<std::pair<pid_t, pid_t>, std::uint64_t> join_candidates_;
  Finish on_finish_;
  std::vector<TraceEvent> events_;  // the drainer's, then (after the join) the finisher's
  struct Seen {
    pid_t pid = 0;
    pid_t tid = 0;
    std::uint32_t seq = 0;
    bool in_call = false;
    std::uint64_t last_wake = 0;
  };
  std::vector<Seen> seen_;  // per slot, at the last look
  pid_t guest_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread drainer_;
};

}  // namespace futexbox::tools
