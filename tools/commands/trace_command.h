// `futexbox trace [options] [--] PROGRAM [ARGS...]`: runs PROGRAM as `futexbox run` does and
// records every futex-family call it makes, served or forwarded, then prints them the way
// `strace -f -e trace=futex` would (docs/tracing.md).
//
// Exit status: the guest's (a guest killed by a signal kills futexbox with it), 2 for usage
// errors and refusals, as `futexbox run`.
#pragma once

#include <string>
#include <vector>

#include "tools/trace/deadlock_watch.h"

namespace futexbox::tools {

struct TraceOptions {
  std::string output;                    // -o FILE; empty: stderr
  bool durations = false;                // -T
  int timestamps = 0;                    // -t, -tt, -ttt
  std::vector<std::string> expressions;  // -e EXPR
  std::string format;  // "strace" or "chrome"; empty: strace, unless only a report is asked for
  std::string report;  // --report FILE.html (tools/trace_report.h)
  bool summary = false;  // -c: the per-op table and the contention profile instead of the lines
  // What to do when every thread of a guest process is stuck in an untimed futex wait: print a
  // report ("report"), print it and kill the guest ("abort"), or nothing ("ignore").
  OnDeadlock on_deadlock = OnDeadlock::kReport;
  std::string agent;
  std::vector<std::string> command;
};

int trace_program(const TraceOptions& options);

}  // namespace futexbox::tools
