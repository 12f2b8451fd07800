// futexbox trace --report FILE.html: the trace as one self-contained HTML page (no network, no
// external file: styles, data and script are inline) that any browser opens offline. It holds
//   - what ran and how it ended, the calls, threads and processes, dropped events;
//   - the per-op table of -c (tools/trace_summary.h);
//   - the contention table (tools/trace_profile.h) with a wait-time histogram per futex word
//     (inline SVG, power-of-two buckets on one shared axis so rows compare);
//   - a timeline: a lane per thread, a bar per wait coloured by its word, a mark per wake and an
//     arrow from each waker to each thread it woke; drag pans, the wheel zooms.
// The timeline is drawn by the page's script from the JSON embedded in it, so a browser that ran
// the script leaves `data-drawn` (the bars drawn) on #timeline; errors show in #report-error. The
// page keeps the longest kTimelineWaits waits and kTimelineFlows wake arrows and says so when it
// leaves some out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/trace/address_names.h"
#include "tools/protocol/trace_file.h"

namespace futexbox::tools {

struct ReportContext {
  std::string command;  // the guest's command line
  std::string ending;   // "exited with 0", "killed by SIGSEGV"
  std::uint64_t dropped = 0;
};

inline constexpr std::size_t kTimelineWaits = 20000;
inline constexpr std::size_t kTimelineFlows = 20000;

std::string format_report(std::vector<TraceEvent> events, const AddressNamer& names,
                          const ReportContext& context);

}  // namespace futexbox::tools
