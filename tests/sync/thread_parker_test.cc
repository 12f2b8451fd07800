#include "sync/thread_parker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace futexbox::sync {
namespace {

using namespace std::chrono_literals;

template <class Parker>
class ThreadParkerTest : public ::testing::Test {};

using Parkers = ::testing::Types<FutexThreadParker, PortableThreadParker>;
TYPED_TEST_SUITE(ThreadParkerTest, Parkers);

TYPED_TEST(ThreadParkerTest, UnparkBeforeParkReturnsAtOnce) {
  TypeParam parker;
  parker.prepare_park();
  EXPECT_TRUE(parker.still_parked());
  parker.unpark_lock().unpark();
  EXPECT_FALSE(parker.still_parked());
  EXPECT_EQ(parker.park(Deadline::never(), false), ParkerWake::kUnparked);
}

TYPED_TEST(ThreadParkerTest, UnparkFromAnotherThread) {
  TypeParam parker;
  parker.prepare_park();
  std::thread t([&] {
    std::this_thread::sleep_for(10ms);
    parker.unpark_lock().unpark();
  });
  EXPECT_EQ(parker.park(Deadline::never(), false), ParkerWake::kUnparked);
  t.join();
}

TYPED_TEST(ThreadParkerTest, DeadlinePasses) {
  TypeParam parker;
  parker.prepare_park();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(parker.park(Deadline::after(15ms), false), ParkerWake::kTimedOut);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 15ms);
  EXPECT_TRUE(parker.still_parked());  // a timeout is only tentative until checked under a lock
}

TYPED_TEST(ThreadParkerTest, PokeInterruptsOnlyInterruptibleParks) {
  TypeParam parker;
  parker.prepare_park();
  EXPECT_TRUE(parker.poke());
  EXPECT_EQ(parker.park(Deadline::never(), true), ParkerWake::kInterrupted);
  // Uninterruptible: the poke stays pending and the park still waits for a real unpark.
  parker.prepare_park();
  EXPECT_TRUE(parker.poke());
  EXPECT_EQ(parker.park(Deadline::after(10ms), false), ParkerWake::kTimedOut);
  // A poke of a thread that is not parked does nothing.
  parker.unpark_lock().unpark();
  EXPECT_FALSE(parker.poke());
}

}  // namespace
}  // namespace futexbox::sync
