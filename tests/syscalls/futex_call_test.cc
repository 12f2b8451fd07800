// syscalls/futex_call.h: what each call of the futex family is, decoded from its number and
// registers as the kernel decodes them. Checked against the kernel's own rules (the flag bits, the
// 32-bit arguments whose upper halves Linux ignores) and against strace's names.
#include "syscalls/futex_call.h"

#include <gtest/gtest.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include <array>
#include <cstdint>

namespace futexbox::syscalls {
namespace {

using Regs = std::array<std::uint64_t, 6>;

FutexCall describe(std::uint64_t nr, const Regs& regs) { return describe_futex_call(nr, regs); }

constexpr std::uint64_t kGarbage = 0xdead'beef'0000'0000ull;  // upper halves Linux ignores

TEST(FutexCall, FutexOpsSayWhatTheyDo) {
  const FutexCall wait = describe(SYS_futex, {0x1000, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0});
  EXPECT_TRUE(wait.family);
  EXPECT_EQ(wait.keys, FutexKeys::kPrivate);
  EXPECT_TRUE(wait.may_sleep && wait.sleeps_on_word);
  EXPECT_FALSE(wait.wakes);
  EXPECT_EQ(wait.word, 0x1000u);
  EXPECT_EQ(wait.timeout_arg, 3);
  EXPECT_EQ(futex_call_name(wait), "FUTEX_WAIT_PRIVATE");

  const FutexCall wake = describe(SYS_futex, {0x1000, FUTEX_WAKE, 1, 0, 0, 0});
  EXPECT_EQ(wake.keys, FutexKeys::kShared);
  EXPECT_TRUE(wake.wakes && wake.wakes_plain && wake.wakes_named_word());
  EXPECT_FALSE(wake.may_sleep);
  EXPECT_EQ(futex_call_name(wake), "FUTEX_WAKE");

  const FutexCall wake_op = describe(SYS_futex, {0x1000, FUTEX_WAKE_OP_PRIVATE, 1, 1, 0x2000, 0});
  EXPECT_EQ(wake_op.word2, 0x2000u);
  EXPECT_TRUE(wake_op.wakes_plain);

  const FutexCall lock = describe(SYS_futex, {0x1000, FUTEX_LOCK_PI_PRIVATE, 0, 0, 0, 0});
  EXPECT_TRUE(lock.pi_lock && lock.may_sleep);
  EXPECT_FALSE(describe(SYS_futex, {0x1000, FUTEX_TRYLOCK_PI, 0, 0, 0, 0}).may_sleep);

  const FutexCall unlock = describe(SYS_futex, {0x1000, FUTEX_UNLOCK_PI, 0, 0, 0, 0});
  EXPECT_TRUE(unlock.wakes);
  EXPECT_FALSE(unlock.wakes_plain);  // a PI hand-over, not a wake host waiters could miss

  const FutexCall realtime =
      describe(SYS_futex, {0x1000, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, 0, 0, 0});
  EXPECT_EQ(futex_call_name(realtime), "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME");
  EXPECT_NE(realtime.stats_slot, wait.stats_slot);

  const FutexCall unknown = describe(SYS_futex, {0x1000, 99, 0, 0, 0, 0});
  EXPECT_EQ(unknown.stats_slot, kFutexInvalidSlot);
  EXPECT_EQ(futex_call_name(unknown), "FUTEX_???");
}

TEST(FutexCall, EveryCommandAndFlagCombinationHasItsOwnSlot) {
  std::array<bool, kFutexCallSlots> used{};
  for (int cmd = 0; cmd < abi::futex::kCommands; ++cmd) {
    for (const int flags : {0, FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME,
                            FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME}) {
      const FutexCall c = describe(SYS_futex, {0, static_cast<std::uint64_t>(cmd | flags), 0, 0, 0, 0});
      ASSERT_LT(c.stats_slot, kFutexInvalidSlot);
      EXPECT_FALSE(used[c.stats_slot]) << cmd << " " << flags;
      used[c.stats_slot] = true;
    }
  }
}

TEST(FutexCall, ThirtyTwoBitArgumentsIgnoreTheirUpperHalvesAsLinuxDoes) {
  // futex(2)'s op is an int: garbage above bit 31 changes nothing.
  const FutexCall wait = describe(SYS_futex, {0x1000, kGarbage | FUTEX_WAIT_PRIVATE, 0, 0, 0, 0});
  EXPECT_EQ(wait.keys, FutexKeys::kPrivate);
  EXPECT_EQ(wait.cmd, FUTEX_WAIT);
  // futex_waitv's nr_futexes and flags are unsigned ints.
  const FutexCall waitv = describe(SYS_futex_waitv, {0x2000, kGarbage | 2, kGarbage, 0, 0, 0});
  EXPECT_EQ(waitv.entries, 2u);
  EXPECT_EQ(entries_to_read(waitv), 2u);
  // futex_wake(2)'s flags too: FUTEX2_PRIVATE with garbage above is still private.
  const FutexCall wake = describe(454, {0x1000, ~0ull, 1, kGarbage | 0x82, 0, 0});
  EXPECT_EQ(wake.keys, FutexKeys::kPrivate);
  EXPECT_EQ(futex_call_name(wake), "futex_wake");
}

TEST(FutexCall, ArrayCallsAreSettledByTheirEntries) {
  const auto entry = [](std::uint64_t uaddr, std::uint32_t flags) {
    return abi::futex::Waitv{0, uaddr, flags, 0};
  };
  FutexCall waitv = describe(SYS_futex_waitv, {0x2000, 2, 0, 0, 0, 0});
  EXPECT_EQ(waitv.keys, FutexKeys::kUnread);
  EXPECT_TRUE(waitv.may_sleep);
  EXPECT_FALSE(waitv.sleeps_on_word);
  EXPECT_EQ(waitv.timeout_arg, 3);
  const abi::futex::Waitv mixed[2] = {entry(0x10, 0x82), entry(0x20, 0x02)};
  classify_entries(waitv, mixed);
  EXPECT_EQ(waitv.keys, FutexKeys::kMixed);
  const abi::futex::Waitv shared[2] = {entry(0x10, 0x02), entry(0x20, 0x02)};
  classify_entries(waitv, shared);
  EXPECT_EQ(waitv.keys, FutexKeys::kShared);

  // Linux refuses these before reading any entry: nothing to read, the call is served (EINVAL).
  EXPECT_EQ(entries_to_read(describe(SYS_futex_waitv, {0x2000, 0, 0, 0, 0, 0})), 0u);
  EXPECT_EQ(entries_to_read(describe(SYS_futex_waitv, {0x2000, 129, 0, 0, 0, 0})), 0u);
  EXPECT_EQ(entries_to_read(describe(SYS_futex_waitv, {0x2000, 2, 1, 0, 0, 0})), 0u);
  EXPECT_EQ(entries_to_read(describe(SYS_futex_waitv, {0, 2, 0, 0, 0, 0})), 0u);

  FutexCall requeue = describe(456, {0x3000, 0, 1, 1, 0, 0});
  EXPECT_EQ(entries_to_read(requeue), 2u);
  EXPECT_FALSE(requeue.wakes_named_word());  // its words are in memory
  const abi::futex::Waitv pair[2] = {entry(0x40, 0x82), entry(0x50, 0x82)};
  classify_entries(requeue, pair);
  EXPECT_EQ(requeue.keys, FutexKeys::kPrivate);
  EXPECT_EQ(requeue.word, 0x40u);
  EXPECT_EQ(entries_to_read(describe(456, {0x3000, 1, 1, 1, 0, 0})), 0u);  // flags must be 0
}

TEST(FutexCall, TimeoutsAndOtherSyscalls) {
  const Regs untimed = {0x1000, 0, 0, 0, 0, 0};
  const Regs timed = {0x1000, 0, 0, 0x7000, 0x7000, 0};
  EXPECT_TRUE(describe(SYS_futex, untimed).untimed(untimed));
  EXPECT_FALSE(describe(SYS_futex, timed).untimed(timed));
  // futex_wait(2)'s timeout is its fifth argument.
  const Regs wait2_timed = {0x1000, 0, ~0u, 0x82, 0x7000, 1};
  EXPECT_FALSE(describe(455, wait2_timed).untimed(wait2_timed));
  EXPECT_FALSE(describe(SYS_futex, {0x1000, FUTEX_WAKE, 1, 0, 0, 0}).untimed(untimed));
  EXPECT_FALSE(describe(SYS_getpid, untimed).family);
  EXPECT_EQ(futex_call_name(describe(SYS_getpid, untimed)), "syscall_39");
  for (const std::uint32_t nr : kFutexFamily) EXPECT_TRUE(describe(nr, untimed).family) << nr;
}

}  // namespace
}  // namespace futexbox::syscalls
