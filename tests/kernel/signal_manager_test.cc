// SignalManager and process lifetime, through the kernel API an embedder uses: default actions
// reported, stop/continue interplay, SIGKILL ending every blocked wait of a process, kill(-1), and
// a process's exit removing its signal state, descriptors and pipe ends exactly once (the ASan
// build's LeakSanitizer checks nothing is left behind).
#include <gtest/gtest.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "kernel/kernel.h"
#include "kernel/pipe.h"
#include "syscalls/restart.h"
#include "syscalls/syscall_table.h"
#include "tests/util/test_util.h"

namespace futexbox::kernel {
namespace {

using futexbox::testing::eventually;
using abi::sig::sig_bit;
using Action = SignalDelivery::Action;

constexpr GuestAddr kBase = 0x10000;

class SignalManagerTest : public ::testing::Test {
 protected:
  std::shared_ptr<FlatGuestMemory> memory() {
    auto m = std::make_shared<FlatGuestMemory>();
    EXPECT_TRUE(m->map(kBase, 16 * 4096, Prot::kReadWrite));
    return m;
  }
  std::int64_t sys(Task& t, std::uint64_t nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                   std::uint64_t a2 = 0, std::uint64_t a3 = 0) {
    return syscalls::dispatch(kernel_, t, syscalls::SyscallArgs{nr, {a0, a1, a2, a3, 0, 0}});
  }
  Action next_action(Task& t) {
    const std::optional<SignalDelivery> d = kernel_.signals().next_delivery(t);
    EXPECT_TRUE(d.has_value());
    return d ? d->action : Action::kHandler;
  }
  Kernel kernel_;
};

TEST_F(SignalManagerTest, DefaultActionsAreReportedToTheEmbedder) {
  Task& a = kernel_.create_process(memory());
  Task& b = kernel_.create_process(memory());
  // Ignored by default: discarded when sent, nothing to deliver.
  ASSERT_EQ(sys(b, SYS_kill, static_cast<std::uint64_t>(a.process().pid()), abi::sig::kSigChld), 0);
  EXPECT_FALSE(kernel_.signals().next_delivery(a).has_value());
  EXPECT_FALSE(a.interrupt_pending());
  ASSERT_EQ(sys(b, SYS_kill, static_cast<std::uint64_t>(a.process().pid()), abi::sig::kSigStop), 0);
  EXPECT_TRUE(a.interrupt_pending());
  EXPECT_EQ(next_action(a), Action::kStop);
  ASSERT_EQ(sys(b, SYS_kill, static_cast<std::uint64_t>(a.process().pid()), abi::sig::kSigCont), 0);
  EXPECT_EQ(next_action(a), Action::kContinue);
  EXPECT_FALSE(a.interrupt_pending());
  ASSERT_EQ(sys(b, SYS_kill, static_cast<std::uint64_t>(a.process().pid()), abi::sig::kSigSegv), 0);
  EXPECT_EQ(next_action(a), Action::kCoreDump);
  // Once a process is dying, it stays dying, and further signals are dropped.
  EXPECT_EQ(next_action(a), Action::kCoreDump);
  ASSERT_EQ(sys(b, SYS_kill, static_cast<std::uint64_t>(b.process().pid()), abi::sig::kSigTerm), 0);
  const std::optional<SignalDelivery> d = kernel_.signals().next_delivery(b);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->action, Action::kTerminate);
  EXPECT_TRUE(d->group_exit);
  EXPECT_EQ(d->signo, abi::sig::kSigTerm);
  kernel_.exit_task(a);
  kernel_.exit_task(b);
}

TEST_F(SignalManagerTest, StopAndContinueCancelEachOthersPendingInstances) {
  Task& a = kernel_.create_process(memory());
  const abi::sig::SigSet both = sig_bit(abi::sig::kSigTstp) | sig_bit(abi::sig::kSigCont);
  ASSERT_TRUE(kernel_.signals().change_mask(a, 0, &both, nullptr));
  ASSERT_TRUE(kernel_.signals().kill(a, a.process().pid(), abi::sig::kSigTstp));
  EXPECT_EQ(kernel_.signals().pending(a), sig_bit(abi::sig::kSigTstp));
  ASSERT_TRUE(kernel_.signals().kill(a, a.process().pid(), abi::sig::kSigCont));
  EXPECT_EQ(kernel_.signals().pending(a), sig_bit(abi::sig::kSigCont));
  ASSERT_TRUE(kernel_.signals().kill(a, a.process().pid(), abi::sig::kSigTstp));
  EXPECT_EQ(kernel_.signals().pending(a), sig_bit(abi::sig::kSigTstp));
  kernel_.exit_task(a);
}

TEST_F(SignalManagerTest, NewThreadsStartWithTheGivenMask) {
  Task& a = kernel_.create_process(memory());
  Task& t = kernel_.create_thread(a.process(), 0, sig_bit(abi::sig::kSigUsr1) |
                                                      sig_bit(abi::sig::kSigKill));
  EXPECT_EQ(kernel_.signals().mask(t), sig_bit(abi::sig::kSigUsr1));
  kernel_.exit_task(t);
  kernel_.exit_task(a);
}

TEST_F(SignalManagerTest, KillMinusOneReachesEveryOtherProcessButNotTheSender) {
  Task& a = kernel_.create_process(memory());
  Task& b = kernel_.create_process(memory());
  Task& c = kernel_.create_process(memory());
  for (Task* t : {&a, &b, &c}) {
    const abi::sig::SigSet usr1 = sig_bit(abi::sig::kSigUsr1);
    ASSERT_TRUE(kernel_.signals().change_mask(*t, 0, &usr1, nullptr));
  }
  ASSERT_EQ(sys(a, SYS_kill, static_cast<std::uint64_t>(-1), abi::sig::kSigUsr1), 0);
  EXPECT_EQ(kernel_.signals().pending(a), 0u);
  EXPECT_EQ(kernel_.signals().pending(b), sig_bit(abi::sig::kSigUsr1));
  EXPECT_EQ(kernel_.signals().pending(c), sig_bit(abi::sig::kSigUsr1));
  for (Task* t : {&a, &b, &c}) kernel_.exit_task(*t);
  // With nobody else left, there is no one to signal.
  Task& alone = kernel_.create_process(memory());
  EXPECT_EQ(sys(alone, SYS_kill, static_cast<std::uint64_t>(-1), 0), -ESRCH);
  kernel_.exit_task(alone);
}

// SIGKILL from another process ends every blocked wait of the victim: futex, pipe, eventfd,
// rt_sigtimedwait, poll. Each thread's embedder then learns the group is exiting.
TEST_F(SignalManagerTest, SigkillEndsEveryBlockedWaitOfTheProcess) {
  auto mem = memory();
  Task& victim = kernel_.create_process(mem);
  Task& killer = kernel_.create_process(memory());
  // The victim's objects: a pipe and an eventfd, a futex word, a signal set.
  ASSERT_EQ(sys(victim, SYS_pipe2, kBase, 0), 0);
  const auto rfd = static_cast<std::uint64_t>(mem->load_u32(kBase).value());
  ASSERT_EQ(sys(victim, SYS_eventfd2, 0, 0), 2);
  const GuestAddr word = kBase + 64;
  const GuestAddr set = kBase + 128;
  const abi::sig::SigSet rt = sig_bit(40);
  ASSERT_TRUE(mem->copy_out(set, &rt, sizeof(rt)));
  struct PollFd {
    std::int32_t fd;
    std::int16_t events, revents;
  } pfd{static_cast<std::int32_t>(rfd), 1, 0};
  ASSERT_TRUE(mem->copy_out(kBase + 192, &pfd, sizeof(pfd)));

  std::vector<std::thread> threads;
  std::atomic<int> returned{0};
  std::vector<std::int64_t> results(5, 1);
  std::vector<Action> actions(5, Action::kHandler);
  std::atomic<int> started{0};
  auto start = [&](int i, std::function<std::int64_t(Task&)> call) {
    threads.emplace_back([&, i, call] {
      Task& t = kernel_.create_thread(victim.process());
      t.attach_to_current_thread();
      started.fetch_add(1);
      results[static_cast<std::size_t>(i)] = call(t);
      const std::optional<SignalDelivery> d = kernel_.signals().next_delivery(t);
      actions[static_cast<std::size_t>(i)] = d ? d->action : Action::kHandler;
      returned.fetch_add(1);
      kernel_.exit_task(t);
    });
  };
  start(0, [&](Task& t) { return sys(t, SYS_futex, word, FUTEX_WAIT_PRIVATE, 0); });
  start(1, [&](Task& t) { return sys(t, SYS_read, rfd, kBase + 1024, 10); });
  start(2, [&](Task& t) { return sys(t, SYS_read, 2, kBase + 2048, 8); });
  start(3, [&](Task& t) { return sys(t, SYS_rt_sigtimedwait, set, 0, 0, 8); });
  start(4, [&](Task& t) { return sys(t, SYS_poll, kBase + 192, 1, static_cast<std::uint64_t>(-1)); });
  ASSERT_TRUE(eventually([&] { return started.load() == 5; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(returned.load(), 0);
  ASSERT_EQ(sys(killer, SYS_kill, static_cast<std::uint64_t>(victim.process().pid()),
                abi::sig::kSigKill),
            0);
  for (auto& t : threads) t.join();
  EXPECT_EQ(results[0], -static_cast<std::int64_t>(Errno::kERESTARTSYS));
  EXPECT_EQ(results[1], -static_cast<std::int64_t>(Errno::kERESTARTSYS));
  EXPECT_EQ(results[2], -static_cast<std::int64_t>(Errno::kERESTARTSYS));
  EXPECT_EQ(results[3], -EINTR);
  EXPECT_EQ(results[4], -static_cast<std::int64_t>(Errno::kERESTARTNOHAND));
  for (const Action a : actions) EXPECT_EQ(a, Action::kTerminate);
  EXPECT_EQ(next_action(victim), Action::kTerminate);
  kernel_.exit_task(victim);
  kernel_.exit_task(killer);
  EXPECT_EQ(kernel_.process_count(), 0u);
}

// A timed FUTEX_WAIT stopped by SIGSTOP (no handler runs) is resumed through restart_syscall(2)
// with its original absolute deadline: the whole call takes the timeout, not timeout + time stopped.
TEST_F(SignalManagerTest, StoppedTimedFutexWaitResumesWithTheSameDeadline) {
  auto mem = memory();
  Task& a = kernel_.create_process(mem);
  Task& other = kernel_.create_process(memory());
  ASSERT_TRUE(mem->copy_out(kBase + 16, std::array<std::int64_t, 2>{0, 300'000'000}.data(), 16));
  std::atomic<std::int64_t> result{1};
  std::atomic<int> restarts{0};
  std::chrono::steady_clock::duration took{};
  std::thread waiter([&] {
    Task& t = kernel_.create_thread(a.process());
    t.attach_to_current_thread();
    const auto start = std::chrono::steady_clock::now();
    syscalls::SyscallArgs args{SYS_futex, {kBase, FUTEX_WAIT_PRIVATE, 0, kBase + 16, 0, 0}};
    for (;;) {
      const std::int64_t rax = syscalls::dispatch(kernel_, t, args);
      const std::optional<SignalDelivery> d = kernel_.signals().next_delivery(t);
      const syscalls::RestartDecision r =
          syscalls::apply_restart_rules(rax, d && d->runs_handler(), d && d->sa_restart());
      if (r.action == syscalls::RestartAction::kReturn) {
        result = r.rax;
        break;
      }
      restarts.fetch_add(1);
      if (r.action == syscalls::RestartAction::kRestartSyscall) args = syscalls::SyscallArgs{219, {}};
    }
    took = std::chrono::steady_clock::now() - start;
    kernel_.exit_task(t);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(sys(other, SYS_kill, static_cast<std::uint64_t>(a.process().pid()), abi::sig::kSigStop), 0);
  // The main thread takes it (it does not block it and has nothing pending): a group stop, which
  // interrupts the waiter too. (A real embedder would now stop the threads until SIGCONT.)
  EXPECT_EQ(next_action(a), Action::kStop);
  waiter.join();
  EXPECT_EQ(result.load(), -ETIMEDOUT);
  EXPECT_EQ(restarts.load(), 1);
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::milliseconds(390));
  kernel_.exit_task(a);
  kernel_.exit_task(other);
}

// A wake and a signal racing for the same waiter: whatever the waiter returns, a wake that
// reports it woke somebody was consumed by that waiter (it returned 0), never lost to an EINTR.
TEST_F(SignalManagerTest, AWakeThatRacesASignalWins) {
  auto mem = memory();
  Task& a = kernel_.create_process(mem);
  abi::sig::SigAction handler;
  handler.handler = 0x401000;
  handler.flags = abi::sig::kSaSigInfo;
  ASSERT_TRUE(kernel_.signals().set_action(a, abi::sig::kSigUsr1, &handler, nullptr));
  int woken_and_returned_zero = 0;
  int interrupted = 0;
  for (int round = 0; round < 300; ++round) {
    ASSERT_TRUE(mem->store_u32(kBase, 0));
    std::atomic<std::int64_t> result{1};
    std::atomic<pid_t> tid{0};
    std::thread waiter([&] {
      Task& t = kernel_.create_thread(a.process());
      t.attach_to_current_thread();
      tid = t.tid();
      result = sys(t, SYS_futex, kBase, FUTEX_WAIT_PRIVATE, 0);
      while (kernel_.signals().next_delivery(t)) {
      }
      kernel_.exit_task(t);
    });
    while (tid.load() == 0) std::this_thread::yield();
    const FutexKey key{FutexKey::Kind::kPrivate, mem->address_space_id(), kBase};
    ASSERT_TRUE(eventually([&] { return kernel_.futexes().table().waiters_on(key) == 1; }));
    ASSERT_TRUE(mem->store_u32(kBase, 1));
    // Signal first, wake first, or both at once from two threads: the waiter may take either.
    auto signal = [&] {
      (void)kernel_.signals().tgkill(a, a.process().pid(), tid.load(), abi::sig::kSigUsr1);
    };
    std::int64_t woke = 0;
    if (round % 3 == 0) {
      signal();
      // Once the signal has taken the waiter out of the queue, the wake finds nobody.
      ASSERT_TRUE(eventually([&] { return kernel_.futexes().table().waiters_on(key) == 0; }));
      woke = sys(a, SYS_futex, kBase, FUTEX_WAKE_PRIVATE, 1);
    } else if (round % 3 == 1) {
      woke = sys(a, SYS_futex, kBase, FUTEX_WAKE_PRIVATE, 1);
      signal();
    } else {
      std::thread signaller(signal);
      woke = sys(a, SYS_futex, kBase, FUTEX_WAKE_PRIVATE, 1);
      signaller.join();
    }
    waiter.join();
    if (woke == 1) {
      EXPECT_EQ(result.load(), 0) << "round " << round << ": a consumed wake was lost";
      ++woken_and_returned_zero;
    } else {
      EXPECT_EQ(result.load(), -static_cast<std::int64_t>(Errno::kERESTARTSYS)) << round;
      ++interrupted;
    }
  }
  // How the races went (both outcomes occur; which one wins is timing).
  RecordProperty("woken", woken_and_returned_zero);
  RecordProperty("interrupted", interrupted);
  std::printf("[ race     ] woken %d, interrupted %d\n", woken_and_returned_zero, interrupted);
  kernel_.exit_task(a);
}

TEST_F(SignalManagerTest, ProcessExitRemovesItsStateExactlyOnce) {
  auto mem_a = memory();
  Task& a = kernel_.create_process(mem_a);
  Task& a2 = kernel_.create_thread(a.process());
  auto mem_b = memory();
  Task& b = kernel_.create_process(mem_b);
  const auto pid_a = static_cast<std::uint64_t>(a.process().pid());
  // Queued signals for the process and for a thread, blocked so they stay queued.
  const abi::sig::SigSet all_rt = ~std::uint64_t{0} << 31;
  ASSERT_TRUE(kernel_.signals().change_mask(a, 0, &all_rt, nullptr));
  ASSERT_TRUE(kernel_.signals().change_mask(a2, 0, &all_rt, nullptr));
  abi::sig::SigInfo info = abi::sig::SigInfo::user(40, abi::sig::kSiQueue, 0, 0);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(kernel_.signals().queue_info(a, a.process().pid(), 40, info));
    ASSERT_TRUE(kernel_.signals().tg_queue_info(a, a.process().pid(), a2.tid(), 41, info));
  }
  EXPECT_EQ(kernel_.signals().queued_count(), 20u);
  // A pipe whose read end B holds too (as a fork or SCM_RIGHTS would have shared it), and whose
  // only write end is A's. B blocks reading it.
  ASSERT_EQ(sys(a, SYS_pipe2, kBase, 0), 0);
  const auto rfd = static_cast<int>(mem_a->load_u32(kBase).value());
  ASSERT_EQ(sys(a, SYS_eventfd2, 5, 0), 2);
  ASSERT_TRUE(b.process().files().install(a.process().files().get(rfd), false));
  std::int64_t b_read = 1;
  std::thread reader([&] {
    b.attach_to_current_thread();
    b_read = sys(b, SYS_read, 0, kBase, 16);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(kernel_.signals().process_count(), 2u);
  EXPECT_EQ(kernel_.signals().thread_count(), 3u);
  kernel_.exit_task(a2);
  EXPECT_EQ(kernel_.signals().queued_count(), 10u);  // a2's own queue went with it
  kernel_.exit_task(a);
  // A is gone: its signals, its descriptors, and with them the pipe's only writer.
  reader.join();
  EXPECT_EQ(b_read, 0);  // EOF, not a reader left waiting forever
  EXPECT_EQ(kernel_.signals().queued_count(), 0u);
  EXPECT_EQ(kernel_.signals().process_count(), 1u);
  EXPECT_EQ(kernel_.signals().thread_count(), 1u);
  EXPECT_EQ(kernel_.process_count(), 1u);
  EXPECT_EQ(kernel_.pipes().live_count(), 1u);  // B still holds the read end
  // Signals to the dead process find nobody.
  EXPECT_EQ(sys(b, SYS_kill, pid_a, 0), -ESRCH);
  kernel_.exit_task(b);
  EXPECT_EQ(kernel_.signals().process_count(), 0u);
  EXPECT_EQ(kernel_.signals().thread_count(), 0u);
  EXPECT_EQ(kernel_.process_count(), 0u);
  EXPECT_EQ(kernel_.pipes().live_count(), 0u);
}

}  // namespace
}  // namespace futexbox::kernel
