#include "tools/trace/views/chrome.h"

#include <sys/syscall.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "tools/trace/profile.h"

namespace futexbox::tools {

namespace {

using nlohmann::json;

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

// A JSON string literal, quotes included (names come from file paths: anything may be in them).
std::string quoted(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

// The events are written one by one into one buffer: building them as a JSON document first
// cost two seconds for 120k calls, nearly all of it in the allocator.
class EventWriter {
 public:
  EventWriter() { fmt::format_to(std::back_inserter(out_), R"({{"traceEvents":[)"); }
  template <typename... Args>
  void add(fmt::format_string<Args...> format, Args&&... args) {
    if (!first_) out_.push_back(',');
    first_ = false;
    out_.push_back('\n');
    fmt::format_to(std::back_inserter(out_), format, std::forward<Args>(args)...);
  }
  std::string finish() {
    fmt::format_to(std::back_inserter(out_),
                   "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{{\"producer\":\"futexbox trace\"}}}}\n");
    return fmt::to_string(out_);
  }

 private:
  fmt::memory_buffer out_;
  bool first_ = true;
};

std::string hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#" PRIx64, v);
  return buf;
}

std::string basename_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

constexpr std::size_t kCountedWords = 5;  // waiter counters for the hottest words

}  // namespace

std::string format_chrome(std::vector<TraceEvent> events, const AddressNamer& names) {
  sort_by_time(events);
  const std::uint64_t origin = events.empty() ? 0 : events.front().ts_ns;
  EventWriter trace;

  // Names: the process by its executable, threads by tid (the main thread is the pid).
  std::map<std::int32_t, std::set<std::int32_t>> threads;
  for (const TraceEvent& e : events) threads[e.pid].insert(e.tid);
  for (const auto& [pid, tids] : threads) {
    const std::string exe = names.executable(pid);
    trace.add(R"({{"ph":"M","name":"process_name","pid":{},"tid":{},"args":{{"name":{}}}}})", pid,
              pid, quoted((exe.empty() ? "guest" : basename_of(exe)) + " " + std::to_string(pid)));
    for (const std::int32_t tid : tids) {
      trace.add(R"({{"ph":"M","name":"thread_name","pid":{},"tid":{},"args":{{"name":"{} {}"}}}})",
                pid, tid, tid == pid ? "main" : "thread", tid);
    }
  }

  // Calls as slices; served waits' wake-ups as flow ends; wakes as instants and flow starts.
  std::unordered_map<std::int32_t, const TraceEvent*> open;
  struct Wait {
    std::uint64_t begin, end, uaddr;
    std::int32_t pid, tid;
  };
  std::vector<Wait> waits;
  std::map<std::pair<std::int32_t, std::uint64_t>, std::uint64_t> wait_time;  // (pid, uaddr)
  // Ends the thread's open waits: one, or one per word of a futex_waitv.
  auto end_wait = [&](std::int32_t tid, std::uint64_t ts) {
    for (auto w = waits.rbegin(); w != waits.rend(); ++w) {
      if (w->tid != tid) continue;
      if (w->end != 0) return;
      w->end = ts;
      wait_time[{w->pid, w->uaddr}] += ts - w->begin;
    }
  };
  for (const TraceEvent& e : events) {
    switch (e.kind) {
      case TraceKind::kEntry:
        open[e.tid] = &e;
        break;
      case TraceKind::kExit: {
        auto it = open.find(e.tid);
        if (it == open.end()) break;
        const TraceEvent& entry = *it->second;
        open.erase(it);
        end_wait(e.tid, e.ts_ns);  // a served wait that timed out or was interrupted ends here
        if ((e.flags & kTraceNotRun) != 0) break;
        const auto result = static_cast<std::int64_t>(e.v[0]);
        trace.add(R"({{"ph":"X","cat":"futex","name":"{}","pid":{},"tid":{},"ts":{:.3f},"dur":{:.3f},)"
                  R"("args":{{"uaddr":"{}","result":{},"served":{}}}}})",
                  call_name(entry), e.pid, e.tid, us(entry.ts_ns - origin),
                  us(e.ts_ns - entry.ts_ns), hex(entry.v[0]), result,
                  (e.flags & kTraceServed) != 0);
        break;
      }
      case TraceKind::kWait:
        waits.push_back({e.ts_ns, 0, e.v[0], e.pid, e.tid});
        break;
      case TraceKind::kWoken:
        end_wait(e.tid, e.ts_ns);
        break;
      case TraceKind::kWake:
        trace.add(R"({{"ph":"i","s":"t","cat":"futex","name":"wake {}","pid":{},"tid":{},"ts":{:.3f},)"
                  R"("args":{{"woken":{}}}}})",
                  hex(e.v[0]), e.pid, e.tid, us(e.ts_ns - origin), e.v[1]);
        break;
      case TraceKind::kRequeue:
        trace.add(R"({{"ph":"i","s":"t","cat":"futex","name":"requeue {} -> {}","pid":{},"tid":{},)"
                  R"("ts":{:.3f},"args":{{"woken":{},"requeued":{}}}}})",
                  hex(e.v[0]), hex(e.v[1]), e.pid, e.tid, us(e.ts_ns - origin), e.v[2], e.v[3]);
        break;
      case TraceKind::kEntryData:  // the strace view's (futex_waitv's array, exit_group's tids)
      case TraceKind::kThreadExit:
      case TraceKind::kExitGroup:
        break;
    }
  }

  std::uint64_t next_flow = 1;
  for (const WakeFlow& f : wake_flows(events)) {
    const std::uint64_t id = next_flow++;
    trace.add(R"({{"ph":"s","cat":"futex","name":"wake","id":{},"pid":{},"tid":{},"ts":{:.3f}}})", id,
              f.pid, f.waker, us(f.wake_ns - origin));
    trace.add(R"({{"ph":"f","bp":"e","cat":"futex","name":"wake","id":{},"pid":{},"tid":{},"ts":{:.3f}}})",
              id, f.pid, f.woken, us(f.woken_ns - origin));
  }

  // Waiter counters for the words with the most wait time.
  std::vector<std::pair<std::uint64_t, std::pair<std::int32_t, std::uint64_t>>> hottest;
  for (const auto& [key, ns] : wait_time) hottest.push_back({ns, key});
  std::sort(hottest.rbegin(), hottest.rend());
  if (hottest.size() > kCountedWords) hottest.resize(kCountedWords);
  for (const auto& [ns, key] : hottest) {
    std::vector<std::pair<std::uint64_t, int>> steps;
    for (const Wait& w : waits) {
      if (w.pid != key.first || w.uaddr != key.second || w.end == 0) continue;
      steps.push_back({w.begin, +1});
      steps.push_back({w.end, -1});
    }
    std::sort(steps.begin(), steps.end());
    const std::string name = quoted("waiters " + names.name(key.first, key.second));
    int waiting = 0;
    for (const auto& [ts, delta] : steps) {
      waiting += delta;
      trace.add(R"({{"ph":"C","name":{},"pid":{},"ts":{:.3f},"args":{{"waiters":{}}}}})", name,
                key.first, us(ts - origin), waiting);
    }
  }
  return trace.finish();
}

}  // namespace futexbox::tools
