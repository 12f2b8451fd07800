#include "sync/thread_parker.h"

#include "sync/host_syscall.h"

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

namespace futexbox::sync {
namespace {

std::atomic<int> g_enters{0};
std::atomic<int> g_leaves{0};
std::atomic<int> g_sleeps{0};
std::atomic<bool> g_inside{false};

void count_enter() noexcept {
  EXPECT_FALSE(g_inside.exchange(true));
  ++g_enters;
}
void count_leave() noexcept {
  EXPECT_TRUE(g_inside.exchange(false));
  ++g_leaves;
}
long count_sleep(const std::atomic<std::uint32_t>* word, std::uint32_t expected,
                 const timespec* abs_timeout, bool realtime) noexcept {
  EXPECT_TRUE(g_inside.load());  // only ever inside the window
  ++g_sleeps;
  return host_futex_wait(word, expected, abs_timeout, realtime);
}

// The agent's contract: enter and leave bracket every interruptible park exactly once, the sleep
// hook replaces the host wait inside them, and uninterruptible parks never see the hooks.
TEST(ParkSleepHooks, BracketOnlyInterruptibleParks) {
  static const ParkSleepHooks hooks{&count_enter, &count_leave, &count_sleep};
  set_park_sleep_hooks(&hooks);
  FutexThreadParker parker;
  parker.prepare_park();
  EXPECT_EQ(parker.park(Deadline::after(std::chrono::milliseconds(5)), true), ParkerWake::kTimedOut);
  EXPECT_EQ(g_enters, 1);
  EXPECT_EQ(g_leaves, 1);
  EXPECT_GE(g_sleeps, 1);

  parker.prepare_park();
  std::thread poker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    parker.poke();
  });
  EXPECT_EQ(parker.park(Deadline::never(), true), ParkerWake::kInterrupted);
  poker.join();
  EXPECT_EQ(g_enters, 2);
  EXPECT_EQ(g_leaves, 2);

  const int sleeps = g_sleeps;
  parker.prepare_park();
  EXPECT_EQ(parker.park(Deadline::after(std::chrono::milliseconds(2)), false), ParkerWake::kTimedOut);
  EXPECT_EQ(g_enters, 2);
  EXPECT_EQ(g_sleeps, sleeps);
  set_park_sleep_hooks(nullptr);
}

}  // namespace
}  // namespace futexbox::sync
