#include "tools/trace/views/strace.h"

#include <sys/syscall.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <unordered_map>

#include "abi/futex.h"
#include "abi/syscall_numbers.h"
#include "tools/trace/views/strace_format.h"
#include "tools/trace/profile.h"

namespace futexbox::tools {

namespace {

constexpr std::size_t kResultColumn = 39;  // strace -a 40: " = " starts in column 40

// One call: its entry, the kEntryData records that followed it, and its exit if the trace has one.
struct Call {
  const TraceEvent* entry = nullptr;
  const TraceEvent* exit = nullptr;
  std::vector<const TraceEvent*> data;
};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at - start));
    if (at == std::string::npos) return out;
    start = at + 1;
  }
}

// The timespec the agent read at entry (kTraceTimeoutRead) into `call`.
template <typename StraceCall>
void take_timeout(const TraceEvent& entry, StraceCall& call) {
  call.timeout_readable = (entry.flags & kTraceTimeoutRead) != 0;
  call.timeout_sec = static_cast<std::int64_t>(entry.v[6]);
  call.timeout_nsec = static_cast<std::int64_t>(entry.v[7]);
}

// The call without its result, e.g. "futex(0x..., FUTEX_WAKE_PRIVATE, 1)".
void append_call(fmt::memory_buffer& out, const Call& call, std::int64_t result) {
  const TraceEvent& entry = *call.entry;
  if (entry.nr == abi::kSysFutexWaitv) {
    StraceWaitvCall c;
    for (int i = 0; i < 5; ++i) c.args[i] = entry.v[i];
    take_timeout(entry, c);
    c.waiters_readable = (entry.flags & kTraceArrayRead) != 0;
    std::vector<std::uint64_t> words;
    for (const TraceEvent* d : call.data) words.insert(words.end(), std::begin(d->v), std::end(d->v));
    const std::size_t shown = std::min<std::size_t>(static_cast<std::uint32_t>(entry.v[1]), kTraceWaitvShown);
    c.waiters.resize(std::min(shown, words.size() * sizeof(std::uint64_t) / sizeof(abi::futex::Waitv)));
    if (!c.waiters.empty()) {  // (memcpy's pointers must not be null, even for 0 bytes)
      std::memcpy(c.waiters.data(), words.data(), c.waiters.size() * sizeof c.waiters[0]);
    }
    c.waiters_readable = c.waiters_readable && c.waiters.size() == shown;
    append_futex_waitv_call(out, c);
    return;
  }
  if (entry.nr == abi::kSysFutex) {
    StraceFutexCall c;
    for (int i = 0; i < 6; ++i) c.args[i] = entry.v[i];
    take_timeout(entry, c);
    c.result = result;
    append_futex_call(out, c);
    return;
  }
  // futex_wake, futex_wait, futex_requeue: by name with their raw arguments.
  fmt::format_to(std::back_inserter(out), "{}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x})",
                 call_name(entry), entry.v[0], entry.v[1], entry.v[2], entry.v[3], entry.v[4],
                 entry.v[5]);
}

// Writes the lines into one buffer: no allocation per line.
class Printer {
 public:
  Printer(const StraceOptions& options, bool pid_column) : options_(options), pid_column_(pid_column) {}

  // strace's printleader: the pid prefix, then the timestamp.
  void leader(const TraceEvent& e, bool many_threads) {
    line_start_ = out_.size();
    auto to = std::back_inserter(out_);
    if (pid_column_) {
      fmt::format_to(to, "{:<5} ", e.tid);
    } else if (many_threads) {
      fmt::format_to(to, "[pid {:>5}] ", e.tid);
    }
    if (options_.timestamps == 0) return;
    const std::int64_t real = static_cast<std::int64_t>(e.ts_ns) + options_.realtime_offset_ns;
    const time_t sec = static_cast<time_t>(real / 1'000'000'000);
    const long usec = static_cast<long>(real % 1'000'000'000 / 1000);
    if (options_.timestamps >= 3) {
      fmt::format_to(to, "{}.{:06} ", static_cast<long long>(sec), usec);
      return;
    }
    tm t{};
    localtime_r(&sec, &t);
    fmt::format_to(to, "{:02}:{:02}:{:02}", t.tm_hour, t.tm_min, t.tm_sec);
    if (options_.timestamps == 2) fmt::format_to(to, ".{:06}", usec);
    out_.push_back(' ');
  }
  fmt::memory_buffer& buffer() { return out_; }
  void text(std::string_view s) { out_.append(s); }
  void result(const TraceEvent& entry, const TraceEvent& exit) {
    const std::size_t length = out_.size() - line_start_;
    for (std::size_t n = length; n < kResultColumn; ++n) out_.push_back(' ');
    append_result(out_, static_cast<std::int64_t>(exit.v[0]));
    if (options_.durations) {
      const std::uint64_t ns = exit.ts_ns >= entry.ts_ns ? exit.ts_ns - entry.ts_ns : 0;
      fmt::format_to(std::back_inserter(out_), " <{}.{:06}>", ns / 1'000'000'000,
                     ns % 1'000'000'000 / 1000);
    }
    end();
  }
  void end() { out_.push_back('\n'); }
  std::string take() { return fmt::to_string(out_); }

 private:
  const StraceOptions& options_;
  bool pid_column_;
  std::size_t line_start_ = 0;
  fmt::memory_buffer out_;
};

}  // namespace

bool parse_strace_expression(const std::string& expression, StraceOptions& options) {
  const std::size_t eq = expression.find('=');
  if (eq == std::string::npos) return false;
  const std::string key = expression.substr(0, eq);
  const std::string value = expression.substr(eq + 1);
  if (key == "trace" || key == "t") return value == "futex" || value == "%futex" || value == "all";
  if (key == "status") {
    if (value == "failed") {
      options.status = StraceOptions::Status::kFailed;
    } else if (value == "successful") {
      options.status = StraceOptions::Status::kSuccessful;
    } else if (value == "all") {
      options.status = StraceOptions::Status::kAll;
    } else {
      return false;
    }
    return true;
  }
  if (key == "op") {
    for (const std::string& op : split(value, ',')) {
      if (op.empty()) return false;
      options.ops.push_back(op);
    }
    return true;
  }
  return false;
}

std::string format_strace(std::vector<TraceEvent> events, const StraceOptions& options,
                          const std::optional<StraceExit>& exit) {
  // Only calls and ends matter here.
  std::erase_if(events, [](const TraceEvent& e) {
    return e.kind != TraceKind::kEntry && e.kind != TraceKind::kExit &&
           e.kind != TraceKind::kEntryData && e.kind != TraceKind::kThreadExit &&
           e.kind != TraceKind::kExitGroup;
  });
  sort_by_time(events);
  // Pair each thread's entries with their exits; drop attempts a signal stopped before they ran.
  std::unordered_map<std::int32_t, std::size_t> open;  // tid -> index into calls
  std::vector<Call> calls;
  constexpr std::size_t kNoCall = ~std::size_t{0};
  std::vector<std::size_t> call_of(events.size(), kNoCall);  // event index -> call index
  // exit_group: the threads it ended, from the kEntryData records that follow it.
  std::unordered_map<std::int32_t, std::vector<std::int32_t>*> group_of;  // tid -> its list
  std::map<std::size_t, std::vector<std::int32_t>> ended_by_group;         // event index -> tids
  for (std::size_t i = 0; i < events.size(); ++i) {
    const TraceEvent& e = events[i];
    if (e.kind == TraceKind::kEntry) {
      open[e.tid] = calls.size();
      call_of[i] = calls.size();
      calls.push_back(Call{&e, nullptr, {}});
    } else if (e.kind == TraceKind::kExitGroup) {
      group_of[e.tid] = &ended_by_group[i];
    } else if (e.kind == TraceKind::kEntryData) {
      if (auto it = open.find(e.tid); it != open.end()) {
        calls[it->second].data.push_back(&e);
      } else if (auto group = group_of.find(e.tid); group != group_of.end()) {
        for (const std::uint64_t tid : e.v) {
          if (tid != 0) group->second->push_back(static_cast<std::int32_t>(tid));
        }
      }
    } else if (e.kind == TraceKind::kExit) {
      auto it = open.find(e.tid);
      if (it == open.end()) continue;
      calls[it->second].exit = &e;
      call_of[i] = it->second;
      open.erase(it);
    }
  }
  auto selected = [&](const Call& c) {
    if (c.exit != nullptr && (c.exit->flags & kTraceNotRun) != 0) return false;
    if (!options.ops.empty()) {
      if (c.entry->nr != abi::kSysFutex) return false;
      const std::string name = call_name(*c.entry);
      if (std::find(options.ops.begin(), options.ops.end(), name) == options.ops.end()) return false;
    }
    if (options.status != StraceOptions::Status::kAll) {
      if (c.exit == nullptr) return false;
      const bool bad = is_error_result(static_cast<std::int64_t>(c.exit->v[0]));
      return options.status == StraceOptions::Status::kFailed ? bad : !bad;
    }
    return true;
  };
  // With -o FILE strace prints every line's pid in a column; on stderr, "[pid N] " while more
  // than one thread is traced. The trace has no thread creation events, so a process counts as
  // threaded for all its lines when more than one of its threads made a call or ended while
  // traced (docs/tracing.md).
  const bool pid_column = options.pid_column;
  std::map<std::int32_t, std::set<std::int32_t>> tids_of;
  for (const Call& c : calls) tids_of[c.entry->pid].insert(c.entry->tid);
  for (std::size_t i = 0; i < events.size(); ++i) {  // threads that made no call but ended
    if (events[i].kind == TraceKind::kThreadExit) tids_of[events[i].pid].insert(events[i].tid);
  }
  for (const auto& [i, tids] : ended_by_group) tids_of[events[i].pid].insert(tids.begin(), tids.end());
  std::size_t processes_with_threads = 0;
  for (const auto& [pid, tids] : tids_of) processes_with_threads += tids.size() > 1 ? 1 : 0;
  const bool many = tids_of.size() > 1 || processes_with_threads > 0;
  const bool buffered = options.status != StraceOptions::Status::kAll;
  Printer p(options, pid_column);
  const Call* open_line = nullptr;  // declared before `ended`, which closes it  // a call whose entry is printed and whose result is not
  auto interrupt_open_line = [&] {
    if (open_line == nullptr) return;
    p.text(" <unfinished ...>");
    p.end();
    open_line = nullptr;
  };
  auto ended = [&](std::int32_t tid, std::uint64_t ts, std::uint64_t status) {
    interrupt_open_line();
    TraceEvent at;
    at.tid = tid;
    at.ts_ns = ts;
    p.leader(at, many);
    fmt::format_to(std::back_inserter(p.buffer()), "+++ exited with {} +++", status);
    p.end();
  };
  for (std::size_t i = 0; i < events.size(); ++i) {
    const TraceEvent& e = events[i];
    if (e.kind == TraceKind::kThreadExit) {
      ended(e.tid, e.ts_ns, e.v[0]);
      continue;
    }
    if (e.kind == TraceKind::kExitGroup) {
      // strace reports every thread the exit_group ends; the guest's own last line (its main
      // thread's) comes at the very end, from how futexbox saw it end.
      const std::vector<std::int32_t>& tids = ended_by_group[i];
      const bool guest = exit && e.pid == exit->pid;
      for (const std::int32_t tid : tids) {
        if (tid != e.pid) ended(tid, e.ts_ns, e.v[0]);
      }
      if (!guest) ended(e.pid, e.ts_ns, e.v[0]);
      continue;
    }
    if (call_of[i] == kNoCall) continue;
    const Call& c = calls[call_of[i]];
    if (!selected(c)) continue;
    const std::int64_t result = c.exit != nullptr ? static_cast<std::int64_t>(c.exit->v[0]) : 0;
    if (buffered) {
      // Filtered by status: whole lines, printed when the call returns.
      if (e.kind != TraceKind::kExit) continue;
      p.leader(*c.entry, many);
      append_call(p.buffer(), c, result);
      p.result(*c.entry, e);
      continue;
    }
    if (e.kind == TraceKind::kEntry) {
      interrupt_open_line();
      p.leader(e, many);
      append_call(p.buffer(), c, result);
      p.buffer().resize(p.buffer().size() - 1);  // the ')' comes with the result, or after "resumed>"
      open_line = &c;
      if (c.exit == nullptr) interrupt_open_line();  // the guest ended inside this call
      continue;
    }
    if (open_line == &c) {
      p.text(")");
      p.result(*c.entry, e);
      open_line = nullptr;
      continue;
    }
    interrupt_open_line();
    p.leader(e, many);
    if (c.entry->nr == abi::kSysFutex) {
      p.text("<... futex resumed>)");
    } else {
      fmt::format_to(std::back_inserter(p.buffer()), "<... {} resumed>)", call_name(*c.entry));
    }
    p.result(*c.entry, e);
  }
  interrupt_open_line();
  if (exit) {
    TraceEvent at;
    at.tid = exit->pid;
    at.ts_ns = exit->ts_ns;
    // By now the other threads are gone, so strace has one tracee left and no "[pid N] " (with
    // -o, the pid column as always).
    p.leader(at, false);
    p.text("+++ " + exit->text + " +++");
    p.end();
  }
  return p.take();
}

}  // namespace futexbox::tools
