#include "syscalls/restart.h"

#include "abi/errno.h"

namespace futexbox::syscalls {

RestartDecision apply_restart_rules(std::int64_t rax, bool handler, bool sa_restart) noexcept {
  using abi::Errno;
  const std::int64_t eintr = -static_cast<std::int64_t>(Errno::kEINTR);
  const auto is = [&](Errno e) { return rax == -static_cast<std::int64_t>(e); };
  if (is(Errno::kERESTARTNOINTR)) return {RestartAction::kRestartSame, rax};
  if (is(Errno::kERESTARTSYS)) {
    if (handler && !sa_restart) return {RestartAction::kReturn, eintr};
    return {RestartAction::kRestartSame, rax};
  }
  if (is(Errno::kERESTARTNOHAND)) {
    return handler ? RestartDecision{RestartAction::kReturn, eintr}
                   : RestartDecision{RestartAction::kRestartSame, rax};
  }
  if (is(Errno::kERESTART_RESTARTBLOCK)) {
    return handler ? RestartDecision{RestartAction::kReturn, eintr}
                   : RestartDecision{RestartAction::kRestartSyscall, rax};
  }
  return {RestartAction::kReturn, rax};
}

}  // namespace futexbox::syscalls
