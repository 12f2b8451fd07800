// Running a command to completion with its stdout and stderr captured (for the runner's tests and
// benchmarks).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace futexbox::testing {

struct Finished {
  std::string out;
  std::string err;
  int status = 0;  // as waitpid reports it
  double seconds = 0;
  [[nodiscard]] bool exited() const;
  [[nodiscard]] int exit_code() const;    // -1 unless exited()
  [[nodiscard]] int signal() const;       // 0 unless killed by a signal
  [[nodiscard]] std::string describe() const;  // for failure messages
};

struct RunSpec {
  std::vector<std::string> argv;
  std::vector<std::string> extra_env;  // NAME=value added to the inherited environment
  std::string stdin_data;
  int cpu = -1;  // pin the child to this CPU
  std::chrono::seconds timeout{120};
  // Called with the child's pid and each chunk of stdout as it arrives.
  std::function<void(pid_t, const std::string& out_so_far)> on_output;
};

Finished run_process(const RunSpec& spec);

}  // namespace futexbox::testing
