// GuestExit: how a guest's main process ended, as futexbox propagates it.
#pragma once

#include <optional>

namespace futexbox::tools {

struct GuestExit {
  int exit_status = 0;        // the exit code, or 128 + signal for a guest killed by a signal
  std::optional<int> signal;  // the terminating signal, if any
};

}  // namespace futexbox::tools
