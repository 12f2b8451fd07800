// futexbox's strace formatter against the host's strace: guests/strace_calls makes a fixed list
// of futex calls under `strace -e trace=futex` and prints what a tracer records for each; every
// line futexbox formats from those records must equal the line strace printed.
#include "tools/trace/views/strace_format.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/runner/process.h"

namespace futexbox::testing {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(StraceFormat, SameLinesAsTheHostStrace) {
  const std::string log =
      (std::filesystem::temp_directory_path() / ("strace." + std::to_string(getpid()))).string();
  RunSpec spec;
  spec.argv = {"strace", "-e", "trace=futex", "-o", log, std::string(FUTEXBOX_GUEST_DIR) + "/strace_calls"};
  const Finished f = run_process(spec);
  ASSERT_EQ(f.exit_code(), 0) << f.describe();
  std::ifstream in(log);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::filesystem::remove(log);
  std::vector<std::string> expected;
  for (const std::string& line : lines_of(buffer.str())) {
    if (line.rfind("futex(", 0) == 0) expected.push_back(line);
  }
  const std::vector<std::string> records = lines_of(f.out);
  ASSERT_EQ(records.size(), expected.size()) << buffer.str();
  ASSERT_GE(records.size(), 30u);
  for (std::size_t i = 0; i < records.size(); ++i) {
    std::istringstream r(records[i]);
    tools::StraceFutexCall call;
    int readable = 0;
    for (auto& a : call.args) r >> a;
    r >> readable >> call.timeout_sec >> call.timeout_nsec >> call.result;
    call.timeout_readable = readable != 0;
    EXPECT_EQ(tools::strace_futex_line(call), expected[i]) << "call " << i << ": " << records[i];
  }
}

TEST(StraceFormat, RestartCodesAsStraceShowsThem) {
  EXPECT_EQ(tools::strace_result(-512), " = ? ERESTARTSYS (To be restarted if SA_RESTART is set)");
  EXPECT_EQ(tools::strace_result(-516), " = ? ERESTART_RESTARTBLOCK (Interrupted by signal)");
  EXPECT_EQ(tools::strace_result(-11), " = -1 EAGAIN (Resource temporarily unavailable)");
  EXPECT_EQ(tools::strace_result(3), " = 3");
}

}  // namespace
}  // namespace futexbox::testing
