// DeadlockWatch: the deadlock detector of futexbox trace and futexbox run. Fed the trace as it is
// drained, it knows which call each guest thread is in and since when. It reports two kinds:
//
//   - A stuck process: every one of its threads (as /proc/PID/task lists them) is inside a futex
//     wait without a timeout, asleep ('S' in /proc/PID/task/TID/stat, so a thread whose exit event
//     was lost to a full ring is not mistaken for a waiter), and none of them has returned for
//     `quiet` (no event from the process at all): no thread of it is left to wake the others, so
//     only a signal or another process could.
//   - A PI cycle, while other threads still run: threads in untimed FUTEX_LOCK_PI / LOCK_PI2 waits
//     for `quiet` or longer, each on a lock word whose owner (the tid in the word, read from the
//     guest's memory) is the next one of them, the last's owner the first. Each owner sleeps
//     until the lock it wants is released, which only the next owner could do.
//
// The report names each thread, the word it waits on (tools/trace/address_names.h) and the last thread
// that woke that word (or, in a PI cycle, the word's owner). Each episode is reported once.
//
// Not detected (docs/tracing.md): cycles among non-PI locks while other threads run (a plain
// futex word does not say who holds it), and deadlocks spanning processes through shared futexes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "tools/trace/address_names.h"
#include "tools/protocol/trace_file.h"

namespace futexbox::tools {

// What to do when a guest deadlocks in futex waits: print a report, print it and kill the guest,
// or not watch at all (futexbox run's and trace's --on-deadlock).
enum class OnDeadlock { kReport, kAbort, kIgnore };
// "report", "abort", "ignore"; nullopt for anything else.
std::optional<OnDeadlock> parse_on_deadlock(const std::string& text);

struct DeadlockReport {
  pid_t pid = 0;
  std::string text;
};

class DeadlockWatch {
 public:
  // The 32-bit word at `uaddr` in process `pid`, if it can be read (process_vm_readv by default;
  // tests give their own).
  using ReadWord = std::function<std::optional<std::uint32_t>(pid_t pid, std::uint64_t uaddr)>;
  // Whether every thread of `pid` is asleep (by default from /proc; tests give their own).
  using ThreadsAsleep = std::function<bool(pid_t pid, const std::vector<pid_t>& tids)>;
  using ThreadsOf = std::function<std::vector<pid_t>(pid_t pid)>;

  DeadlockWatch(std::uint64_t quiet_ns, std::string tool);
  // For tests: where words, threads and their states come from.
  void set_sources(ReadWord read, ThreadsOf threads, ThreadsAsleep asleep);

  // Every drained event, in drain order (each thread's own events are in order).
  void observe(const TraceEvent& event, std::uint64_t now_ns);
  // Thread `tid` of `pid` issued a wake on `uaddr` (for the report's "last woken by", where
  // the calls themselves are not all seen).
  void observe_wake(std::int32_t pid, std::int32_t tid, std::uint64_t uaddr) {
    last_waker_[{pid, uaddr}] = tid;
  }
  // A deadlock at least `quiet` old and not reported before, if any.
  std::optional<DeadlockReport> check(std::uint64_t now_ns, const AddressNamer& names);

  // Whether a call blocks with no timeout, and whether it is a PI lock that does (predicates,
  // exposed for tests).
  static bool untimed_wait(const TraceEvent& entry);
  static bool untimed_pi_lock(const TraceEvent& entry);

 private:
  std::optional<DeadlockReport> stuck_process(std::uint64_t now_ns, const AddressNamer& names);
  std::optional<DeadlockReport> pi_cycle(std::uint64_t now_ns, const AddressNamer& names);

  std::uint64_t quiet_ns_;
  std::string tool_;
  ReadWord read_word_;
  ThreadsOf threads_of_;
  ThreadsAsleep asleep_;
  std::unordered_map<std::int32_t, TraceEvent> in_call_;      // tid -> the entry of its call
  std::map<std::int32_t, std::uint64_t> last_event_ns_;       // pid -> when it last did anything
  std::map<std::pair<std::int32_t, std::uint64_t>, std::int32_t> last_waker_;  // (pid, word)
  std::set<std::int32_t> reported_;                           // stuck processes
  std::set<std::vector<std::int32_t>> reported_cycles_;       // sorted tids of PI cycles
};

}  // namespace futexbox::tools
