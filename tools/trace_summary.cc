#include "tools/trace_summary.h"

#include <sys/syscall.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_map>

#include "syscalls/futex_abi.h"
#include "tools/run_stats.h"

namespace futexbox::tools {

namespace {

namespace abi = syscalls::futex_abi;

struct Completed {
  const TraceEvent* entry;
  std::int64_t result;
  std::uint64_t ns;
};

}  // namespace

std::string call_name(const TraceEvent& entry) {
  switch (entry.nr) {
    case SYS_futex:
      return op_slot_name(futex_op_slot(static_cast<int>(entry.v[1])));
    case 449:
      return "futex_waitv";
    case 454:
      return "futex_wake";
    case 455:
      return "futex_wait";
    case 456:
      return "futex_requeue";
    default:
      return "syscall_" + std::to_string(entry.nr);
  }
}

bool waits_on_word(const TraceEvent& e) {
  if (e.nr == 455) return true;
  if (e.nr != SYS_futex) return false;
  const int cmd = static_cast<int>(e.v[1]) & abi::kCmdMask;
  return cmd == abi::kWait || cmd == abi::kWaitBitset || cmd == abi::kLockPi ||
         cmd == abi::kLockPi2 || cmd == abi::kWaitRequeuePi;
}

bool wakes_word(const TraceEvent& e) {
  if (e.nr == 454) return true;
  if (e.nr != SYS_futex) return false;
  const int cmd = static_cast<int>(e.v[1]) & abi::kCmdMask;
  return cmd == abi::kWake || cmd == abi::kWakeBitset || cmd == abi::kRequeue ||
         cmd == abi::kCmpRequeue || cmd == abi::kWakeOp || cmd == abi::kUnlockPi ||
         cmd == abi::kCmpRequeuePi;
}

namespace {

// A wait that slept, or could have: woken, timed out, interrupted (not EAGAIN, EINVAL, EFAULT).
bool waited(std::int64_t r) {
  return r >= 0 || r == -110 /*ETIMEDOUT*/ || r == -4 /*EINTR*/ || r <= -512 /*restart codes*/;
}

std::string duration(std::uint64_t ns) {
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

std::uint64_t percentile(std::vector<std::uint64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

std::string format_summary(std::vector<TraceEvent> events, const AddressNamer& names,
                           std::size_t top) {
  std::stable_sort(events.begin(), events.end(),
                   [](const TraceEvent& a, const TraceEvent& b) { return a.ts_ns < b.ts_ns; });
  std::unordered_map<std::int32_t, const TraceEvent*> open;
  std::vector<Completed> calls;
  for (const TraceEvent& e : events) {
    if (e.kind == TraceKind::kEntry) {
      open[e.tid] = &e;
    } else if (e.kind == TraceKind::kExit) {
      auto it = open.find(e.tid);
      if (it == open.end()) continue;
      if ((e.flags & kTraceNotRun) == 0) {
        calls.push_back({it->second, static_cast<std::int64_t>(e.v[0]),
                         e.ts_ns >= it->second->ts_ns ? e.ts_ns - it->second->ts_ns : 0});
      }
      open.erase(it);
    }
  }

  // Per op, like strace -c (sorted by time, descending).
  struct OpRow {
    std::uint64_t ns = 0;
    std::uint64_t calls = 0;
    std::uint64_t errors = 0;
  };
  std::map<std::string, OpRow> ops;
  OpRow total;
  for (const Completed& c : calls) {
    OpRow& row = ops[call_name(*c.entry)];
    row.ns += c.ns;
    ++row.calls;
    row.errors += is_error_result(c.result) ? 1 : 0;
    total.ns += c.ns;
    ++total.calls;
    total.errors += is_error_result(c.result) ? 1 : 0;
  }
  std::vector<std::pair<std::string, OpRow>> rows(ops.begin(), ops.end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second.ns > b.second.ns; });
  std::string out;
  char line[512];
  const char* rule = "------ ----------- ----------- --------- --------- ----------------\n";
  out += "% time     seconds  usecs/call     calls    errors op\n";
  out += rule;
  auto print_row = [&](const std::string& name, const OpRow& r, bool with_average) {
    const double share = total.ns == 0 ? 0.0 : 100.0 * static_cast<double>(r.ns) / static_cast<double>(total.ns);
    char errors[24] = "";
    if (r.errors != 0) std::snprintf(errors, sizeof errors, "%" PRIu64, r.errors);
    char average[24] = "";
    if (with_average) std::snprintf(average, sizeof average, "%" PRIu64, r.calls ? r.ns / 1000 / r.calls : 0);
    std::snprintf(line, sizeof line, "%6.2f %11.6f %11s %9" PRIu64 " %9s %s\n", share,
                  static_cast<double>(r.ns) / 1e9, average, r.calls, errors, name.c_str());
    out += line;
  };
  for (const auto& [name, r] : rows) print_row(name, r, true);
  out += rule;
  print_row("total", total, false);

  // The contention profile: per (process, address), the waits that slept or could have.
  struct Contended {
    std::int32_t pid = 0;
    std::uint64_t uaddr = 0;
    std::uint64_t wait_ns = 0;
    std::vector<std::uint64_t> waits;
    std::set<std::int32_t> waiters;
    std::set<std::int32_t> wakers;
  };
  std::map<std::pair<std::int32_t, std::uint64_t>, Contended> by_address;
  for (const Completed& c : calls) {
    const TraceEvent& e = *c.entry;
    const auto key = std::make_pair(e.pid, e.v[0]);
    if (waits_on_word(e) && waited(c.result)) {
      Contended& a = by_address[key];
      a.pid = e.pid;
      a.uaddr = e.v[0];
      a.wait_ns += c.ns;
      a.waits.push_back(c.ns);
      a.waiters.insert(e.tid);
    } else if (wakes_word(e)) {
      Contended& a = by_address[key];
      a.pid = e.pid;
      a.uaddr = e.v[0];
      a.wakers.insert(e.tid);
    }
  }
  std::vector<Contended*> ranked;
  for (auto& [key, a] : by_address) {
    if (!a.waits.empty()) ranked.push_back(&a);
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Contended* a, const Contended* b) { return a->wait_ns > b->wait_ns; });
  out += "\nContention: futex words by total wait time\n";
  if (ranked.empty()) {
    out += "(no call waited)\n";
    return out;
  }
  std::snprintf(line, sizeof line, "%-18s %12s %7s %7s %6s %10s %10s %10s  %s\n", "address",
                "wait total", "waits", "waiters", "wakers", "p50", "p99", "max", "name");
  out += line;
  for (std::size_t i = 0; i < ranked.size() && i < top; ++i) {
    Contended& a = *ranked[i];
    std::sort(a.waits.begin(), a.waits.end());
    char address[32];
    std::snprintf(address, sizeof address, "%#" PRIx64, a.uaddr);
    std::snprintf(line, sizeof line, "%-18s %12s %7zu %7zu %6zu %10s %10s %10s  %s\n", address,
                  duration(a.wait_ns).c_str(), a.waits.size(), a.waiters.size(), a.wakers.size(),
                  duration(percentile(a.waits, 0.50)).c_str(),
                  duration(percentile(a.waits, 0.99)).c_str(), duration(a.waits.back()).c_str(),
                  names.name(a.pid, a.uaddr).c_str());
    out += line;
  }
  return out;
}

}  // namespace futexbox::tools
