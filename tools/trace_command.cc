#include "tools/trace_command.h"

#include <signal.h>
#include <string.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <thread>

#include "tools/address_names.h"
#include "tools/trace_chrome.h"
#include "tools/trace_deadlock.h"
#include "tools/trace_file.h"
#include "tools/trace_report.h"
#include "tools/trace_strace.h"
#include "tools/trace_summary.h"

namespace futexbox::tools {

namespace {

std::int64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Collects the guest's events while it runs: a thread drains every ring every kDrainInterval, so the
// rings (32k events per thread) only have to hold what a thread records in that time. At the
// guest's end, the last drain and `on_finish` (the output) run before futexbox reports or exits.
// 5 ms: a guest thread records at most a few million events a second (a served call costs about
// a microsecond and makes two to four), so 32k slots are not filled in that time, while waking
// more often showed up as a cost of its own when futexbox shares the guest's CPU.
constexpr std::chrono::milliseconds kDrainInterval{5};

class TraceCollector final : public RunObserver {
 public:
  using Finish = std::function<void(const GuestExit&, std::vector<TraceEvent>&, pid_t)>;
  TraceCollector(TraceFile& file, AddressNamer& names, const std::string& on_deadlock,
                 Finish on_finish)
      : file_(file), names_(names), on_deadlock_(on_deadlock), on_finish_(std::move(on_finish)) {}
  TraceCollector(const TraceCollector&) = delete;
  TraceCollector& operator=(const TraceCollector&) = delete;
  ~TraceCollector() override { stop(); }

  void add_environment(std::vector<std::string>& env) override {
    env.push_back("FUTEXBOX_AGENT_TRACE=" + file_.path());
  }
  void started(pid_t guest) override {
    guest_ = guest;
    drainer_ = std::thread([this] {
      for (unsigned round = 0; !stopping_.load(std::memory_order_acquire); ++round) {
        drain();
        // The guest's memory map, for naming addresses afterwards (the guest is gone by then):
        // at each process's first event, and every 20 rounds (100 ms) for libraries loaded later.
        if (round % 20 == 0) {
          for (const pid_t pid : pids_) names_.snapshot(pid);
          watch_deadlocks();
        } else if (round % 4 == 0) {
          // Threads come and go faster than the maps change: look for new threads' stacks
          // every 20 ms (a thread is found once it is seen blocked in a syscall).
          for (const pid_t pid : pids_) names_.sample_stacks(pid);
        }
        std::this_thread::sleep_for(kDrainInterval);
      }
    });
  }
  void finished(const GuestExit& exit) override {
    stop();
    drain();  // everything the guest's threads recorded, whatever they died of
    on_finish_(exit, events_, guest_);
  }

 private:
  void drain() {
    const auto now = static_cast<std::uint64_t>(clock_ns(CLOCK_MONOTONIC));
    file_.drain([this, now](const TraceEvent& e) {
      events_.push_back(e);
      if (pids_.insert(e.pid).second) names_.snapshot(e.pid);
      if (on_deadlock_ != "ignore") deadlocks_.observe(e, now);
    });
  }
  // Every 100 ms: a process whose threads are all stuck gets reported (and killed, if asked).
  void watch_deadlocks() {
    if (on_deadlock_ == "ignore") return;
    const auto now = static_cast<std::uint64_t>(clock_ns(CLOCK_MONOTONIC));
    while (std::optional<DeadlockReport> r = deadlocks_.check(now, names_)) {
      std::fputs(r->text.c_str(), stderr);
      if (on_deadlock_ == "abort") {
        std::fprintf(stderr, "futexbox trace: --on-deadlock=abort: killing process %d\n", r->pid);
        kill(r->pid, SIGKILL);
      }
      std::fflush(stderr);
    }
  }
  void stop() {
    stopping_.store(true, std::memory_order_release);
    if (drainer_.joinable()) drainer_.join();
  }

  TraceFile& file_;
  AddressNamer& names_;
  std::string on_deadlock_;
  // Quiet for 300 ms with every thread stuck: checked every 100 ms, so reported within half a second.
  DeadlockWatch deadlocks_{300'000'000};
  std::set<pid_t> pids_;
  Finish on_finish_;
  std::vector<TraceEvent> events_;  // the drainer's, then (after the join) the finisher's
  pid_t guest_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread drainer_;
};

std::string exit_text(const GuestExit& exit) {
  if (exit.signal) {
    const char* abbrev = sigabbrev_np(*exit.signal);
    return std::string("killed by SIG") + (abbrev != nullptr ? abbrev : "?");
  }
  return "exited with " + std::to_string(exit.exit_status);
}

}  // namespace

int trace_program(const TraceOptions& options) {
  auto usage = [](const std::string& message) {
    std::fprintf(stderr, "futexbox trace: %s\n", message.c_str());
    return kRunRefused;
  };
  StraceOptions strace;
  strace.durations = options.durations;
  strace.timestamps = options.timestamps;
  strace.pid_column = !options.output.empty();
  for (const std::string& e : options.expressions) {
    if (!parse_strace_expression(e, strace)) return usage("invalid -e expression '" + e + "'");
  }
  const bool chrome = options.format == "chrome";
  if (!options.format.empty() && options.format != "strace" && !chrome) {
    return usage("unknown --format " + options.format);
  }
  // With --report alone, the page is the output; the calls go to stderr only when asked for.
  const bool text_output = options.report.empty() || !options.output.empty() || options.summary ||
                           !options.format.empty();
  // Open the outputs now: a path that cannot be written is a usage error, not a late surprise.
  std::ofstream file_out, report_out;
  if (!options.output.empty()) {
    file_out.open(options.output);
    if (!file_out) return usage("cannot write " + options.output);
  }
  if (!options.report.empty()) {
    report_out.open(options.report);
    if (!report_out) return usage("cannot write " + options.report);
  }

  // The strace view needs only calls; the wait and wake events are for the views that show
  // contention, and cost the guest time to record.
  TraceFile file = TraceFile::create(chrome || !options.report.empty() ? kTraceWaits : 0);
  AddressNamer names;
  if (options.on_deadlock != "report" && options.on_deadlock != "abort" &&
      options.on_deadlock != "ignore") {
    return usage("--on-deadlock must be report, abort or ignore");
  }
  TraceCollector collector(file, names, options.on_deadlock, [&](const GuestExit& exit, std::vector<TraceEvent>& events,
                                            pid_t guest) {
    if (report_out.is_open()) {
      ReportContext context;
      for (const std::string& arg : options.command) {
        context.command += (context.command.empty() ? "" : " ") + arg;
      }
      context.ending = exit_text(exit);
      context.dropped = file.dropped();
      // The text views below take the events; the report works on its own copy only when both
      // are asked for.
      report_out << format_report(text_output ? events : std::move(events), names, context);
      report_out.close();
      if (!report_out) std::fprintf(stderr, "futexbox trace: cannot write %s\n", options.report.c_str());
    }
    std::string text;
    if (!text_output) {
      // the report was the output
    } else if (options.summary) {
      text = format_summary(std::move(events), names);
    } else if (chrome) {
      text = format_chrome(std::move(events), names);
    } else {
      strace.realtime_offset_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
      StraceExit end;
      end.text = exit_text(exit);
      end.pid = guest;
      end.ts_ns = static_cast<std::uint64_t>(clock_ns(CLOCK_MONOTONIC));
      text = format_strace(std::move(events), strace, end);
    }
    if (file_out.is_open()) {
      file_out << text;
      file_out.close();
      if (!file_out) std::fprintf(stderr, "futexbox trace: cannot write %s\n", options.output.c_str());
    } else {
      std::fputs(text.c_str(), stderr);
    }
    if (const std::uint64_t dropped = file.dropped(); dropped != 0) {
      std::fprintf(stderr, "futexbox trace: events dropped: %llu\n",
                   static_cast<unsigned long long>(dropped));
    }
    std::fflush(stderr);
  });
  RunOptions run;
  run.agent = options.agent;
  run.command = options.command;
  run.observer = &collector;
  run.name = "trace";
  return run_program(run);
}

}  // namespace futexbox::tools
