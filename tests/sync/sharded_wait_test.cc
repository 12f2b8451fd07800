#include "sync/sharded_wait.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "tests/util/test_util.h"

namespace futexbox::sync {
namespace {

using futexbox::testing::allocation_count;
using futexbox::testing::eventually;
using namespace std::chrono_literals;

// Every key in slot 0: collisions on purpose.
struct CollideHash {
  std::size_t operator()(int) const noexcept { return 0; }
};

using Table = ShardedWait<int>;
using CollidingTable = ShardedWait<int, CollideHash>;

template <class T>
void expect_all_slots_empty(const T& table) {
  for (std::size_t i = 0; i < T::kSlots; ++i) {
    ASSERT_EQ(table.slot_waiters(i), 0u) << "slot " << i;
  }
}

TEST(ShardedWait, HasExactly512CacheLineAlignedSlots) {
  Table table;
  EXPECT_EQ(Table::kSlots, 512u);
  for (std::size_t i = 0; i < Table::kSlots; ++i) {
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(table.slot_address(i)) % 64, 0u);
  }
  EXPECT_EQ(table.slot_address(1) - table.slot_address(0), 1);
}

TEST(ShardedWait, HashSpreadsSequentialAndAlignedKeys) {
  ShardedWait<std::uintptr_t> table;
  std::array<int, 512> hits{};
  for (std::uintptr_t i = 0; i < 512 * 8; ++i) ++hits[table.slot_index(0x7f0000000000 + i * 64)];
  for (int h : hits) {
    EXPECT_GT(h, 0);
    EXPECT_LT(h, 32);
  }
}

TEST(ShardedWait, WakeWithNoWaitersReturnsZero) {
  Table table;
  EXPECT_EQ(table.wake(1, 10), 0u);
  EXPECT_EQ(table.wake(1, 0), 0u);
  expect_all_slots_empty(table);
}

TEST(ShardedWait, MismatchReturnsAtOnceAndUncounts) {
  Table table;
  const WaitResult r = table.wait(5, kAnyBitset, [] { return false; });
  EXPECT_EQ(r.status, WaitStatus::kMismatch);
  expect_all_slots_empty(table);
}

TEST(ShardedWait, TimeoutUncounts) {
  Table table;
  const WaitResult r = table.wait(5, kAnyBitset, [] { return true; }, Deadline::after(5ms));
  EXPECT_EQ(r.status, WaitStatus::kTimedOut);
  expect_all_slots_empty(table);
}

template <class T>
void wake_only_matching_key() {
  T table;
  std::atomic<int> woke_a{0};
  std::atomic<int> woke_b{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      EXPECT_EQ(table.wait(1, kAnyBitset, [] { return true; }).status, WaitStatus::kWoken);
      woke_a.fetch_add(1);
    });
    threads.emplace_back([&] {
      EXPECT_EQ(table.wait(2, kAnyBitset, [] { return true; }).status, WaitStatus::kWoken);
      woke_b.fetch_add(1);
    });
  }
  ASSERT_TRUE(eventually([&] { return table.waiters_on(1) == 3 && table.waiters_on(2) == 3; }));
  EXPECT_EQ(table.wake(1, 2), 2u);
  ASSERT_TRUE(eventually([&] { return woke_a == 2; }));
  EXPECT_EQ(woke_b.load(), 0);
  EXPECT_EQ(table.wake(1, 100), 1u);
  EXPECT_EQ(table.wake(2, 100), 3u);
  for (auto& t : threads) t.join();
  EXPECT_EQ(woke_a.load(), 3);
  EXPECT_EQ(woke_b.load(), 3);
  expect_all_slots_empty(table);
}

TEST(ShardedWait, WakeOnlyMatchingKey) { wake_only_matching_key<Table>(); }
TEST(ShardedWait, WakeOnlyMatchingKeyWhenAllKeysCollide) {
  wake_only_matching_key<CollidingTable>();
}

TEST(ShardedWait, CollidingIdleKeyWakesNobody) {
  CollidingTable table;
  std::thread t([&] { (void)table.wait(1, kAnyBitset, [] { return true; }); });
  ASSERT_TRUE(eventually([&] { return table.waiters_on(1) == 1; }));
  EXPECT_EQ(table.slot_waiters(0), 1u);  // the fast path cannot skip: the slot is shared
  EXPECT_EQ(table.wake(2, 100), 0u);
  EXPECT_EQ(table.waiters_on(1), 1u);
  EXPECT_EQ(table.wake(1, 1), 1u);
  t.join();
  expect_all_slots_empty(table);
}

TEST(ShardedWait, BitsetsSelectWaiters) {
  Table table;
  std::atomic<int> woken_mask{0};
  std::vector<std::thread> threads;
  for (int bit = 0; bit < 3; ++bit) {
    threads.emplace_back([&, bit] {
      EXPECT_EQ(table.wait(1, 1u << bit, [] { return true; }).status, WaitStatus::kWoken);
      woken_mask.fetch_or(1 << bit);
    });
  }
  ASSERT_TRUE(eventually([&] { return table.waiters_on(1) == 3; }));
  EXPECT_EQ(table.wake(1, 100, 0b010), 1u);
  ASSERT_TRUE(eventually([&] { return woken_mask == 0b010; }));
  EXPECT_EQ(table.wake(1, 100, 0b001 | 0b100), 2u);
  for (auto& t : threads) t.join();
  EXPECT_EQ(woken_mask.load(), 0b111);
}

template <class T>
void requeue_counts_and_moves() {
  T table;
  std::vector<std::thread> threads;
  std::atomic<int> done{0};
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&] {
      EXPECT_EQ(table.wait(1, kAnyBitset, [] { return true; }).status, WaitStatus::kWoken);
      done.fetch_add(1);
    });
  }
  ASSERT_TRUE(eventually([&] { return table.waiters_on(1) == 5; }));
  EXPECT_FALSE(table.requeue(1, 2, 1, 2, [] { return false; }).has_value());
  const auto counts = table.requeue(1, 2, 1, 2, [] { return true; });
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->woken, 1u);
  EXPECT_EQ(counts->requeued, 2u);
  EXPECT_EQ(table.waiters_on(1), 2u);
  EXPECT_EQ(table.waiters_on(2), 2u);
  ASSERT_TRUE(eventually([&] { return done == 1; }));
  EXPECT_EQ(table.wake(2, 100), 2u);
  EXPECT_EQ(table.wake(1, 100), 2u);
  for (auto& t : threads) t.join();
  expect_all_slots_empty(table);
}

TEST(ShardedWait, RequeueCountsAndMoves) { requeue_counts_and_moves<Table>(); }
TEST(ShardedWait, RequeueCountsAndMovesWithinOneSlot) {
  requeue_counts_and_moves<CollidingTable>();
}

TEST(ShardedWait, WakeTwoRunsOpUnderBothLocks) {
  Table table;
  std::vector<std::thread> threads;
  for (int key : {1, 1, 2, 2}) {
    threads.emplace_back([&, key] { (void)table.wait(key, kAnyBitset, [] { return true; }); });
  }
  ASSERT_TRUE(eventually([&] { return table.waiters_on(1) == 2 && table.waiters_on(2) == 2; }));
  EXPECT_EQ(table.wake_two(1, 1, 2, 1, [] { return WakeTwoDecision::kAbort; }),
            (std::pair<std::size_t, std::size_t>{0, 0}));
  EXPECT_EQ(table.wake_two(1, 1, 2, 1, [] { return WakeTwoDecision::kWakeFirst; }),
            (std::pair<std::size_t, std::size_t>{1, 0}));
  EXPECT_EQ(table.wake_two(1, 5, 2, 5, [] { return WakeTwoDecision::kWakeBoth; }),
            (std::pair<std::size_t, std::size_t>{1, 2}));
  for (auto& t : threads) t.join();
  expect_all_slots_empty(table);
}

TEST(ShardedWait, WaitMultipleReturnsTheWokenIndex) {
  Table table;
  Table::MultiWaitStorage storage;
  const std::array<int, 3> keys{10, 20, 30};
  const std::array<std::uint32_t, 3> bitsets{kAnyBitset, kAnyBitset, kAnyBitset};
  WaitResult result;
  std::thread t([&] {
    result = table.wait_multiple(keys, bitsets, [](std::size_t) { return true; }, storage);
  });
  ASSERT_TRUE(eventually([&] { return table.waiters_on(30) == 1; }));
  EXPECT_EQ(table.wake(20, 1), 1u);
  t.join();
  EXPECT_EQ(result.status, WaitStatus::kWoken);
  EXPECT_EQ(result.index, 1u);
  EXPECT_EQ(table.waiters_on(10) + table.waiters_on(30), 0u);
  expect_all_slots_empty(table);

  result = table.wait_multiple(keys, bitsets, [](std::size_t i) { return i < 2; }, storage);
  EXPECT_EQ(result.status, WaitStatus::kMismatch);
  EXPECT_EQ(result.index, 2u);
  expect_all_slots_empty(table);
}

TEST(ShardedWait, InterruptibleWaitEndsOnPoke) {
  Table table;
  ThreadHandle handle;
  std::atomic<bool> ready{false};
  WaitResult result;
  std::thread t([&] {
    handle = current_thread();
    ready = true;
    result = table.wait(1, kAnyBitset, [] { return true; }, Deadline::never(), true);
  });
  ASSERT_TRUE(eventually([&] { return ready && table.waiters_on(1) == 1; }));
  poke(handle);
  t.join();
  EXPECT_EQ(result.status, WaitStatus::kInterrupted);
  expect_all_slots_empty(table);
}

TEST(ShardedWait, WaitAndWakePathsDoNotAllocate) {
  Table table;
  std::atomic<std::uint32_t> word{0};
  // Warm up: the first park of a thread registers it (the table may grow, by mmap).
  (void)table.wait(1, kAnyBitset, [] { return true; }, Deadline::after(1ms));
  std::atomic<bool> stop{false};
  std::thread waker([&] {
    (void)table.wait(2, kAnyBitset, [] { return true; }, Deadline::after(1ms));  // warm up
    while (!stop) {
      word.fetch_add(1);
      table.wake(1, 1);
    }
  });
  const std::size_t before = allocation_count();
  for (int i = 0; i < 2000; ++i) {
    const std::uint32_t seen = word.load();
    (void)table.wait(1, kAnyBitset, [&] { return word.load() == seen; }, Deadline::after(1ms));
    table.wake(3, 1);
  }
  const std::size_t after = allocation_count();
  stop = true;
  waker.join();
  EXPECT_EQ(after - before, 0u);
  expect_all_slots_empty(table);
}

}  // namespace
}  // namespace futexbox::sync
