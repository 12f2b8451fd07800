// The syscalls the agent's seccomp filter traps (unless they come from the agent's gadget): the
// futex family, which the agent serves or forwards, and the calls it must see. Shared by the
// filter (seccomp_filter.h), the SIGSYS handler and the audit module (audit/audit_module.cc),
// which serves the same calls before an image's agent is up.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "abi/syscall_numbers.h"
#include "syscalls/futex_call.h"

namespace futexbox::tools::agent {

template <std::size_t N>
constexpr bool lists_call(const std::array<std::uint32_t, N>& calls, long nr) noexcept {
  for (const std::uint32_t t : calls) {
    if (static_cast<long>(t) == nr) return true;
  }
  return false;
}

// Besides the futex family: the signal calls the agent answers for the guest (guest_signals.h),
// exec (exec_guard.h), and exit and exit_group so that a thread's slot is given back and
// futexbox trace can record threads' and processes' ends (the agent issues them at once).
inline constexpr std::array<std::uint32_t, 6> kAlsoTrapped = {
    abi::kSysRtSigaction, abi::kSysRtSigprocmask, abi::kSysExecve,
    abi::kSysExecveat,    abi::kSysExit,          abi::kSysExitGroup};

// The calls that install a temporary signal mask for their duration: a full one would really
// block SIGSYS, and a handler that runs inside and makes a trapped call would kill the process.
// The agent issues them with SIGSYS open (temporary_masks.h).
inline constexpr std::array<std::uint32_t, 5> kTemporaryMaskCalls = {
    abi::kSysRtSigsuspend, abi::kSysPselect6, abi::kSysPpoll, abi::kSysEpollPwait,
    abi::kSysEpollPwait2};

inline constexpr auto kTrappedCalls = [] {
  std::array<std::uint32_t, syscalls::kFutexFamily.size() + kAlsoTrapped.size() +
                                kTemporaryMaskCalls.size()>
      all{};
  std::size_t n = 0;
  for (const std::uint32_t nr : syscalls::kFutexFamily) all[n++] = nr;
  for (const std::uint32_t nr : kAlsoTrapped) all[n++] = nr;
  for (const std::uint32_t nr : kTemporaryMaskCalls) all[n++] = nr;
  return all;
}();

constexpr bool is_temporary_mask_call(long nr) noexcept {
  return lists_call(kTemporaryMaskCalls, nr);
}

constexpr bool is_trapped_call(long nr) noexcept { return lists_call(kTrappedCalls, nr); }

}  // namespace futexbox::tools::agent
