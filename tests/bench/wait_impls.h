// The four wait/wake implementations futexbox_bench compares, behind one shape:
//   wait(word, expected)  sleeps while word == expected (may return spuriously)
//   wake(word, n)         wakes up to n waiters of word; returns how many (if known)
// so every case runs the same code against each.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include <tbb/concurrent_hash_map.h>

#include "sync/sharded_wait.h"

namespace futexbox::bench {

using Word = std::atomic<std::uint32_t>;

// Ours: the 512-slot table on the parking lot, keyed by the word's address.
struct Sharded {
  static constexpr const char* kName = "sharded";
  sync::ShardedWait<std::uintptr_t> table;

  void wait(Word& word, std::uint32_t expected) {
    (void)table.wait(reinterpret_cast<std::uintptr_t>(&word), sync::kAnyBitset,
                     [&] { return word.load(std::memory_order_relaxed) == expected; });
  }
  int wake(Word& word, int n) {
    return static_cast<int>(table.wake(reinterpret_cast<std::uintptr_t>(&word),
                                       static_cast<std::size_t>(n)));
  }
};

// The host kernel's futex, as a guest would call it natively.
struct HostFutex {
  static constexpr const char* kName = "host_futex";
  void wait(Word& word, std::uint32_t expected) {
    syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
  }
  int wake(Word& word, int n) {
    return static_cast<int>(syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, n, nullptr, nullptr, 0));
  }
};

// C++20 std::atomic wait/notify (libstdc++: a 16-entry waiter table over futexes).
struct StdAtomic {
  static constexpr const char* kName = "std_atomic";
  void wait(Word& word, std::uint32_t expected) { word.wait(expected); }
  int wake(Word& word, int n) {
    if (n == 1) {
      word.notify_one();
    } else {
      word.notify_all();
    }
    return -1;
  }
};

// The design the sharded table replaced: a concurrent map from key to heap-allocated per-key wait
// state (a DashMap<Key, Arc<State>> in Rust), created by the first waiter and erased
// by the last.
struct ConcurrentMap {
  static constexpr const char* kName = "concurrent_map";
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    int waiters = 0;  // guarded by mutex
  };
  using Map = tbb::concurrent_hash_map<std::uintptr_t, std::shared_ptr<State>>;
  Map map;

  void wait(Word& word, std::uint32_t expected) {
    const auto key = reinterpret_cast<std::uintptr_t>(&word);
    std::shared_ptr<State> state;
    {
      Map::accessor acc;
      if (map.insert(acc, key)) acc->second = std::make_shared<State>();
      state = acc->second;
      std::lock_guard lock(state->mutex);
      ++state->waiters;
    }
    {
      std::unique_lock lock(state->mutex);
      if (word.load() == expected) state->cv.wait(lock);
    }
    Map::accessor acc;
    if (map.find(acc, key) && acc->second == state) {
      std::lock_guard lock(state->mutex);
      if (--state->waiters == 0) map.erase(acc);
    } else {
      std::lock_guard lock(state->mutex);
      --state->waiters;
    }
  }
  int wake(Word& word, int n) {
    std::shared_ptr<State> state;
    {
      Map::const_accessor acc;
      if (!map.find(acc, reinterpret_cast<std::uintptr_t>(&word))) return 0;
      state = acc->second;
    }
    std::lock_guard lock(state->mutex);
    if (n == 1) {
      state->cv.notify_one();
    } else {
      state->cv.notify_all();
    }
    return -1;
  }
};

}  // namespace futexbox::bench
