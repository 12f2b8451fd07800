// RunReport: what `futexbox run --stats` prints and `--stats-json` writes, from the shared
// RunStatsPage once every guest process is gone.
#pragma once

#include <string>

#include "tools/launch/guest_exit.h"
#include "tools/protocol/run_stats.h"

namespace futexbox::tools {

// A table: per op, calls served and forwarded, waits, woken, timeouts and EINTRs, then threads
// and processes seen.
std::string format_run_summary(const RunStatsPage& stats, const GuestExit& exit);

// One JSON object: {"served": {op: calls}, "forwarded": {op: calls}, "ops": {op: {...}},
// "threads", "processes", "exec_refused", "exit_status", "signal"}.
std::string format_run_json(const RunStatsPage& stats, const GuestExit& exit);

}  // namespace futexbox::tools
