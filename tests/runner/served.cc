#include "tests/runner/served.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/runner/test_paths.h"

namespace futexbox::testing {
namespace {

// A stats file name unique to this process and test.
std::string stats_path() {
  std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (char& c : test) {
    if (c == '/') c = '_';
  }
  return (std::filesystem::temp_directory_path() /
          ("stats.json." + std::to_string(getpid()) + "." + test))
      .string();
}

}  // namespace

Served run_served(const std::vector<std::string>& command, RunSpec spec) {
  const std::string stats = stats_path();
  spec.argv = {kFutexbox, "run", "--stats-json", stats, "--"};
  spec.argv.insert(spec.argv.end(), command.begin(), command.end());
  Served s{run_process(spec), nlohmann::json()};
  std::ifstream in(stats);
  if (in) s.stats = nlohmann::json::parse(in);  // a real parser: malformed JSON fails the test
  std::filesystem::remove(stats);
  return s;
}

Finished run_native(const std::vector<std::string>& command, RunSpec spec) {
  spec.argv = command;
  return run_process(spec);
}

std::uint64_t total_served(const Served& s) {
  std::uint64_t n = 0;
  if (s.stats.is_null() || !s.stats.contains("served")) return 0;
  for (const auto& [op, calls] : s.stats["served"].items()) n += calls.get<std::uint64_t>();
  return n;
}

std::uint64_t served(const Served& s, const std::string& op) {
  return s.stats.is_null() ? 0 : s.stats["served"].value(op, std::uint64_t{0});
}

std::uint64_t op_field(const Served& s, const std::string& op, const std::string& field) {
  if (s.stats.is_null() || !s.stats["ops"].contains(op)) return 0;
  return s.stats["ops"][op].value(field, std::uint64_t{0});
}

void expect_private_ops_served(const nlohmann::json& stats) {
  ASSERT_TRUE(stats.contains("forwarded")) << stats.dump();
  for (const auto& [op, calls] : stats["forwarded"].items()) {
    EXPECT_EQ(op.find("_PRIVATE"), std::string::npos) << op << " was forwarded " << calls;
  }
}

Served expect_same_as_native(const std::vector<std::string>& command, std::uint64_t min_served,
                             RunSpec spec) {
  const Finished native = run_native(command, spec);
  Served s = run_served(command, spec);
  EXPECT_EQ(s.run.out, native.out) << "native:\n"
                                   << native.describe() << "\nserved:\n"
                                   << s.run.describe();
  EXPECT_EQ(s.run.status, native.status) << s.run.describe();
  EXPECT_FALSE(s.stats.is_null()) << "no --stats-json written\n" << s.run.describe();
  if (!s.stats.is_null()) {
    EXPECT_GE(total_served(s), min_served) << s.stats.dump(2);
    expect_private_ops_served(s.stats);
    EXPECT_EQ(s.stats["exit_status"].get<int>(), native.exited() ? native.exit_code()
                                                                   : 128 + native.signal());
  }
  return s;
}

}  // namespace futexbox::testing
