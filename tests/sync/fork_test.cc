// fork() with the lot in use: the child gets a working, empty lot and empty wait-table counts.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "sync/host_syscall.h"
#include "sync/parking_lot.h"
#include "sync/sharded_wait.h"
#include "tests/util/test_util.h"

namespace futexbox::sync {
namespace {

using futexbox::testing::eventually;
using namespace std::chrono_literals;

// Runs `child` in a forked child (killed by SIGALRM after 10 s: a deadlock there fails the test)
// and returns its exit status.
template <class F>
int in_child(F child) {
  const pid_t pid = fork();
  if (pid == 0) {
    alarm(10);
    _exit(child());
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status)) << "child died: status " << status;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(Fork, ChildHasAnEmptyWorkingLot) {
  alignas(64) static char lock_word;
  const auto key = reinterpret_cast<ParkKey>(&lock_word);
  ShardedWait<int> table;
  std::thread parked([&] { (void)parking_lot::park(key, [] { return true; }); });
  std::thread waiting([&] { (void)table.wait(1, kAnyBitset, [] { return true; }); });
  ASSERT_TRUE(eventually([&] { return parking_lot::parked_count(key) == 1; }));
  ASSERT_TRUE(eventually([&] { return table.waiters_on(1) == 1; }));

  const int status = in_child([&] {
    if (parking_lot::parked_count(key) != 0) return 1;  // a ghost of the parent's thread
    if (table.slot_waiters(table.slot_index(1)) != 0) return 2;
    if (parking_lot::unpark_one(key).unparked_threads != 0) return 3;
    if (table.wake(1, 1) != 0) return 4;
    // The child's own threads can park and be woken.
    std::atomic<bool> woke{false};
    std::thread t([&] {
      (void)parking_lot::park(key, [] { return true; });
      woke = true;
    });
    while (parking_lot::parked_count(key) != 1) std::this_thread::yield();
    if (parking_lot::unpark_one(key).unparked_threads != 1) return 5;
    t.join();
    if (!woke) return 6;
    const ParkResult r = parking_lot::park(
        key, [] { return true; }, [] {}, [](ParkKey, bool) {}, kDefaultParkToken,
        Deadline::after(1ms));
    return r.status == ParkStatus::kTimedOut ? 0 : 7;
  });
  EXPECT_EQ(status, 0);

  EXPECT_EQ(parking_lot::unpark_one(key).unparked_threads, 1u);
  EXPECT_EQ(table.wake(1, 1), 1u);
  parked.join();
  waiting.join();
}

// A raw fork syscall runs no pthread_atfork handler: the child inherits the parent's queue
// entries and whatever bucket lock another thread held. reset_after_fork_without_handlers()
// must leave it with an empty, working lot and zero wait-table counts.
TEST(Fork, RawForkChildResetsWithoutHandlers) {
  alignas(64) static char lock_word;
  const auto key = reinterpret_cast<ParkKey>(&lock_word);
  ShardedWait<int> table;
  std::thread parked([&] { (void)parking_lot::park(key, [] { return true; }); });
  std::thread waiting([&] { (void)table.wait(7, kAnyBitset, [] { return true; }); });
  ASSERT_TRUE(eventually([&] { return parking_lot::parked_count(key) == 1; }));
  ASSERT_TRUE(eventually([&] { return table.waiters_on(7) == 1; }));
  // Another thread holds the bucket lock of `key` across the fork, as a thread mid-operation
  // would: with_locked_pair keeps it held while the callback runs.
  std::atomic<bool> holding{false};
  std::atomic<bool> release{false};
  std::thread holder([&] {
    parking_lot::with_locked_pair(key, key, [&](LockedBucketPair&) {
      holding = true;
      while (!release) std::this_thread::yield();
    });
  });
  ASSERT_TRUE(eventually([&] { return holding.load(); }));

  const pid_t pid = static_cast<pid_t>(syscall(SYS_fork));
  if (pid == 0) {
    alarm(10);
    parking_lot::reset_after_fork_without_handlers();
    reset_sharded_waits_after_fork_without_handlers();
    if (parking_lot::parked_count(key) != 0) _exit(1);
    if (table.slot_waiters(table.slot_index(7)) != 0) _exit(2);
    if (table.wake(7, 1) != 0) _exit(3);
    std::atomic<bool> woke{false};
    std::thread t([&] {
      (void)parking_lot::park(key, [] { return true; });
      woke = true;
    });
    while (parking_lot::parked_count(key) != 1) std::this_thread::yield();
    if (parking_lot::unpark_one(key).unparked_threads != 1) _exit(4);
    t.join();
    _exit(woke ? 0 : 5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status)) << "child died: status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);

  release = true;
  holder.join();
  EXPECT_EQ(parking_lot::unpark_one(key).unparked_threads, 1u);
  EXPECT_EQ(table.wake(7, 1), 1u);
  parked.join();
  waiting.join();
}

// The agent's gadget relocation: host_syscall6 keeps working through the copy, and the reported
// range moves with it.
TEST(Fork, SyscallGadgetRelocates) {
  const std::uintptr_t before = syscall_gadget_begin();
  const int status = in_child([] {
    constexpr std::uintptr_t kWhere = 0x6ffe'ff00'0000;
    if (relocate_syscall_gadget(kWhere) != 0) return 1;
    if (syscall_gadget_begin() != kWhere) return 2;
    if (host_syscall(SYS_getpid) != getpid()) return 3;
    std::atomic<std::uint32_t> word{0};
    if (host_futex_wake(&word, 1) != 0) return 4;
    // A second relocation onto a taken address fails cleanly.
    if (relocate_syscall_gadget(kWhere) != -EEXIST) return 5;
    return 0;
  });
  EXPECT_EQ(status, 0);
  EXPECT_EQ(syscall_gadget_begin(), before);  // the parent is untouched
}

TEST(Fork, ForkWhileOtherThreadsHammerTheLot) {
  std::atomic<bool> stop{false};
  alignas(64) static char words[8];
  std::vector<std::thread> hammers;
  for (int t = 0; t < 2; ++t) {
    hammers.emplace_back([&, t] {
      while (!stop) {
        const auto key = reinterpret_cast<ParkKey>(&words[t]);
        (void)parking_lot::park(
            key, [] { return true; }, [] {}, [](ParkKey, bool) {}, kDefaultParkToken,
            Deadline::after(20us));
        (void)parking_lot::unpark_all(reinterpret_cast<ParkKey>(&words[1 - t]));
      }
    });
  }
  for (int i = 0; i < 30; ++i) {
    const int status = in_child([&] {
      const ParkResult r = parking_lot::park(
          reinterpret_cast<ParkKey>(&words[0]), [] { return true; }, [] {}, [](ParkKey, bool) {},
          kDefaultParkToken, Deadline::after(100us));
      return r.status == ParkStatus::kTimedOut ? 0 : 1;
    });
    EXPECT_EQ(status, 0);
  }
  stop = true;
  for (auto& t : hammers) t.join();
}

}  // namespace
}  // namespace futexbox::sync
