#include "syscalls/restart.h"

#include <gtest/gtest.h>

#include "abi/errno.h"
#include "syscalls/syscall_table.h"

namespace futexbox::syscalls {
namespace {

using kernel::Errno;

std::int64_t neg(Errno e) { return -static_cast<std::int64_t>(e); }

TEST(RestartRules, MatchLinuxSignalDelivery) {
  struct Case {
    Errno code;
    bool handler;
    bool sa_restart;
    RestartAction action;
    std::int64_t rax;
  };
  const std::int64_t eintr = neg(Errno::kEINTR);
  const Case cases[] = {
      {Errno::kERESTARTSYS, true, true, RestartAction::kRestartSame, 0},
      {Errno::kERESTARTSYS, true, false, RestartAction::kReturn, eintr},
      {Errno::kERESTARTSYS, false, false, RestartAction::kRestartSame, 0},
      {Errno::kERESTARTNOINTR, true, false, RestartAction::kRestartSame, 0},
      {Errno::kERESTARTNOINTR, false, false, RestartAction::kRestartSame, 0},
      {Errno::kERESTARTNOHAND, true, true, RestartAction::kReturn, eintr},
      {Errno::kERESTARTNOHAND, false, false, RestartAction::kRestartSame, 0},
      {Errno::kERESTART_RESTARTBLOCK, true, true, RestartAction::kReturn, eintr},
      {Errno::kERESTART_RESTARTBLOCK, false, false, RestartAction::kRestartSyscall, 0},
  };
  for (const Case& c : cases) {
    const RestartDecision d = apply_restart_rules(neg(c.code), c.handler, c.sa_restart);
    EXPECT_EQ(d.action, c.action) << abi::errno_name(c.code) << " " << c.handler << c.sa_restart;
    if (c.action == RestartAction::kReturn) {
      EXPECT_EQ(d.rax, c.rax);
    }
  }
  // Anything else passes through.
  EXPECT_EQ(apply_restart_rules(5, true, false).rax, 5);
  EXPECT_EQ(apply_restart_rules(neg(Errno::kEAGAIN), true, false).rax, neg(Errno::kEAGAIN));
}

TEST(SyscallTable, SortedUniqueAndUnknownIsEnosys) {
  std::int64_t last = -1;
  for (const SyscallEntry& e : syscall_table()) {
    EXPECT_GT(static_cast<std::int64_t>(e.nr), last) << e.name;
    last = e.nr;
    EXPECT_EQ(e.handler == nullptr, e.support == Support::kNone) << e.name;
  }
  EXPECT_EQ(find_syscall(2), nullptr);  // open: not emulated, so ENOSYS
  EXPECT_EQ(find_syscall(100000), nullptr);
  EXPECT_NE(find_syscall(0), nullptr);
  EXPECT_NE(find_syscall(202), nullptr);
  EXPECT_EQ(abi::errno_name(Errno::kETIMEDOUT), "ETIMEDOUT");
  EXPECT_EQ(abi::errno_description(Errno::kEAGAIN), "Resource temporarily unavailable");
}

}  // namespace
}  // namespace futexbox::syscalls
