// Reading a guest's relative timeout (struct __kernel_timespec), as rt_sigtimedwait and ppoll
// take it: EFAULT if unreadable, EINVAL unless 0 <= tv_nsec < 10^9 and tv_sec >= 0.
#pragma once

#include <cstdint>
#include <limits>

#include "kernel/error_or.h"
#include "kernel/task.h"
#include "abi/futex.h"
#include "abi/time.h"

namespace futexbox::syscalls {

inline kernel::ErrorOr<std::int64_t> read_relative_timeout_ns(kernel::Task& task,
                                                               kernel::GuestAddr uts) noexcept {
  const abi::Timespec ts = FUTEXBOX_TRY(task.memory().read<abi::Timespec>(uts));
  if (ts.tv_sec < 0 || static_cast<std::uint64_t>(ts.tv_nsec) >= 1'000'000'000ull) {
    return kernel::Errno::kEINVAL;
  }
  constexpr std::int64_t kMaxSec = std::numeric_limits<std::int64_t>::max() / 1'000'000'000;
  return ts.tv_sec > kMaxSec ? std::numeric_limits<std::int64_t>::max()
                             : ts.tv_sec * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace futexbox::syscalls
