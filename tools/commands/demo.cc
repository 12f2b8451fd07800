// The demo workload: producers and consumers exchange items through a bounded ring guarded by a
// futex-style mutex (Drepper's three-state lock) and two condition sequences ("not empty",
// "not full"), all waiting and waking through one ShardedWait keyed by the words' addresses, the
// way guest futexes are. It checks its own result: every item consumed exactly once, the checksum
// right, and every slot's waiter count back to 0.
#include "tools/commands/demo.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "sync/sharded_wait.h"

namespace futexbox::tools {
namespace {

using Word = std::atomic<std::uint32_t>;

struct Counters {
  std::atomic<std::uint64_t> wait_calls{0}, slept{0}, mismatches{0}, wake_calls{0}, woken{0},
      fast_wakes{0};
};

class Table {
 public:
  explicit Table(Counters& counters) : counters_(counters) {}
  void wait(Word& word, std::uint32_t expected) {
    counters_.wait_calls.fetch_add(1, std::memory_order_relaxed);
    const sync::WaitResult r = table_.wait(reinterpret_cast<std::uintptr_t>(&word),
                                           sync::kAnyBitset, [&] { return word.load() == expected; });
    if (r.status == sync::WaitStatus::kWoken) counters_.slept.fetch_add(1, std::memory_order_relaxed);
    if (r.status == sync::WaitStatus::kMismatch) {
      counters_.mismatches.fetch_add(1, std::memory_order_relaxed);
    }
  }
  void wake(Word& word, std::size_t n) {
    counters_.wake_calls.fetch_add(1, std::memory_order_relaxed);
    const std::size_t w = table_.wake(reinterpret_cast<std::uintptr_t>(&word), n);
    counters_.woken.fetch_add(w, std::memory_order_relaxed);
    if (w == 0) counters_.fast_wakes.fetch_add(1, std::memory_order_relaxed);
  }
  std::uint32_t total_waiters() const {
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i < decltype(table_)::kSlots; ++i) sum += table_.slot_waiters(i);
    return sum;
  }

 private:
  Counters& counters_;
  sync::ShardedWait<std::uintptr_t> table_;
};

// 0 = unlocked, 1 = locked, 2 = locked with (possible) waiters.
class FutexMutex {
 public:
  explicit FutexMutex(Table& table) : table_(table) {}
  void lock() {
    std::uint32_t c = 0;
    if (word_.compare_exchange_strong(c, 1)) return;
    if (c != 2) c = word_.exchange(2);
    while (c != 0) {
      table_.wait(word_, 2);
      c = word_.exchange(2);
    }
  }
  void unlock() {
    if (word_.fetch_sub(1) != 1) {
      word_.store(0);
      table_.wake(word_, 1);
    }
  }

 private:
  Table& table_;
  alignas(64) Word word_{0};
};

class FutexCondition {
 public:
  explicit FutexCondition(Table& table) : table_(table) {}
  void wait(FutexMutex& mutex) {
    const std::uint32_t seq = seq_.load();
    mutex.unlock();
    table_.wait(seq_, seq);
    mutex.lock();
  }
  void notify_one() {
    seq_.fetch_add(1);
    table_.wake(seq_, 1);
  }
  void notify_all() {
    seq_.fetch_add(1);
    table_.wake(seq_, SIZE_MAX);
  }

 private:
  Table& table_;
  alignas(64) Word seq_{0};
};

}  // namespace

DemoReport run_demo(const DemoOptions& options) {
  Counters counters;
  DemoReport report;
  {
    Table table(counters);
    FutexMutex mutex(table);
    FutexCondition not_empty(table);
    FutexCondition not_full(table);
    std::vector<std::uint64_t> ring(static_cast<std::size_t>(options.capacity));
    std::size_t head = 0, count = 0;  // guarded by mutex
    std::uint64_t next_item = 0;      // guarded by mutex
    std::uint64_t consumed = 0, consumed_sum = 0;
    int producers_left = options.producers;

    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int p = 0; p < options.producers; ++p) {
      threads.emplace_back([&] {
        for (;;) {
          mutex.lock();
          while (next_item < options.items && count == ring.size()) not_full.wait(mutex);
          if (next_item == options.items) {
            const bool last = --producers_left == 0;
            mutex.unlock();
            not_full.notify_all();  // producers still waiting for room: there is no more to make
            if (last) not_empty.notify_all();
            return;
          }
          ring[(head + count) % ring.size()] = ++next_item;
          ++count;
          mutex.unlock();
          not_empty.notify_one();
        }
      });
    }
    for (int c = 0; c < options.consumers; ++c) {
      threads.emplace_back([&] {
        for (;;) {
          mutex.lock();
          while (count == 0 && producers_left > 0) not_empty.wait(mutex);
          if (count == 0) {
            mutex.unlock();
            not_empty.notify_all();
            return;
          }
          consumed_sum += ring[head];
          ++consumed;
          head = (head + 1) % ring.size();
          --count;
          mutex.unlock();
          not_full.notify_one();
        }
      });
    }
    for (auto& t : threads) t.join();
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.produced = next_item;
    report.consumed = consumed;
    report.consumed_sum = consumed_sum;
    report.expected_sum = options.items * (options.items + 1) / 2;
    report.leftover_waiters = table.total_waiters();
  }
  report.wait_calls = counters.wait_calls;
  report.slept = counters.slept;
  report.mismatches = counters.mismatches;
  report.wake_calls = counters.wake_calls;
  report.woken = counters.woken;
  report.fast_wakes = counters.fast_wakes;
  return report;
}

std::string format_demo_report(const DemoOptions& o, const DemoReport& r, bool json) {
  if (json) {
    return fmt::format(
        R"({{"producers":{},"consumers":{},"items":{},"produced":{},"consumed":{},)"
        R"("checksum_ok":{},"wait_calls":{},"slept":{},"mismatches":{},"wake_calls":{},)"
        R"("woken":{},"fast_wakes":{},"leftover_waiters":{},"seconds":{:.6f},"ok":{}}})"
        "\n",
        o.producers, o.consumers, o.items, r.produced, r.consumed,
        r.expected_sum == r.consumed_sum, r.wait_calls, r.slept, r.mismatches, r.wake_calls,
        r.woken, r.fast_wakes, r.leftover_waiters, r.seconds, r.ok());
  }
  std::string out;
  out += fmt::format("futexbox demo: {} producers, {} consumers, {} items through a ring of {}\n",
                     o.producers, o.consumers, o.items, o.capacity);
  out += fmt::format("  items      produced {}  consumed {}  checksum {}\n", r.produced,
                     r.consumed, r.expected_sum == r.consumed_sum ? "ok" : "WRONG");
  out += fmt::format("  waits      {} calls: {} slept and were woken, {} returned at once "
                     "(value had changed)\n",
                     r.wait_calls, r.slept, r.mismatches);
  out += fmt::format("  wakes      {} calls woke {} threads; {} found no waiter (lock-free fast "
                     "path)\n",
                     r.wake_calls, r.woken, r.fast_wakes);
  out += fmt::format("  wait table 512 slots, {} waiters left after the run\n", r.leftover_waiters);
  out += fmt::format("  time       {:.3f} s ({:.0f} items/s)\n", r.seconds,
                     r.seconds > 0 ? static_cast<double>(r.consumed) / r.seconds : 0.0);
  out += r.ok() ? "  result     OK\n" : "  result     FAILED\n";
  return out;
}

}  // namespace futexbox::tools
