// Guest-level synchronization built on futexbox's futex syscalls (through syscalls::dispatch over
// a FlatGuestMemory), hammered by many threads with checked invariants: a three-state mutex, a
// condition variable with requeue, a counting semaphore, a barrier, a reader-writer lock and a
// PI mutex. Run under TSan too (label concurrency); a lost wakeup shows as a failed deadline.
#include <gtest/gtest.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "kernel/kernel.h"
#include "syscalls/syscall_table.h"
#include "tests/util/test_util.h"

namespace futexbox::kernel {
namespace {

using namespace std::chrono_literals;

constexpr GuestAddr kBase = 0x100000;

class Guest {
 public:
  Guest() : memory_(std::make_shared<FlatGuestMemory>()) {
    if (!memory_->map(kBase, 16 * FlatGuestMemory::kPageSize, Prot::kReadWrite)) std::abort();
    main_ = &kernel_.create_process(memory_);
  }
  GuestAddr word(int i) const { return kBase + 64 * static_cast<GuestAddr>(i); }
  std::uint32_t load(GuestAddr a) { return memory_->load_u32(a).value(); }
  void store(GuestAddr a, std::uint32_t v) { (void)memory_->store_u32(a, v); }
  std::uint32_t cas(GuestAddr a, std::uint32_t expected, std::uint32_t desired) {
    return memory_->compare_exchange_u32(a, expected, desired).value();
  }
  std::uint32_t exchange(GuestAddr a, std::uint32_t v) {
    return memory_->fetch_op_u32(a, FetchOp::kSet, v).value();
  }
  std::uint32_t fetch_add(GuestAddr a, std::uint32_t v) {
    return memory_->fetch_op_u32(a, FetchOp::kAdd, v).value();
  }
  std::int64_t futex(Task& t, GuestAddr a, int op, std::uint32_t val, std::uint64_t val2 = 0,
                     GuestAddr a2 = 0, std::uint32_t val3 = 0) {
    return syscalls::dispatch(kernel_, t,
                              syscalls::SyscallArgs{SYS_futex, {a, static_cast<std::uint64_t>(op),
                                                                val, val2, a2, val3}});
  }
  // Runs `body(task, index)` on `n` guest threads and fails (without hanging) if they do not all
  // finish within the deadline.
  void run(int n, const std::function<void(Task&, int)>& body,
           std::chrono::seconds deadline = 60s) {
    std::atomic<int> done{0};
    std::atomic<int> started{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      Task& task = kernel_.create_thread(main_->process());
      threads.emplace_back([&, i, t = &task] {
        t->attach_to_current_thread();
        // All start together, so they really contend.
        started.fetch_add(1);
        while (started.load() < n) std::this_thread::yield();
        body(*t, i);
        kernel_.exit_task(*t);
        done.fetch_add(1);
      });
    }
    if (!futexbox::testing::eventually([&] { return done.load() == n; }, deadline)) {
      std::fprintf(stderr, "guest workload did not finish: lost wakeup?\n");
      std::_Exit(1);
    }
    for (auto& t : threads) t.join();
  }

 private:
  Kernel kernel_;
  std::shared_ptr<FlatGuestMemory> memory_;
  Task* main_ = nullptr;
};

// Drepper's mutex: 0 unlocked, 1 locked, 2 locked with waiters.
void mutex_lock(Guest& g, Task& t, GuestAddr m) {
  std::uint32_t c = g.cas(m, 0, 1);
  if (c == 0) return;
  if (c != 2) c = g.exchange(m, 2);
  while (c != 0) {
    g.futex(t, m, FUTEX_WAIT_PRIVATE, 2);
    c = g.exchange(m, 2);
  }
}
void mutex_unlock(Guest& g, Task& t, GuestAddr m) {
  if (g.fetch_add(m, 0xffffffff) != 1) {
    g.store(m, 0);
    g.futex(t, m, FUTEX_WAKE_PRIVATE, 1);
  }
}

TEST(GuestWorkloads, MutexCounterIsExact) {
  Guest g;
  const GuestAddr m = g.word(0);
  long counter = 0;  // protected by the guest mutex only: TSan checks the mutex orders it
  constexpr int kThreads = 4, kIters = 20000;
  g.run(kThreads, [&](Task& t, int) {
    for (int i = 0; i < kIters; ++i) {
      mutex_lock(g, t, m);
      ++counter;
      mutex_unlock(g, t, m);
    }
  });
  EXPECT_EQ(counter, kThreads * kIters);
  EXPECT_EQ(g.load(m), 0u);
}

// Condition variable as old glibc built it: a sequence word; signal wakes one, broadcast wakes
// one and requeues the rest onto the mutex (FUTEX_CMP_REQUEUE), avoiding a thundering herd.
TEST(GuestWorkloads, CondvarWithRequeueBroadcast) {
  Guest g;
  const GuestAddr m = g.word(0), seq = g.word(1);
  int items = 0, consumed = 0;  // guarded by the guest mutex
  bool done = false;
  constexpr int kConsumers = 3, kItems = 3000;
  auto wait = [&](Task& t) {
    const std::uint32_t s = g.load(seq);
    mutex_unlock(g, t, m);
    g.futex(t, seq, FUTEX_WAIT_PRIVATE, s);
    // Requeued waiters come back through the mutex word: take it as contended.
    while (g.exchange(m, 2) != 0) g.futex(t, m, FUTEX_WAIT_PRIVATE, 2);
  };
  auto broadcast = [&](Task& t) {
    const std::uint32_t s = g.fetch_add(seq, 1) + 1;
    g.futex(t, seq, FUTEX_CMP_REQUEUE_PRIVATE, 1, INT32_MAX, m, s);
  };
  g.run(kConsumers + 1, [&](Task& t, int index) {
    if (index == 0) {
      for (int i = 0; i < kItems; ++i) {
        mutex_lock(g, t, m);
        ++items;
        mutex_unlock(g, t, m);
        if (i % 7 == 0) {
          broadcast(t);
        } else {
          g.fetch_add(seq, 1);
          g.futex(t, seq, FUTEX_WAKE_PRIVATE, 1);
        }
      }
      mutex_lock(g, t, m);
      done = true;
      mutex_unlock(g, t, m);
      broadcast(t);
      return;
    }
    mutex_lock(g, t, m);
    for (;;) {
      while (items == 0 && !done) wait(t);
      if (items == 0 && done) break;
      --items;
      ++consumed;
    }
    mutex_unlock(g, t, m);
    broadcast(t);  // let the other consumers see `done`
  });
  EXPECT_EQ(consumed, kItems);
}

TEST(GuestWorkloads, CountingSemaphoreBoundsConcurrency) {
  Guest g;
  const GuestAddr sem = g.word(0);
  constexpr std::uint32_t kPermits = 2;
  g.store(sem, kPermits);
  std::atomic<int> inside{0}, max_inside{0}, total{0};
  g.run(5, [&](Task& t, int) {
    for (int i = 0; i < 1500; ++i) {
      for (;;) {
        const std::uint32_t v = g.load(sem);
        if (v > 0) {
          if (g.cas(sem, v, v - 1) == v) break;
          continue;
        }
        g.futex(t, sem, FUTEX_WAIT_PRIVATE, 0);
      }
      const int now = inside.fetch_add(1) + 1;
      int seen = max_inside.load();
      while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
      }
      total.fetch_add(1);
      inside.fetch_sub(1);
      g.fetch_add(sem, 1);
      g.futex(t, sem, FUTEX_WAKE_PRIVATE, 1);
    }
  });
  EXPECT_LE(max_inside.load(), static_cast<int>(kPermits));
  EXPECT_EQ(total.load(), 5 * 1500);
  EXPECT_EQ(g.load(sem), kPermits);
}

TEST(GuestWorkloads, BarrierKeepsRoundsInStep) {
  Guest g;
  const GuestAddr arrived = g.word(0), generation = g.word(1);
  constexpr int kThreads = 4, kRounds = 400;
  std::atomic<int> per_round[kRounds] = {};
  g.run(kThreads, [&](Task& t, int) {
    for (int r = 0; r < kRounds; ++r) {
      per_round[r].fetch_add(1);
      const std::uint32_t gen = g.load(generation);
      if (g.fetch_add(arrived, 1) + 1 == kThreads) {
        g.store(arrived, 0);
        g.fetch_add(generation, 1);
        g.futex(t, generation, FUTEX_WAKE_PRIVATE, INT32_MAX);
      } else {
        while (g.load(generation) == gen) g.futex(t, generation, FUTEX_WAIT_PRIVATE, gen);
      }
      // Nobody leaves round r before everyone has entered it.
      EXPECT_EQ(per_round[r].load(), kThreads);
    }
  });
}

// Reader-writer lock on one word: bit 31 = writer, low bits = readers. Waiters sleep on the word
// itself; every release wakes everyone (readers and writers re-contend).
TEST(GuestWorkloads, ReaderWriterLockExcludesWriters) {
  Guest g;
  const GuestAddr rw = g.word(0);
  constexpr std::uint32_t kWriter = 0x80000000u;
  std::atomic<int> readers{0}, writers{0};
  std::atomic<bool> violation{false};
  g.run(5, [&](Task& t, int index) {
    const bool writer = index < 2;
    for (int i = 0; i < 1500; ++i) {
      for (;;) {
        const std::uint32_t v = g.load(rw);
        const bool can = writer ? v == 0 : (v & kWriter) == 0;
        if (can && g.cas(rw, v, writer ? kWriter : v + 1) == v) break;
        if (!can) g.futex(t, rw, FUTEX_WAIT_PRIVATE, v);
      }
      if (writer) {
        if (writers.fetch_add(1) != 0 || readers.load() != 0) violation = true;
        writers.fetch_sub(1);
        g.store(rw, 0);
      } else {
        readers.fetch_add(1);
        if (writers.load() != 0) violation = true;
        readers.fetch_sub(1);
        g.fetch_add(rw, 0xffffffff);
      }
      g.futex(t, rw, FUTEX_WAKE_PRIVATE, INT32_MAX);
    }
  });
  EXPECT_FALSE(violation.load());
  EXPECT_EQ(g.load(rw), 0u);
}

// PI mutex as glibc's PTHREAD_PRIO_INHERIT: user-space CAS 0 -> TID, the kernel only when
// contended (LOCK_PI / UNLOCK_PI with FUTEX_WAITERS).
TEST(GuestWorkloads, PiMutexCounterIsExact) {
  Guest g;
  const GuestAddr m = g.word(0);
  long counter = 0;
  constexpr int kThreads = 4, kIters = 2000;
  g.run(kThreads, [&](Task& t, int) {
    const auto me = static_cast<std::uint32_t>(t.tid());
    for (int i = 0; i < kIters; ++i) {
      if (g.cas(m, 0, me) != 0) {
        ASSERT_EQ(g.futex(t, m, FUTEX_LOCK_PI_PRIVATE, 0), 0);
      }
      ASSERT_EQ(g.load(m) & FUTEX_TID_MASK, me);
      ++counter;
      if (g.cas(m, me, 0) != me) {
        ASSERT_EQ(g.futex(t, m, FUTEX_UNLOCK_PI_PRIVATE, 0), 0);
      }
    }
  });
  EXPECT_EQ(counter, kThreads * kIters);
  EXPECT_EQ(g.load(m), 0u);
}

}  // namespace
}  // namespace futexbox::kernel
