// Kernel-level futex behaviour that needs more than one address space, or an embedder's restart:
// things the conformance tests (one host process) cannot show.
#include "kernel/futex_table.h"

#include <gtest/gtest.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "kernel/kernel.h"
#include "syscalls/restart.h"
#include "syscalls/syscall_table.h"
#include "tests/util/test_util.h"

namespace futexbox::kernel {
namespace {

using futexbox::testing::eventually;
using namespace std::chrono_literals;

constexpr GuestAddr kPage = FlatGuestMemory::kPageSize;

std::int64_t futex(Kernel& k, Task& t, GuestAddr a, int op, std::uint32_t val,
                   std::uint64_t val2 = 0) {
  return syscalls::dispatch(k, t, syscalls::SyscallArgs{SYS_futex, {a, static_cast<std::uint64_t>(op), val, val2, 0, 0}});
}

// Two processes map one MemoryObject at different addresses (MAP_SHARED): shared futex ops meet
// across them, private ones never do.
TEST(FutexTable, SharedObjectFutexesMeetAcrossProcesses) {
  Kernel kernel;
  auto object = std::make_shared<MemoryObject>(kPage);
  auto mem_a = std::make_shared<FlatGuestMemory>();
  auto mem_b = std::make_shared<FlatGuestMemory>();
  ASSERT_TRUE(mem_a->map(0x10000, kPage, Prot::kReadWrite, object));
  ASSERT_TRUE(mem_b->map(0x70000, kPage, Prot::kReadWrite, object));
  Task& a = kernel.create_process(mem_a);
  Task& b = kernel.create_process(mem_b);
  const GuestAddr in_a = 0x10000 + 8;
  const GuestAddr in_b = 0x70000 + 8;

  for (const bool shared : {true, false}) {
    std::atomic<std::int64_t> result{1};
    std::thread waiter([&] {
      a.attach_to_current_thread();
      result = futex(kernel, a, in_a, shared ? FUTEX_WAIT : FUTEX_WAIT_PRIVATE, 0,
                     0);  // no timeout: ends only by a wake
    });
    ASSERT_TRUE(eventually([&] { return a.in_futex_wait(); }));
    const std::int64_t woken = futex(kernel, b, in_b, shared ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE, 1);
    if (shared) {
      EXPECT_EQ(woken, 1);
    } else {
      EXPECT_EQ(woken, 0);  // a private key is (address space, address): B cannot reach A
      EXPECT_EQ(futex(kernel, a, in_a, FUTEX_WAKE_PRIVATE, 1), 1);
    }
    waiter.join();
    EXPECT_EQ(result.load(), 0);
  }
}

// One guest process with one read-write page at 0x10000.
class OneProcess : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mem->map(0x10000, kPage, Prot::kReadWrite)); }

  Kernel kernel;
  std::shared_ptr<FlatGuestMemory> mem = std::make_shared<FlatGuestMemory>();
  Task& main = kernel.create_process(mem);
};

// An interrupted timed FUTEX_WAIT with no handler to run is resumed by restart_syscall(2) with its
// original absolute deadline: the total wait is the timeout asked for, not more.
TEST_F(OneProcess, RestartSyscallKeepsTheAbsoluteDeadline) {
  Task& t = kernel.create_thread(main.process());
  const std::int64_t ts[2] = {0, 200'000'000};  // 200 ms, relative
  ASSERT_TRUE(mem->copy_out(0x10100, ts, sizeof(ts)));
  std::int64_t final_result = 1;
  int restarts = 0;
  std::chrono::steady_clock::duration took{};
  std::thread thread([&] {
    t.attach_to_current_thread();
    const auto start = std::chrono::steady_clock::now();
    syscalls::SyscallArgs args{SYS_futex, {0x10000, FUTEX_WAIT_PRIVATE, 0, 0x10100, 0, 0}};
    for (;;) {
      const std::int64_t rax = syscalls::dispatch(kernel, t, args);
      if (!t.interrupt_pending()) {
        final_result = rax;
        break;
      }
      t.clear_interrupt();
      // A signal with no handler (say SIGSTOP then SIGCONT): Linux's rules say restart.
      const syscalls::RestartDecision d = syscalls::apply_restart_rules(rax, false, false);
      EXPECT_EQ(d.action, syscalls::RestartAction::kRestartSyscall);
      args = syscalls::SyscallArgs{219, {}};
      ++restarts;
    }
    took = std::chrono::steady_clock::now() - start;
  });
  ASSERT_TRUE(eventually([&] { return t.in_futex_wait(); }));
  std::this_thread::sleep_for(50ms);
  t.interrupt();
  thread.join();
  EXPECT_EQ(restarts, 1);
  EXPECT_EQ(final_result, -static_cast<std::int64_t>(Errno::kETIMEDOUT));
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 390ms);  // a restart that re-armed a fresh 200 ms would need 250 ms or more
}

// A wake that reaches the waiter before the interruption is consumed, never turned into EINTR.
TEST_F(OneProcess, AWakeThatRacesAnInterruptionIsNeverLost) {
  for (int round = 0; round < 300; ++round) {
    Task& t = kernel.create_thread(main.process());
    std::int64_t result = 1;
    std::thread waiter([&] {
      t.attach_to_current_thread();
      result = futex(kernel, t, 0x10000, FUTEX_WAIT_PRIVATE, 0);
    });
    ASSERT_TRUE(eventually([&] { return t.in_futex_wait(); }));
    std::thread interrupter([&] { t.interrupt(); });
    const std::int64_t woken = futex(kernel, main, 0x10000, FUTEX_WAKE_PRIVATE, 1);
    interrupter.join();
    waiter.join();
    // Either the wake got it (it returns 0 and the wake counted it) or the interruption did
    // (ERESTARTSYS, and the wake found nobody): never both, never neither.
    if (woken == 1) {
      EXPECT_EQ(result, 0);
    } else {
      EXPECT_EQ(woken, 0);
      EXPECT_EQ(result, -static_cast<std::int64_t>(Errno::kERESTARTSYS));
    }
    kernel.remove_task(t);
  }
}

// exec releases robust futexes like exit does (futex_exec_release), and the task lives on with no
// robust list registered.
TEST_F(OneProcess, ExecWalksTheRobustList) {
  Task& t = kernel.create_thread(main.process());
  // head at 0x10000 -> entry at 0x10100 -> head; the futex word is entry + 8.
  const std::uint64_t head[3] = {0x10100, 8, 0};
  const std::uint64_t entry_next = 0x10000;
  ASSERT_TRUE(mem->copy_out(0x10000, head, sizeof(head)));
  ASSERT_TRUE(mem->copy_out(0x10100, &entry_next, sizeof(entry_next)));
  ASSERT_TRUE(mem->store_u32(0x10108, static_cast<std::uint32_t>(t.tid())));
  EXPECT_EQ(syscalls::dispatch(kernel, t, syscalls::SyscallArgs{SYS_set_robust_list, {0x10000, 24}}),
            0);
  EXPECT_EQ(syscalls::dispatch(kernel, t, syscalls::SyscallArgs{SYS_execve, {}}), 0);
  EXPECT_EQ(mem->load_u32(0x10108).value(), static_cast<std::uint32_t>(FUTEX_OWNER_DIED));
  EXPECT_EQ(t.robust_list_head, 0u);
  EXPECT_EQ(kernel.find_task(t.tid()), &t);  // still alive after exec
}

}  // namespace
}  // namespace futexbox::kernel
