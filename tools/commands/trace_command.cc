#include "tools/commands/trace_command.h"

#include <string.h>

#include <cstdio>
#include <fstream>
#include <optional>

#include "sync/deadline.h"
#include "tools/trace/address_names.h"
#include "tools/trace/views/chrome.h"
#include "tools/launch/launcher.h"
#include "tools/trace/collector.h"
#include "tools/protocol/trace_file.h"
#include "tools/trace/views/report.h"
#include "tools/trace/views/strace.h"
#include "tools/trace/views/summary.h"

namespace futexbox::tools {

namespace {

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
  CollectorOptions collect;
  collect.on_deadlock = options.on_deadlock;
  TraceCollector collector(file, names, collect, [&](const GuestExit& exit, std::vector<TraceEvent>& events,
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
      strace.realtime_offset_ns = sync::Deadline::now_ns(sync::ClockKind::kRealtime) -
                                  sync::Deadline::now_ns(sync::ClockKind::kMonotonic);
      StraceExit end;
      end.text = exit_text(exit);
      end.pid = guest;
      end.ts_ns = static_cast<std::uint64_t>(sync::Deadline::now_ns(sync::ClockKind::kMonotonic));
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
  LaunchOptions launch;
  launch.name = "trace";
  launch.agent = options.agent;
  launch.command = options.command;
  RunObserver* const observers[] = {&collector};  // which also watches for deadlocks as asked
  return launch_guest(launch, observers);
}

}  // namespace futexbox::tools
