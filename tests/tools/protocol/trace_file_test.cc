// TraceFile's call-state slots (kTraceCallState), which futexbox run's deadlock watch reads while
// the guest's threads write them: a look sees the call in progress whole or not at all (the
// seqlock), every call moves the sequence, and a slot is claimed once per thread. Under TSan with
// the concurrency label.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tools/protocol/trace_file.h"

namespace futexbox::testing {
namespace {

using tools::CallLook;
using tools::TraceEvent;
using tools::TraceFile;

bool always_alive(pid_t, pid_t) { return true; }

TEST(TraceFileCallState, ALookSeesTheCallInProgressAndTheLastWake) {
  TraceFile file = TraceFile::create(tools::kTraceCallState, 4, 1);
  const int slot = file.claim(10, 11, &always_alive);
  ASSERT_EQ(slot, 0);
  EXPECT_EQ(file.claim(10, 12, &always_alive), 1);
  CallLook look;
  ASSERT_TRUE(file.look(0, look));
  EXPECT_EQ(look.tid, 11);
  EXPECT_FALSE(look.in_call);
  EXPECT_FALSE(file.look(2, look)) << "a free slot";

  TraceEvent e;
  e.pid = 10;
  e.tid = 11;
  e.nr = 202;
  e.v[0] = 0x1000;
  e.v[1] = 128;
  file.enter_call(slot, e);
  file.note_wake(slot, 0x2000);
  ASSERT_TRUE(file.look(0, look));
  EXPECT_TRUE(look.in_call);
  EXPECT_EQ(look.entry.v[0], 0x1000u);
  EXPECT_EQ(look.entry.tid, 11);
  EXPECT_EQ(look.last_wake, 0x2000u);
  const std::uint32_t in_call = look.seq;
  file.leave_call(slot);
  ASSERT_TRUE(file.look(0, look));
  EXPECT_FALSE(look.in_call);
  EXPECT_EQ(look.seq, in_call + 1);
}

TEST(TraceFileCallState, ConcurrentLooksNeverSeeATornEntry) {
  TraceFile file = TraceFile::create(tools::kTraceCallState, 1, 1);
  const int slot = file.claim(1, 2, &always_alive);
  ASSERT_EQ(slot, 0);
  // The writer goes on until the reader has seen enough calls in progress (or a generous cap), so
  // the race is run however the two threads are scheduled.
  constexpr std::uint64_t kMaxCalls = 200'000'000;
  constexpr std::uint64_t kEnoughWhole = 1000;
  std::atomic<bool> done{false};
  std::atomic<bool> enough{false};
  std::atomic<std::uint64_t> calls{0};
  std::thread writer([&] {
    std::uint64_t k = 1;
    for (; k <= kMaxCalls && !enough.load(std::memory_order_relaxed); ++k) {
      TraceEvent e;
      e.ts_ns = k;
      for (std::uint64_t& v : e.v) v = k;  // every word of call k says k
      file.enter_call(slot, e);
      file.leave_call(slot);
    }
    calls.store(k - 1, std::memory_order_relaxed);
    done.store(true, std::memory_order_release);
  });
  std::uint64_t whole = 0, torn_or_moving = 0, looks = 0;
  std::uint32_t last_seq = 0;
  while (!done.load(std::memory_order_acquire)) {
    CallLook look;
    ++looks;
    if (!file.look(0, look)) {
      ++torn_or_moving;
      continue;
    }
    ASSERT_GE(look.seq, last_seq) << "the sequence only moves forward";
    last_seq = look.seq;
    if (!look.in_call) continue;
    if (++whole == kEnoughWhole) enough.store(true, std::memory_order_relaxed);
    for (const std::uint64_t v : look.entry.v) ASSERT_EQ(v, look.entry.ts_ns) << "a torn entry";
    // Call k is entered at sequence 2k - 1.
    ASSERT_EQ(look.seq, 2 * look.entry.ts_ns - 1);
  }
  writer.join();
  CallLook end;
  ASSERT_TRUE(file.look(0, end));
  EXPECT_EQ(end.seq, 2 * calls.load());
  EXPECT_GE(whole, kEnoughWhole) << looks << " looks";
  RecordProperty("whole_looks", static_cast<int>(whole));
  RecordProperty("retried_looks", static_cast<int>(torn_or_moving));
}

}  // namespace
}  // namespace futexbox::testing
