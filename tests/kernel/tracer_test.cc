// The kernel's tracer hooks: syscall entry and exit around dispatch, a wait that sleeps, the wake
// that ends it (with the waker's tid handed to the woken waiter), requeues; nothing once detached.
#include <gtest/gtest.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kernel/kernel.h"
#include "kernel/tracer.h"
#include "syscalls/syscall_table.h"
#include "tests/util/test_util.h"

namespace futexbox::kernel {
namespace {

using futexbox::testing::eventually;

constexpr GuestAddr kBase = 0x10000;

struct Event {
  std::string what;
  pid_t tid = 0;
  std::uint64_t a = 0;
  std::int64_t b = 0;
  std::int64_t c = 0;
  friend bool operator==(const Event&, const Event&) = default;
};

class RecordingTracer final : public Tracer {
 public:
  void syscall_entry(Task& task, std::uint64_t nr, std::span<const std::uint64_t, 6> args) noexcept override {
    add({"entry", task.tid(), nr, static_cast<std::int64_t>(args[0]), static_cast<std::int64_t>(args[1])});
  }
  void syscall_exit(Task& task, std::uint64_t nr, std::int64_t result) noexcept override {
    add({"exit", task.tid(), nr, result, 0});
  }
  void futex_wait(Task& task, GuestAddr uaddr) noexcept override { add({"wait", task.tid(), uaddr, 0, 0}); }
  void futex_woken(Task& task, GuestAddr uaddr, pid_t waker) noexcept override {
    add({"woken", task.tid(), uaddr, waker, 0});
  }
  void futex_wake(Task& task, GuestAddr uaddr, std::size_t woken) noexcept override {
    add({"wake", task.tid(), uaddr, static_cast<std::int64_t>(woken), 0});
  }
  void futex_requeue(Task& task, GuestAddr from, GuestAddr to, std::size_t woken,
                     std::size_t requeued) noexcept override {
    add({"requeue", task.tid(), from, static_cast<std::int64_t>(to - from),
         static_cast<std::int64_t>(woken * 100 + requeued)});
  }
  std::vector<Event> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(events_, {});
  }

 private:
  void add(Event e) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(e));
  }
  std::mutex mutex_;
  std::vector<Event> events_;
};

class TracerTest : public ::testing::Test {
 protected:
  TracerTest() {
    (void)memory_->map(kBase, 4096, Prot::kReadWrite);
    main_ = &kernel_.create_process(memory_);
    main_->attach_to_current_thread();
  }
  ~TracerTest() override {
    kernel_.set_tracer(nullptr);
    kernel_.exit_task(*main_);
  }
  std::int64_t futex(Task& t, std::uint64_t uaddr, int op, std::uint64_t val,
                     std::uint64_t val2 = 0, std::uint64_t uaddr2 = 0) {
    return syscalls::dispatch(kernel_, t,
                              syscalls::SyscallArgs{SYS_futex, {uaddr, static_cast<std::uint64_t>(op), val, val2, uaddr2, 0}});
  }
  // A thread of the guest process that makes one futex(kBase, op, 0) call.
  std::thread waiter_calling(int op, std::atomic<pid_t>& tid, std::atomic<std::int64_t>& result) {
    return std::thread([this, op, &tid, &result] {
      Task& t = kernel_.create_thread(main_->process());
      t.attach_to_current_thread();
      tid = t.tid();
      result = futex(t, kBase, op, 0);
      kernel_.exit_task(t);
    });
  }
  Kernel kernel_;
  std::shared_ptr<FlatGuestMemory> memory_ = std::make_shared<FlatGuestMemory>();
  Task* main_ = nullptr;
  RecordingTracer tracer_;
};

TEST_F(TracerTest, ReportsWhoWokeWhom) {
  kernel_.set_tracer(&tracer_);
  std::atomic<pid_t> waiter_tid{0};
  std::atomic<std::int64_t> result{1};
  std::thread waiter = waiter_calling(FUTEX_WAIT_PRIVATE, waiter_tid, result);
  const FutexKey key{FutexKey::Kind::kPrivate, memory_->address_space_id(), kBase};
  ASSERT_TRUE(eventually([&] { return kernel_.futexes().table().waiters_on(key) == 1; }));
  ASSERT_EQ(futex(*main_, kBase, FUTEX_WAKE_PRIVATE, 1), 1);
  waiter.join();
  EXPECT_EQ(result.load(), 0);
  const pid_t w = waiter_tid.load();
  const pid_t m = main_->tid();
  std::vector<Event> events = tracer_.take();
  // The two threads' events interleave; each thread's own are in order.
  std::vector<Event> of_waiter;
  std::vector<Event> of_main;
  for (const Event& e : events) (e.tid == w ? of_waiter : of_main).push_back(e);
  EXPECT_EQ(of_waiter, (std::vector<Event>{{"entry", w, SYS_futex, kBase, FUTEX_WAIT_PRIVATE},
                                           {"wait", w, kBase, 0, 0},
                                           {"woken", w, kBase, m, 0},
                                           {"exit", w, SYS_futex, 0, 0}}));
  EXPECT_EQ(of_main, (std::vector<Event>{{"entry", m, SYS_futex, kBase, FUTEX_WAKE_PRIVATE},
                                         {"wake", m, kBase, 1, 0},
                                         {"exit", m, SYS_futex, 1, 0}}));
}

TEST_F(TracerTest, APiHandoverSaysWhoHandedTheLockOver) {
  kernel_.set_tracer(&tracer_);
  const pid_t m = main_->tid();
  ASSERT_TRUE(memory_->store_u32(kBase, static_cast<std::uint32_t>(m)));  // main owns the lock
  std::atomic<pid_t> waiter_tid{0};
  std::atomic<std::int64_t> result{1};
  std::thread waiter = waiter_calling(FUTEX_LOCK_PI_PRIVATE, waiter_tid, result);
  FutexKey key{FutexKey::Kind::kPrivate, memory_->address_space_id(), kBase};
  key.pi = true;
  ASSERT_TRUE(eventually([&] { return kernel_.futexes().table().waiters_on(key) == 1; }));
  ASSERT_EQ(futex(*main_, kBase, FUTEX_UNLOCK_PI_PRIVATE, 0), 0);
  waiter.join();
  EXPECT_EQ(result.load(), 0);
  const pid_t w = waiter_tid.load();
  std::vector<Event> of_waiter;
  std::vector<Event> of_main;
  for (const Event& e : tracer_.take()) (e.tid == w ? of_waiter : of_main).push_back(e);
  EXPECT_EQ(of_waiter, (std::vector<Event>{{"entry", w, SYS_futex, kBase, FUTEX_LOCK_PI_PRIVATE},
                                           {"wait", w, kBase, 0, 0},
                                           {"woken", w, kBase, m, 0},
                                           {"exit", w, SYS_futex, 0, 0}}));
  EXPECT_EQ(of_main, (std::vector<Event>{{"entry", m, SYS_futex, kBase, FUTEX_UNLOCK_PI_PRIVATE},
                                         {"wake", m, kBase, 1, 0},
                                         {"exit", m, SYS_futex, 0, 0}}));
}

TEST_F(TracerTest, WaitThatDoesNotSleepAndWakeOfNobodyReportOnlyTheSyscall) {
  kernel_.set_tracer(&tracer_);
  ASSERT_EQ(futex(*main_, kBase, FUTEX_WAIT_PRIVATE, 7), -EAGAIN);
  ASSERT_EQ(futex(*main_, kBase, FUTEX_WAKE_PRIVATE, 1), 0);
  const pid_t m = main_->tid();
  EXPECT_EQ(tracer_.take(), (std::vector<Event>{{"entry", m, SYS_futex, kBase, FUTEX_WAIT_PRIVATE},
                                                {"exit", m, SYS_futex, -EAGAIN, 0},
                                                {"entry", m, SYS_futex, kBase, FUTEX_WAKE_PRIVATE},
                                                {"exit", m, SYS_futex, 0, 0}}));
}

TEST_F(TracerTest, RequeuesAreReportedAndDetachingStopsEverything) {
  kernel_.set_tracer(&tracer_);
  std::vector<std::thread> waiters;
  std::atomic<int> done{0};
  for (int i = 0; i < 3; ++i) {
    waiters.emplace_back([&] {
      Task& t = kernel_.create_thread(main_->process());
      t.attach_to_current_thread();
      while (memory_->load_u32(kBase).value() == 0) futex(t, kBase, FUTEX_WAIT_PRIVATE, 0);
      done.fetch_add(1);
      kernel_.exit_task(t);
    });
  }
  const FutexKey key{FutexKey::Kind::kPrivate, memory_->address_space_id(), kBase};
  ASSERT_TRUE(eventually([&] { return kernel_.futexes().table().waiters_on(key) == 3; }));
  ASSERT_EQ(futex(*main_, kBase, FUTEX_REQUEUE_PRIVATE, 1, 2, kBase + 64), 3);
  bool saw_requeue = false;
  for (const Event& e : tracer_.take()) {
    if (e.what == "requeue") {
      saw_requeue = true;
      EXPECT_EQ(e.a, kBase);
      EXPECT_EQ(e.b, 64);
      EXPECT_EQ(e.c, 1 * 100 + 2);
    }
  }
  EXPECT_TRUE(saw_requeue);
  // The waiter the requeue woke goes back to waiting on kBase, in a call traced from its entry.
  ASSERT_TRUE(eventually([&] { return kernel_.futexes().table().waiters_on(key) == 1; }));
  kernel_.set_tracer(nullptr);
  (void)tracer_.take();
  ASSERT_TRUE(memory_->store_u32(kBase, 1));
  ASSERT_EQ(futex(*main_, kBase + 64, FUTEX_WAKE_PRIVATE, 10), 2);
  ASSERT_EQ(futex(*main_, kBase, FUTEX_WAKE_PRIVATE, 10), 1);
  for (auto& t : waiters) t.join();
  EXPECT_EQ(done.load(), 3);
  // Detached: no new call, wait, wake or wake-up is reported; only the exits of the three waits
  // that were traced from their entry (dispatch reports both ends of a call to one tracer).
  std::vector<Event> after = tracer_.take();
  ASSERT_EQ(after.size(), 3u);
  for (const Event& e : after) EXPECT_EQ(e.what, "exit");
}

// Every op sleeps through FutexTable's one sleep helper, so futex_waitv, WAKE_OP and the
// requeue-PI pair report wait / woken (with the waker) / wake like FUTEX_WAIT and FUTEX_WAKE do.
// These fail if any of them goes around it.
namespace {

std::vector<Event> of_thread(const std::vector<Event>& events, pid_t tid) {
  std::vector<Event> out;
  for (const Event& e : events) {
    if (e.tid == tid && e.what != "entry" && e.what != "exit") out.push_back(e);
  }
  return out;
}

}  // namespace

TEST_F(TracerTest, AFutexWaitvSaysWhichWordWokeItAndWho) {
  kernel_.set_tracer(&tracer_);
  struct Waitv {
    std::uint64_t val, uaddr;
    std::uint32_t flags, reserved;
  };
  const Waitv entries[3] = {{0, kBase, 0x82, 0}, {0, kBase + 64, 0x82, 0}, {0, kBase + 128, 0x82, 0}};
  ASSERT_TRUE(memory_->copy_out(kBase + 1024, entries, sizeof entries));
  std::atomic<pid_t> waiter_tid{0};
  std::atomic<std::int64_t> result{-1};
  std::thread waiter([&] {
    Task& t = kernel_.create_thread(main_->process());
    t.attach_to_current_thread();
    waiter_tid = t.tid();
    result = syscalls::dispatch(kernel_, t, syscalls::SyscallArgs{SYS_futex_waitv, {kBase + 1024, 3, 0, 0, 0, 0}});
    kernel_.exit_task(t);
  });
  const FutexKey key{FutexKey::Kind::kPrivate, memory_->address_space_id(), kBase + 64};
  ASSERT_TRUE(eventually([&] { return kernel_.futexes().table().waiters_on(key) == 1; }));
  ASSERT_EQ(futex(*main_, kBase + 64, FUTEX_WAKE_PRIVATE, 1), 1);
  waiter.join();
  EXPECT_EQ(result.load(), 1);
  const pid_t w = waiter_tid.load();
  const pid_t m = main_->tid();
  const std::vector<Event> events = tracer_.take();
  EXPECT_EQ(of_thread(events, w), (std::vector<Event>{{"wait", w, kBase, 0, 0},
                                                      {"wait", w, kBase + 64, 0, 0},
                                                      {"wait", w, kBase + 128, 0, 0},
                                                      {"woken", w, kBase + 64, m, 0}}));
  EXPECT_EQ(of_thread(events, m), (std::vector<Event>{{"wake", m, kBase + 64, 1, 0}}));
}

TEST_F(TracerTest, AWakeOpReportsTheWakesOfBothWordsAndTheWaker) {
  kernel_.set_tracer(&tracer_);
  std::atomic<pid_t> tid1{0}, tid2{0};
  std::atomic<std::int64_t> r1{1}, r2{1};
  std::thread w1 = waiter_calling(FUTEX_WAIT_PRIVATE, tid1, r1);
  const FutexKey key1{FutexKey::Kind::kPrivate, memory_->address_space_id(), kBase};
  ASSERT_TRUE(eventually([&] { return kernel_.futexes().table().waiters_on(key1) == 1; }));
  std::thread w2([&] {
    Task& t = kernel_.create_thread(main_->process());
    t.attach_to_current_thread();
    tid2 = t.tid();
    r2 = futex(t, kBase + 64, FUTEX_WAIT_PRIVATE, 0);
    kernel_.exit_task(t);
  });
  const FutexKey key2{FutexKey::Kind::kPrivate, memory_->address_space_id(), kBase + 64};
  ASSERT_TRUE(eventually([&] { return kernel_.futexes().table().waiters_on(key2) == 1; }));
  // val3 = 0 is FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_EQ, 0): *uaddr2 = 0, and since it was 0,
  // wake one on uaddr2 (val2 = 1) as well as one on uaddr (val = 1).
  ASSERT_EQ(futex(*main_, kBase, FUTEX_WAKE_OP_PRIVATE, 1, 1, kBase + 64), 2);
  w1.join();
  w2.join();
  EXPECT_EQ(r1.load(), 0);
  EXPECT_EQ(r2.load(), 0);
  const pid_t m = main_->tid();
  const std::vector<Event> events = tracer_.take();
  EXPECT_EQ(of_thread(events, tid1.load()), (std::vector<Event>{{"wait", tid1.load(), kBase, 0, 0},
                                                                 {"woken", tid1.load(), kBase, m, 0}}));
  EXPECT_EQ(of_thread(events, tid2.load()),
            (std::vector<Event>{{"wait", tid2.load(), kBase + 64, 0, 0},
                                {"woken", tid2.load(), kBase + 64, m, 0}}));
  EXPECT_EQ(of_thread(events, m), (std::vector<Event>{{"wake", m, kBase, 1, 0},
                                                      {"wake", m, kBase + 64, 1, 0}}));
}

TEST_F(TracerTest, TheRequeuePiPairSaysWhoHandedEachWaiterTheLock) {
  kernel_.set_tracer(&tracer_);
  constexpr GuestAddr kCond = kBase;
  constexpr GuestAddr kLock = kBase + 64;
  const pid_t m = main_->tid();
  // Two waiters on the condition word, to be requeued onto the PI lock kLock.
  std::atomic<pid_t> tids[2] = {0, 0};
  std::atomic<std::int64_t> results[2] = {1, 1};
  std::vector<std::thread> waiters;
  const FutexKey cond_key{FutexKey::Kind::kPrivate, memory_->address_space_id(), kCond};
  for (int i = 0; i < 2; ++i) {
    waiters.emplace_back([&, i] {
      Task& t = kernel_.create_thread(main_->process());
      t.attach_to_current_thread();
      tids[i] = t.tid();
      results[i] = futex(t, kCond, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 0, 0, kLock);
      if (results[i] == 0) {  // owns kLock: hand it on as a condvar's waiter would
        (void)futex(t, kLock, FUTEX_UNLOCK_PI_PRIVATE, 0);
      }
      kernel_.exit_task(t);
    });
    ASSERT_TRUE(eventually([&] { return kernel_.futexes().table().waiters_on(cond_key) == static_cast<std::size_t>(i) + 1; }));
  }
  // kLock is free: CMP_REQUEUE_PI takes it for the oldest waiter and requeues the other onto it.
  ASSERT_EQ(futex(*main_, kCond, FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, 1, kLock), 2);
  for (auto& t : waiters) t.join();
  EXPECT_EQ(results[0].load(), 0);
  EXPECT_EQ(results[1].load(), 0);
  const pid_t first = tids[0].load();
  const pid_t second = tids[1].load();
  const std::vector<Event> events = tracer_.take();
  // The first was woken on the condition word by the requeuer, owning the lock.
  EXPECT_EQ(of_thread(events, first), (std::vector<Event>{{"wait", first, kCond, 0, 0},
                                                          {"woken", first, kCond, m, 0},
                                                          {"wake", first, kLock, 1, 0}}));
  // The second, requeued, was handed the lock by the first's unlock: woken on the lock word.
  EXPECT_EQ(of_thread(events, second), (std::vector<Event>{{"wait", second, kCond, 0, 0},
                                                           {"woken", second, kLock, first, 0}}));
  EXPECT_EQ(of_thread(events, m), (std::vector<Event>{{"wake", m, kCond, 1, 0},
                                                      {"requeue", m, kCond, 64, 1 * 100 + 1}}));
}

}  // namespace
}  // namespace futexbox::kernel
