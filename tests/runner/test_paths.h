// Paths the runner's end-to-end tests share: the futexbox binary and guests under test, a
// per-test-process temporary file name, and reading a file back whole.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace futexbox::testing {

inline const std::string kFutexbox = FUTEXBOX_BIN;

inline std::string guest(const std::string& name) {
  return std::string(FUTEXBOX_GUEST_DIR) + "/" + name;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A name under $TMPDIR unique to this test process: futexbox-test.WHAT.PID.
inline std::string temp(const std::string& what) {
  return (std::filesystem::temp_directory_path() /
          ("futexbox-test." + what + "." + std::to_string(getpid())))
      .string();
}

}  // namespace futexbox::testing
