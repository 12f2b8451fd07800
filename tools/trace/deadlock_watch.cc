#include "tools/trace/deadlock_watch.h"

#include <sys/uio.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "abi/futex.h"
#include "tools/trace/proc_threads.h"
#include "tools/trace/profile.h"

namespace futexbox::tools {

namespace {


std::optional<std::uint32_t> read_guest_word(pid_t pid, std::uint64_t uaddr) {
  std::uint32_t value = 0;
  iovec local{&value, sizeof value};
  iovec remote{reinterpret_cast<void*>(uaddr), sizeof value};
  if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(sizeof value)) {
    return std::nullopt;
  }
  return value;
}

bool all_asleep(pid_t pid, const std::vector<pid_t>& tids) {
  return std::all_of(tids.begin(), tids.end(), [pid](pid_t tid) { return thread_state(pid, tid) == 'S'; });
}

}  // namespace

std::optional<OnDeadlock> parse_on_deadlock(const std::string& text) {
  if (text == "report") return OnDeadlock::kReport;
  if (text == "abort") return OnDeadlock::kAbort;
  if (text == "ignore") return OnDeadlock::kIgnore;
  return std::nullopt;
}

DeadlockWatch::DeadlockWatch(std::uint64_t quiet_ns, std::string tool)
    : quiet_ns_(quiet_ns),
      tool_(std::move(tool)),
      read_word_(read_guest_word),
      threads_of_(threads_of),
      asleep_(all_asleep) {}

void DeadlockWatch::set_sources(ReadWord read, ThreadsOf threads, ThreadsAsleep asleep) {
  read_word_ = std::move(read);
  threads_of_ = std::move(threads);
  asleep_ = std::move(asleep);
}

bool DeadlockWatch::untimed_wait(const TraceEvent& e) {
  const std::uint64_t regs[6] = {e.v[0], e.v[1], e.v[2], e.v[3], e.v[4], e.v[5]};
  return describe_entry(e).untimed(regs);
}

bool DeadlockWatch::untimed_pi_lock(const TraceEvent& e) {
  const syscalls::FutexCall call = describe_entry(e);
  return call.pi_lock && untimed_wait(e);
}

void DeadlockWatch::observe(const TraceEvent& e, std::uint64_t now_ns) {
  last_event_ns_[e.pid] = now_ns;
  if (e.kind == TraceKind::kEntry) {
    in_call_[e.tid] = e;
    if (describe_entry(e).wakes_named_word()) last_waker_[{e.pid, e.v[0]}] = e.tid;
  } else if (e.kind == TraceKind::kExit) {
    in_call_.erase(e.tid);
    reported_.erase(e.pid);  // it moved again: a later deadlock is a new one
    std::erase_if(reported_cycles_, [&](const std::vector<std::int32_t>& cycle) {
      return std::find(cycle.begin(), cycle.end(), e.tid) != cycle.end();
    });
  }
}

std::optional<DeadlockReport> DeadlockWatch::check(std::uint64_t now_ns, const AddressNamer& names) {
  if (std::optional<DeadlockReport> r = stuck_process(now_ns, names)) return r;
  return pi_cycle(now_ns, names);
}

std::optional<DeadlockReport> DeadlockWatch::stuck_process(std::uint64_t now_ns, const AddressNamer& names) {
  for (const auto& [pid, last] : last_event_ns_) {
    if (reported_.count(pid) != 0 || now_ns - last < quiet_ns_) continue;
    const std::vector<pid_t> tids = threads_of_(pid);
    if (tids.empty()) continue;
    const bool all_waiting = std::all_of(tids.begin(), tids.end(), [&](pid_t tid) {
      auto it = in_call_.find(tid);
      return it != in_call_.end() && untimed_wait(it->second);
    });
    if (!all_waiting || !asleep_(pid, tids)) continue;
    reported_.insert(pid);
    DeadlockReport r;
    r.pid = pid;
    char line[512];
    std::snprintf(line, sizeof line,
                  "%s: deadlock in process %d: all %zu threads have been blocked for %.1f s in "
                  "futex waits without a timeout, and none of them is left to wake the others:\n",
                  tool_.c_str(), pid, tids.size(), static_cast<double>(now_ns - last) / 1e9);
    r.text = line;
    for (const pid_t tid : tids) {
      const TraceEvent& e = in_call_.at(tid);
      auto waker = last_waker_.find({pid, e.v[0]});
      const std::string woke = waker == last_waker_.end()
                                   ? "no wake of it seen"
                                   : "last woken by thread " + std::to_string(waker->second);
      std::snprintf(line, sizeof line, "  thread %d  %s on %#" PRIx64 " (%s), %s\n", tid,
                    call_name(e).c_str(), e.v[0], names.name(pid, e.v[0]).c_str(), woke.c_str());
      r.text += line;
    }
    return r;
  }
  return std::nullopt;
}

std::optional<DeadlockReport> DeadlockWatch::pi_cycle(std::uint64_t now_ns, const AddressNamer& names) {
  // The waits-for graph of PI lockers stuck for `quiet`: tid -> the owner of the word it wants.
  std::map<std::int32_t, std::int32_t> owner_of_wanted;
  for (const auto& [tid, e] : in_call_) {
    if (!untimed_pi_lock(e) || now_ns < e.ts_ns || now_ns - e.ts_ns < quiet_ns_) continue;
    const std::optional<std::uint32_t> word = read_word_(e.pid, e.v[0]);
    if (!word) continue;
    const auto owner = static_cast<std::int32_t>(*word & abi::futex::kTidMask);
    if (owner != 0 && owner != tid) owner_of_wanted[tid] = owner;
  }
  for (const auto& [start, first_owner] : owner_of_wanted) {
    std::vector<std::int32_t> cycle = {start};
    for (std::int32_t next = first_owner; next != start;) {
      auto edge = owner_of_wanted.find(next);
      if (edge == owner_of_wanted.end() ||
          std::find(cycle.begin(), cycle.end(), next) != cycle.end() ||
          in_call_.at(next).pid != in_call_.at(start).pid) {
        cycle.clear();  // a chain that ends at a thread not stuck, or a loop not through start
        break;
      }
      cycle.push_back(next);
      next = edge->second;
    }
    if (cycle.empty()) continue;
    std::vector<std::int32_t> key = cycle;
    std::sort(key.begin(), key.end());
    if (!reported_cycles_.insert(key).second) continue;
    const pid_t pid = in_call_.at(start).pid;
    DeadlockReport r;
    r.pid = pid;
    char line[512];
    std::snprintf(line, sizeof line,
                  "%s: deadlock in process %d: %zu threads wait for each other's PI locks (each "
                  "lock's owner waits for the next lock), blocked for at least %.1f s:\n",
                  tool_.c_str(), pid, cycle.size(), static_cast<double>(quiet_ns_) / 1e9);
    r.text = line;
    for (const std::int32_t tid : cycle) {
      const TraceEvent& e = in_call_.at(tid);
      std::snprintf(line, sizeof line, "  thread %d  %s on %#" PRIx64 " (%s), owned by thread %d\n",
                    tid, call_name(e).c_str(), e.v[0], names.name(pid, e.v[0]).c_str(),
                    owner_of_wanted.at(tid));
      r.text += line;
    }
    return r;
  }
  return std::nullopt;
}

}  // namespace futexbox::tools
