// What a recorded trace says, before any view formats it: which calls wait and which wake, each
// call paired with its result, and the contention profile (per futex word: the waits that slept,
// who waited and who woke, percentiles). The -c summary (tools/trace/views/summary.h), the HTML report
// (tools/trace/views/report.h), the Chrome view and the deadlock watch all read the trace through here,
// so they agree on what a wait is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "syscalls/futex_call.h"
#include "tools/protocol/trace_file.h"

namespace futexbox::tools {

// What a recorded entry's call does (syscalls/futex_call.h), decoded from its number and registers.
syscalls::FutexCall describe_entry(const TraceEvent& entry) noexcept;
// A call's name as the views show it: the futex op in strace's spelling (FUTEX_WAIT_PRIVATE, ...)
// or the futex2 syscall's name.
std::string call_name(const TraceEvent& entry);
// Whether a syscall result is an error (-4095..-1; restart codes are not).
inline bool is_error_result(std::int64_t result) { return result < 0 && result > -4096; }
// A wait that slept, or could have: woken, timed out, interrupted (not EAGAIN, EINVAL, EFAULT).
bool wait_slept(std::int64_t result);

// Orders the events by time; events with the same time keep drain order (each thread's own
// events stay in order). Sorts (time, index) pairs, not the 88-byte records.
void sort_by_time(std::vector<TraceEvent>& events);

struct TraceCall {
  const TraceEvent* entry = nullptr;
  const TraceEvent* exit = nullptr;  // null: the guest ended inside the call
  [[nodiscard]] std::int64_t result() const { return static_cast<std::int64_t>(exit->v[0]); }
  [[nodiscard]] std::uint64_t ns() const {
    return exit->ts_ns >= entry->ts_ns ? exit->ts_ns - entry->ts_ns : 0;
  }
};
// Each thread's entries paired with their exits, in entry order, from events sorted by time.
// Attempts a signal stopped before they ran (kTraceNotRun) are left out; calls the guest never
// returned from are kept only with `keep_unfinished`.
std::vector<TraceCall> pair_calls(const std::vector<TraceEvent>& sorted, bool keep_unfinished);

// A served wait's wake-up with the wake that caused it (kTraceWaits records only): the kernel
// hands every woken waiter its waker's tid, and the waker's latest wake of that word is the one.
struct WakeFlow {
  std::int32_t pid = 0;
  std::uint64_t uaddr = 0;
  std::int32_t waker = 0;
  std::uint64_t wake_ns = 0;
  std::int32_t woken = 0;
  std::uint64_t woken_ns = 0;
};
std::vector<WakeFlow> wake_flows(const std::vector<TraceEvent>& sorted);

struct OpProfile {
  std::string name;
  std::uint64_t ns = 0;
  std::uint64_t calls = 0;
  std::uint64_t errors = 0;
};

struct WordProfile {
  std::int32_t pid = 0;
  std::uint64_t uaddr = 0;
  std::uint64_t wait_ns = 0;
  std::vector<std::uint64_t> waits;  // each wait's duration, ascending
  std::set<std::int32_t> waiters;
  std::set<std::int32_t> wakers;
  // Nearest-rank percentile of `waits` (p in [0, 1]); 0 without waits.
  [[nodiscard]] std::uint64_t percentile(double p) const;
};

struct TraceProfile {
  std::vector<OpProfile> ops;  // by total time, descending
  OpProfile total{"total"};
  std::vector<WordProfile> words;  // words some call waited on, by total wait time, descending
};
TraceProfile profile_calls(const std::vector<TraceCall>& calls);

// "812 ns", "35.2 µs", "1.3 ms": durations as the summary and the report print them.
std::string format_duration(std::uint64_t ns);

}  // namespace futexbox::tools
