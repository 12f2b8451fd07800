// gVisor-style matchers on a raw syscall result (value, or -errno).
#pragma once

#include <gmock/gmock.h>

#include <cstring>
#include <string>

namespace futexbox::conformance {

inline std::string describe_result(std::int64_t r) {
  if (r < 0 && r > -4096) return "fails with " + std::string(strerrorname_np(static_cast<int>(-r)));
  return "returns " + std::to_string(r);
}

MATCHER_P(SyscallSucceedsWithValue, expected,
          "succeeds with value " + ::testing::PrintToString(expected)) {
  *result_listener << describe_result(arg);
  return arg == static_cast<std::int64_t>(expected);
}

MATCHER(SyscallSucceeds, "succeeds") {
  *result_listener << describe_result(arg);
  return arg >= 0;
}

MATCHER_P(SyscallFailsWithErrno, err,
          "fails with " + std::string(strerrorname_np(static_cast<int>(err)))) {
  *result_listener << describe_result(arg);
  return arg == -static_cast<std::int64_t>(err);
}

}  // namespace futexbox::conformance
