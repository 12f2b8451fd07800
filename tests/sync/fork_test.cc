// fork() with the lot in use: the child gets a working, empty lot and empty wait-table counts.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

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
