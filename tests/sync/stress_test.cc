// Many threads doing random waits, wakes, requeues, timeouts and interruptions, on the raw parking
// lot and on ShardedWait (with a real hash and with every key forced into one slot). Each test
// proves three things:
// - no lost wakeup: after the storm every waiter leaves when its key is woken (a hang fails it);
// - no wrong or phantom wakeup: the wakes the wakers were told they did, summed, equal the wakes
//   the waiters observed (a waiter woken by a wake for another key, or by nothing, breaks this;
//   so does a wake whose waiter then reports a timeout instead);
// - every slot's waiter count is back to 0 at quiescence.
// Run under TSan by the concurrency label.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

#include "sync/parking_lot.h"
#include "sync/sharded_wait.h"
#include "tests/util/test_util.h"

namespace futexbox::sync {
namespace {

using futexbox::testing::eventually;
using namespace std::chrono_literals;

constexpr int kKeys = 6;
constexpr int kWaiters = 6;
constexpr int kWakers = 2;

std::chrono::milliseconds storm_duration() {
  const char* env = std::getenv("FUTEXBOX_STRESS_MS");
  return std::chrono::milliseconds(env != nullptr ? std::atoi(env) : 1500);
}

// A hang means a lost wakeup; fail loudly rather than hanging the suite.
void join_or_die(std::vector<std::thread>& threads, std::atomic<int>& exited, int expected) {
  if (!eventually([&] { return exited.load() == expected; }, 20s)) {
    std::fprintf(stderr, "lost wakeup: %d of %d waiters never returned\n", expected - exited.load(),
                 expected);
    std::fflush(stderr);
    std::_Exit(1);
  }
  for (auto& t : threads) t.join();
}

struct CollideHash {
  std::size_t operator()(int) const noexcept { return 42; }
};

template <class Hash>
void sharded_storm() {
  ShardedWait<int, Hash> table;
  std::array<std::atomic<std::uint32_t>, kKeys> values{};
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> reported{0};
  std::atomic<std::size_t> observed{0};
  std::atomic<std::size_t> timeouts{0};
  std::atomic<std::size_t> interrupts{0};
  std::atomic<int> exited{0};
  std::array<std::atomic<ThreadHandle*>, kWaiters> handles{};
  std::vector<std::thread> waiters;
  for (int w = 0; w < kWaiters; ++w) {
    waiters.emplace_back([&, w] {
      ThreadHandle me = current_thread();
      handles[w] = &me;
      std::minstd_rand rng(w + 1);
      while (!stop.load()) {
        const int key = static_cast<int>(rng() % kKeys);
        const std::uint32_t seen = values[key].load();
        const unsigned mode = rng() % 10;
        const Deadline deadline =
            mode < 3 ? Deadline::after(std::chrono::microseconds(rng() % 300)) : Deadline::never();
        const WaitResult r = table.wait(
            key, kAnyBitset, [&] { return values[key].load() == seen && !stop.load(); }, deadline,
            /*interruptible=*/mode == 9);
        if (r.status == WaitStatus::kWoken) observed.fetch_add(1);
        if (r.status == WaitStatus::kTimedOut) timeouts.fetch_add(1);
        if (r.status == WaitStatus::kInterrupted) interrupts.fetch_add(1);
      }
      handles[w] = nullptr;
      exited.fetch_add(1);
    });
  }
  std::vector<std::thread> wakers;
  std::atomic<int> wakers_done{0};
  for (int k = 0; k < kWakers; ++k) {
    wakers.emplace_back([&, k] {
      std::minstd_rand rng(100 + k);
      const auto end = std::chrono::steady_clock::now() + storm_duration();
      while (std::chrono::steady_clock::now() < end) {
        const int a = static_cast<int>(rng() % kKeys);
        const int b = static_cast<int>(rng() % kKeys);
        switch (rng() % 7) {
          case 0:
          case 1:
          case 2:
            values[a].fetch_add(1);
            reported.fetch_add(table.wake(a, 1 + rng() % 3));
            break;
          case 3:
            values[a].fetch_add(1);
            reported.fetch_add(table.wake(a, 1000));
            break;
          case 4: {
            // Waiters moved to b stay asleep until a later wake on b.
            const auto counts = table.requeue(a, b, rng() % 2, 1 + rng() % 3, [] { return true; });
            reported.fetch_add(counts->woken);
            break;
          }
          case 5: {
            const auto [first, second] = table.wake_two(a, 1, b, 2, [&] {
              values[a].fetch_add(1);
              values[b].fetch_add(1);
              return WakeTwoDecision::kWakeBoth;
            });
            reported.fetch_add(first + second);
            break;
          }
          default: {
            // Pokes only matter to interruptible waits; racing a wake, the wake must win.
            ThreadHandle* h = handles[rng() % kWaiters].load();
            if (h != nullptr) (void)poke(*h);
            break;
          }
        }
        if (rng() % 64 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      wakers_done.fetch_add(1);
    });
  }
  for (auto& t : wakers) t.join();
  stop = true;
  // Drain: keep waking every key until every waiter has left.
  std::thread drainer([&] {
    while (exited.load() < kWaiters) {
      for (int key = 0; key < kKeys; ++key) {
        values[key].fetch_add(1);
        reported.fetch_add(table.wake(key, 1000));
      }
      std::this_thread::sleep_for(1ms);
    }
  });
  join_or_die(waiters, exited, kWaiters);
  drainer.join();
  EXPECT_EQ(reported.load(), observed.load());
  EXPECT_GT(observed.load(), 0u);
  for (std::size_t i = 0; i < ShardedWait<int, Hash>::kSlots; ++i) {
    ASSERT_EQ(table.slot_waiters(i), 0u) << "slot " << i;
  }
  std::printf("woken %zu, timed out %zu, interrupted %zu\n", observed.load(), timeouts.load(),
              interrupts.load());
}

TEST(Stress, ShardedWaitStorm) { sharded_storm<std::hash<int>>(); }
TEST(Stress, ShardedWaitStormAllKeysInOneSlot) { sharded_storm<CollideHash>(); }

// Two threads hand a token back and forth through ShardedWait, many times: the classic shape in
// which a lost wakeup shows up as a hang.
TEST(Stress, PingPongNeverLosesAWakeup) {
  ShardedWait<int> table;
  std::atomic<std::uint32_t> turn{0};
  constexpr std::uint32_t kRounds = 20000;
  std::atomic<int> exited{0};
  std::vector<std::thread> threads;
  for (std::uint32_t side = 0; side < 2; ++side) {
    threads.emplace_back([&, side] {
      for (std::uint32_t i = side; i < kRounds; i += 2) {
        for (;;) {
          const std::uint32_t t = turn.load();
          if (t == i) break;
          (void)table.wait(0, kAnyBitset, [&] { return turn.load() == t; });
        }
        turn.store(i + 1);
        table.wake(0, 1);
      }
      exited.fetch_add(1);
    });
  }
  join_or_die(threads, exited, 2);
  EXPECT_EQ(turn.load(), kRounds);
  EXPECT_EQ(table.slot_waiters(table.slot_index(0)), 0u);
}

// The raw lot: random park (some timed, some interruptible) against unpark_one/all/filter and
// unpark_requeue between a few keys. Accounting as above.
TEST(Stress, ParkingLotStorm) {
  alignas(64) static std::array<char, 4 * 64> storage;
  auto key = [](std::size_t i) { return reinterpret_cast<ParkKey>(&storage[i * 64]); };
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> reported{0};
  std::atomic<std::size_t> observed{0};
  std::atomic<int> exited{0};
  std::vector<std::thread> waiters;
  for (int w = 0; w < kWaiters; ++w) {
    waiters.emplace_back([&, w] {
      std::minstd_rand rng(w + 7);
      while (!stop.load()) {
        const unsigned mode = rng() % 4;
        const Deadline deadline =
            mode == 0 ? Deadline::after(std::chrono::microseconds(rng() % 200)) : Deadline::never();
        const ParkResult r = parking_lot::park(
            key(rng() % 4), [&] { return !stop.load(); }, [] {}, [](ParkKey, bool) {},
            kDefaultParkToken, deadline, mode == 1);
        if (r.status == ParkStatus::kUnparked) observed.fetch_add(1);
      }
      exited.fetch_add(1);
    });
  }
  const auto end = std::chrono::steady_clock::now() + storm_duration();
  std::minstd_rand rng(99);
  while (std::chrono::steady_clock::now() < end) {
    const ParkKey a = key(rng() % 4);
    const ParkKey b = key(rng() % 4);
    switch (rng() % 4) {
      case 0:
        reported.fetch_add(parking_lot::unpark_one(a).unparked_threads);
        break;
      case 1:
        reported.fetch_add(parking_lot::unpark_all(a));
        break;
      case 2:
        reported.fetch_add(parking_lot::unpark_filter(
                               a, [&](ParkToken) { return rng() % 2 ? FilterOp::kUnpark : FilterOp::kSkip; },
                               [](UnparkResult) { return kDefaultUnparkToken; })
                               .unparked_threads);
        break;
      default: {
        const auto op = static_cast<RequeueOp>(rng() % 5);
        reported.fetch_add(parking_lot::unpark_requeue(
                               a, b, [&] { return op; },
                               [](RequeueOp, UnparkResult) { return kDefaultUnparkToken; })
                               .unparked_threads);
        break;
      }
    }
  }
  stop = true;
  std::thread drainer([&] {
    while (exited.load() < kWaiters) {
      for (std::size_t i = 0; i < 4; ++i) reported.fetch_add(parking_lot::unpark_all(key(i)));
      std::this_thread::sleep_for(1ms);
    }
  });
  join_or_die(waiters, exited, kWaiters);
  drainer.join();
  EXPECT_EQ(reported.load(), observed.load());
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(parking_lot::parked_count(key(i)), 0u);
}

}  // namespace
}  // namespace futexbox::sync
