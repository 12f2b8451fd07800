// Time in the Linux x86-64 ABI: struct __kernel_timespec, as futex, futex_waitv, rt_sigtimedwait
// and ppoll read it.
#pragma once

#include <cstdint>

namespace futexbox::abi {

struct Timespec {  // struct __kernel_timespec
  std::int64_t tv_sec;
  std::int64_t tv_nsec;
};
static_assert(sizeof(Timespec) == 16);

inline constexpr std::int64_t kNanosecondsPerSecond = 1'000'000'000;

}  // namespace futexbox::abi
