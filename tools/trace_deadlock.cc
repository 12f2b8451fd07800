#include "tools/trace_deadlock.h"

#include <sys/syscall.h>

#include <cinttypes>
#include <cstdio>
#include <vector>

#include "tools/proc_threads.h"
#include "tools/trace_profile.h"

namespace futexbox::tools {

bool DeadlockWatch::untimed_wait(const TraceEvent& e) {
  switch (e.nr) {
    case SYS_futex:
      return waits_on_word(e) && e.v[3] == 0;
    case 449:  // futex_waitv(waiters, n, flags, timeout, clock)
      return e.v[3] == 0;
    case 455:  // futex_wait(uaddr, val, mask, flags, timeout, clock)
      return e.v[4] == 0;
    default:
      return false;
  }
}

void DeadlockWatch::observe(const TraceEvent& e, std::uint64_t now_ns) {
  last_event_ns_[e.pid] = now_ns;
  if (e.kind == TraceKind::kEntry) {
    in_call_[e.tid] = e;
    if (wakes_word(e)) last_waker_[{e.pid, e.v[0]}] = e.tid;
  } else if (e.kind == TraceKind::kExit) {
    in_call_.erase(e.tid);
    reported_.erase(e.pid);  // it moved again: a later deadlock is a new one
  }
}

std::optional<DeadlockReport> DeadlockWatch::check(std::uint64_t now_ns, const AddressNamer& names) {
  for (const auto& [pid, last] : last_event_ns_) {
    if (reported_.count(pid) != 0 || now_ns - last < quiet_ns_) continue;
    const std::vector<std::int32_t> tids = threads_of(pid);
    if (tids.empty()) continue;
    bool all_stuck = true;
    for (const std::int32_t tid : tids) {
      auto it = in_call_.find(tid);
      all_stuck = all_stuck && it != in_call_.end() && untimed_wait(it->second);
    }
    if (!all_stuck) continue;
    reported_.insert(pid);
    DeadlockReport r;
    r.pid = pid;
    char line[512];
    std::snprintf(line, sizeof line,
                  "futexbox trace: deadlock in process %d: all %zu threads have been blocked for "
                  "%.1f s in futex waits without a timeout, and none of them is left to wake the "
                  "others:\n",
                  pid, tids.size(), static_cast<double>(now_ns - last) / 1e9);
    r.text = line;
    for (const std::int32_t tid : tids) {
      const TraceEvent& e = in_call_.at(tid);
      auto waker = last_waker_.find({pid, e.v[0]});
      const std::string woke = waker == last_waker_.end()
                                   ? "nobody has woken it"
                                   : "last woken by thread " + std::to_string(waker->second);
      std::snprintf(line, sizeof line, "  thread %d  %s on %#" PRIx64 " (%s), %s\n", tid,
                    call_name(e).c_str(), e.v[0], names.name(pid, e.v[0]).c_str(), woke.c_str());
      r.text += line;
    }
    return r;
  }
  return std::nullopt;
}

}  // namespace futexbox::tools
