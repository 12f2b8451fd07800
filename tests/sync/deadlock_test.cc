#include "sync/deadlock.h"

#include <gtest/gtest.h>

#include <thread>

#include "sync/parking_lot.h"
#include "tests/util/test_util.h"

namespace futexbox::sync {
namespace {

using futexbox::testing::eventually;

TEST(Deadlock, FindsATwoThreadCycleAndNothingElse) {
  deadlock::set_enabled(true);
  alignas(64) static char lock_a;
  alignas(64) static char lock_b;
  const auto a = reinterpret_cast<ParkKey>(&lock_a);
  const auto b = reinterpret_cast<ParkKey>(&lock_b);
  // Thread 1 holds a and waits for b; thread 2 holds b and waits for a.
  std::thread t1([&] {
    deadlock::acquire_resource(a);
    (void)parking_lot::park(b, [] { return true; });
    deadlock::release_resource(a);
  });
  std::thread t2([&] {
    deadlock::acquire_resource(b);
    (void)parking_lot::park(a, [] { return true; });
    deadlock::release_resource(b);
  });
  ASSERT_TRUE(eventually([&] {
    return parking_lot::parked_count(a) == 1 && parking_lot::parked_count(b) == 1;
  }));
  const auto cycles = deadlock::check_deadlock();
  ASSERT_EQ(cycles.size(), 1u);
  ASSERT_EQ(cycles[0].size(), 2u);
  for (const auto& thread : cycles[0]) {
    EXPECT_EQ(thread.holding.size(), 1u);
    EXPECT_NE(thread.waiting_on, thread.holding[0]);
  }
  parking_lot::unpark_all(a);
  parking_lot::unpark_all(b);
  t1.join();
  t2.join();
  EXPECT_TRUE(deadlock::check_deadlock().empty());
  deadlock::set_enabled(false);
}

TEST(Deadlock, ATimedWaitIsNeverACycle) {
  deadlock::set_enabled(true);
  alignas(64) static char lock_a;
  const auto a = reinterpret_cast<ParkKey>(&lock_a);
  deadlock::acquire_resource(a);
  // Waiting (with a deadline) for a resource we hold ourselves: a self-cycle, but it can time out.
  const ParkResult r = parking_lot::park(
      a, [] { return true; },
      [&] { EXPECT_TRUE(deadlock::check_deadlock().empty()); }, [](ParkKey, bool) {},
      kDefaultParkToken, Deadline::after(std::chrono::milliseconds(5)));
  EXPECT_EQ(r.status, ParkStatus::kTimedOut);
  deadlock::release_resource(a);
  deadlock::set_enabled(false);
}

}  // namespace
}  // namespace futexbox::sync
