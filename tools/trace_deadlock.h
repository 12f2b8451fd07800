// DeadlockWatch: futexbox trace's deadlock detector. Fed the trace as it is drained, it knows which
// call each guest thread is in. A process is deadlocked when every one of its threads (as
// /proc/PID/task lists them) is inside a futex wait without a timeout and none of them has
// returned for `quiet` (no event from the process at all): no thread of it is left to wake the
// others, so only a signal or another process could. The report names each thread, the word it
// waits on (tools/address_names.h) and the last thread that woke that word.
//
// Not detected (docs/tracing.md): cycles among PI lock owners while other threads still run, and
// deadlocks that span processes through shared futexes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "tools/address_names.h"
#include "tools/trace_file.h"

namespace futexbox::tools {

struct DeadlockReport {
  pid_t pid = 0;
  std::string text;
};

class DeadlockWatch {
 public:
  explicit DeadlockWatch(std::uint64_t quiet_ns) : quiet_ns_(quiet_ns) {}

  // Every drained event, in drain order (each thread's own events are in order).
  void observe(const TraceEvent& event, std::uint64_t now_ns);
  // A process deadlocked for at least `quiet` and not reported before, if any.
  std::optional<DeadlockReport> check(std::uint64_t now_ns, const AddressNamer& names);

  // Whether a call blocks with no timeout (the predicate, exposed for tests).
  static bool untimed_wait(const TraceEvent& entry);

 private:
  std::uint64_t quiet_ns_;
  std::unordered_map<std::int32_t, TraceEvent> in_call_;      // tid -> the entry of its call
  std::map<std::int32_t, std::uint64_t> last_event_ns_;       // pid -> when it last did anything
  std::map<std::pair<std::int32_t, std::uint64_t>, std::int32_t> last_waker_;  // (pid, word)
  std::set<std::int32_t> reported_;
};

}  // namespace futexbox::tools
