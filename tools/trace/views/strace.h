// The strace view of a recorded trace: the lines `strace -f -e trace=futex` prints for the same
// calls, with its conventions: `[pid N] ` once more than one thread is traced, a call that another
// thread's line interrupts printed as `... <unfinished ...>` and finished as
// `<... futex resumed>) = ...`, `-T` durations, `-t`/`-tt`/`-ttt` timestamps, and `-e` filters.
// The calls themselves are formatted by tools/strace_format.h (checked against the host strace).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/protocol/trace_file.h"

namespace futexbox::tools {

struct StraceOptions {
  bool durations = false;  // -T: " <0.000123>" after the result
  int timestamps = 0;      // -t 1, -tt 2, -ttt 3
  // Filters (-e): show only calls whose result is an error (failed) or is not (successful).
  enum class Status : std::uint8_t { kAll, kFailed, kSuccessful } status = Status::kAll;
  // -e op=NAME,...: only futex(2) calls whose op prints as one of these (strace's spelling,
  // e.g. FUTEX_WAIT_PRIVATE); empty: all.
  std::vector<std::string> ops;
  // CLOCK_REALTIME minus CLOCK_MONOTONIC, for -t timestamps (records carry monotonic time).
  std::int64_t realtime_offset_ns = 0;
  // Output to a file (-o): like `strace -f -o FILE`, every line starts with its pid in a column.
  bool pid_column = false;
};

// How the guest ended, for strace's closing "+++ exited with 0 +++" line.
struct StraceExit {
  std::string text;  // "exited with 0", "killed by SIGTERM"
  std::int32_t pid = 0;
  std::uint64_t ts_ns = 0;  // CLOCK_MONOTONIC
};

// Parses one -e expression ("trace=futex", "status=failed", "op=FUTEX_WAKE_PRIVATE,...");
// false for anything else.
bool parse_strace_expression(const std::string& expression, StraceOptions& options);

// The trace's lines, oldest first. `exit` ("exited with 0" / "killed by SIGTERM") ends it as
// strace's "+++ ... +++" line does.
std::string format_strace(std::vector<TraceEvent> events, const StraceOptions& options,
                          const std::optional<StraceExit>& exit);

}  // namespace futexbox::tools
