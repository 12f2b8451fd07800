#include "tools/trace/profile.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "abi/errno.h"

namespace futexbox::tools {


syscalls::FutexCall describe_entry(const TraceEvent& entry) noexcept {
  const std::uint64_t regs[6] = {entry.v[0], entry.v[1], entry.v[2], entry.v[3], entry.v[4], entry.v[5]};
  return syscalls::describe_futex_call(entry.nr, regs);
}

std::string call_name(const TraceEvent& entry) {
  return syscalls::futex_call_name(describe_entry(entry));
}

bool wait_slept(std::int64_t r) {
  return r >= 0 || r == abi::negated(abi::Errno::kETIMEDOUT) ||
         r == abi::negated(abi::Errno::kEINTR) || abi::is_restart_code(r);
}

void sort_by_time(std::vector<TraceEvent>& events) {
  std::vector<std::pair<std::uint64_t, std::uint32_t>> order;
  order.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    order.emplace_back(events[i].ts_ns, static_cast<std::uint32_t>(i));
  }
  std::sort(order.begin(), order.end());  // ties keep drain order: index is the second key
  std::vector<TraceEvent> sorted;
  sorted.reserve(order.size());
  for (const auto& [ts, i] : order) sorted.push_back(events[i]);
  events.swap(sorted);
}

std::vector<TraceCall> pair_calls(const std::vector<TraceEvent>& sorted, bool keep_unfinished) {
  std::unordered_map<std::int32_t, std::size_t> open;  // tid -> index into calls
  std::vector<TraceCall> calls;
  for (const TraceEvent& e : sorted) {
    if (e.kind == TraceKind::kEntry) {
      open[e.tid] = calls.size();
      calls.push_back({&e, nullptr});
    } else if (e.kind == TraceKind::kExit) {
      auto it = open.find(e.tid);
      if (it == open.end()) continue;
      calls[it->second].exit = &e;
      open.erase(it);
    }
  }
  std::erase_if(calls, [&](const TraceCall& c) {
    return c.exit == nullptr ? !keep_unfinished : (c.exit->flags & kTraceNotRun) != 0;
  });
  return calls;
}

std::vector<WakeFlow> wake_flows(const std::vector<TraceEvent>& sorted) {
  std::vector<WakeFlow> flows;
  std::map<std::pair<std::int32_t, std::uint64_t>, std::uint64_t> last_wake;  // (tid, uaddr) -> ts
  for (const TraceEvent& e : sorted) {
    if (e.kind == TraceKind::kWake || (e.kind == TraceKind::kRequeue && e.v[2] != 0)) {
      last_wake[{e.tid, e.v[0]}] = e.ts_ns;  // a requeue's wakes are wakes of its first word
    } else if (e.kind == TraceKind::kWoken) {
      const auto waker = static_cast<std::int32_t>(e.v[1]);
      auto wake = last_wake.find({waker, e.v[0]});
      if (waker == 0 || wake == last_wake.end()) continue;
      flows.push_back({e.pid, e.v[0], waker, wake->second, e.tid, e.ts_ns});
    }
  }
  return flows;
}

std::uint64_t WordProfile::percentile(double p) const {
  if (waits.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(waits.size() - 1) + 0.5);
  return waits[std::min(i, waits.size() - 1)];
}

TraceProfile profile_calls(const std::vector<TraceCall>& calls) {
  TraceProfile profile;
  std::map<std::string, OpProfile> ops;
  std::map<std::pair<std::int32_t, std::uint64_t>, WordProfile> words;
  for (const TraceCall& c : calls) {
    if (c.exit == nullptr) continue;
    const TraceEvent& e = *c.entry;
    const std::string name = call_name(e);
    OpProfile& op = ops[name];
    op.name = name;
    for (OpProfile* row : {&op, &profile.total}) {
      row->ns += c.ns();
      ++row->calls;
      row->errors += is_error_result(c.result()) ? 1 : 0;
    }
    const syscalls::FutexCall call = describe_entry(e);
    const bool waited = call.sleeps_on_word && wait_slept(c.result());
    if (!waited && !call.wakes_named_word()) continue;
    WordProfile& w = words[{e.pid, e.v[0]}];
    w.pid = e.pid;
    w.uaddr = e.v[0];
    if (waited) {
      w.wait_ns += c.ns();
      w.waits.push_back(c.ns());
      w.waiters.insert(e.tid);
    } else {
      w.wakers.insert(e.tid);
    }
  }
  for (auto& [name, op] : ops) profile.ops.push_back(std::move(op));
  std::stable_sort(profile.ops.begin(), profile.ops.end(),
                   [](const OpProfile& a, const OpProfile& b) { return a.ns > b.ns; });
  for (auto& [key, w] : words) {
    if (w.waits.empty()) continue;
    std::sort(w.waits.begin(), w.waits.end());
    profile.words.push_back(std::move(w));
  }
  std::stable_sort(profile.words.begin(), profile.words.end(),
                   [](const WordProfile& a, const WordProfile& b) { return a.wait_ns > b.wait_ns; });
  return profile;
}

std::string format_duration(std::uint64_t ns) {
  char buf[32];
  if (ns < 10'000) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 " ns", ns);
  } else if (ns < 10'000'000) {
    std::snprintf(buf, sizeof buf, "%.1f µs", static_cast<double>(ns) / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(ns) / 1e6);
  }
  return buf;
}

}  // namespace futexbox::tools
