#include "sync/word_lock.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

namespace futexbox::sync {
namespace {

TEST(WordLock, MutualExclusionUnderContention) {
  WordLock lock;
  long counter = 0;  // deliberately plain: TSan and the final count catch a broken lock
  constexpr int kThreads = 8;
  constexpr int kIterations = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIterations; ++i) {
        std::lock_guard guard(lock);
        ++counter;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter, static_cast<long>(kThreads) * kIterations);
  EXPECT_FALSE(lock.is_locked());
}

TEST(WordLock, TryLock) {
  WordLock lock;
  EXPECT_TRUE(lock.try_lock());
  EXPECT_FALSE(lock.try_lock());
  std::thread t([&] { EXPECT_FALSE(lock.try_lock()); });
  t.join();
  lock.unlock();
  EXPECT_TRUE(lock.try_lock());
  lock.unlock();
}

TEST(WordLock, LongHoldQueuesWaiters) {
  WordLock lock;
  lock.lock();
  std::atomic<int> acquired{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      lock.lock();
      acquired.fetch_add(1);
      lock.unlock();
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(30));  // long enough to give up spinning
  EXPECT_EQ(acquired.load(), 0);
  lock.unlock();
  for (auto& t : threads) t.join();
  EXPECT_EQ(acquired.load(), 4);
}

}  // namespace
}  // namespace futexbox::sync
