// The signal syscalls, against the host kernel and against futexbox's SignalManager, with the same
// expectations: actions, masks, pending sets, coalescing and queueing, the queue limit, target
// errors and permissions, rt_sigtimedwait, rt_sigsuspend, sigaltstack, and signals interrupting
// waits (EINTR without SA_RESTART, a transparent restart with it).
//
// Host safety: every signal a test sends has a recording handler or is blocked in every thread of
// the test process; the host backend restores every action and the mask when it goes away.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/futex.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <memory>
#include <thread>
#include <vector>

#include "tests/conformance/backend.h"
#include "tests/conformance/backend_kind.h"
#include "tests/conformance/syscall_matchers.h"
#include "tests/util/test_util.h"

namespace futexbox::conformance {
namespace {

using futexbox::testing::eventually;
using ::testing::ElementsAre;
using namespace std::chrono_literals;

constexpr int kUsr1 = 10, kUsr2 = 12, kRt0 = 34, kRt1 = 35, kKill = 9, kStop = 19;
constexpr std::uint64_t kSaSigInfo = 0x4, kSaRestorer = 0x04000000, kSaRestart = 0x10000000,
                        kSaNoDefer = 0x40000000, kSaResetHand = 0x80000000,
                        kSaUnsupported = 0x400;
constexpr int kSigBlock = 0, kSigUnblock = 1, kSigSetmask = 2;
constexpr int kSiUser = 0, kSiQueue = -1, kSiTkill = -6;
constexpr std::uint64_t bit(int sig) { return std::uint64_t{1} << (sig - 1); }

struct KSigaction {
  std::uint64_t handler = 0, flags = 0, restorer = 0, mask = 0;
};
struct KSigInfo {
  std::int32_t signo = 0, err = 0, code = 0, pad = 0;
  std::int32_t pid = 0;
  std::uint32_t uid = 0;
  std::uint64_t value = 0;
  std::uint8_t rest[96] = {};
};
static_assert(sizeof(KSigInfo) == 128);
struct KStack {
  std::uint64_t sp = 0;
  std::int32_t flags = 0, pad = 0;
  std::uint64_t size = 0;
};

using Kind = BackendKind;

class SignalTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    b_ = make_backend(GetParam());
    pid_ = static_cast<pid_t>(b_->syscall(SYS_getpid));
    tid_ = static_cast<pid_t>(b_->syscall(SYS_gettid));
  }

  std::int64_t set_action(int sig, std::uint64_t handler, std::uint64_t flags,
                          std::uint64_t mask = 0) {
    const KSigaction act{handler, flags | kSaRestorer, b_->signal_restorer(), mask};
    return b_->syscall(SYS_rt_sigaction, static_cast<std::uint64_t>(sig), b_->put(act), 0, 8);
  }
  // The recording handler with SA_SIGINFO (and `extra` flags).
  std::int64_t record(int sig, std::uint64_t extra = 0, std::uint64_t mask = 0) {
    return set_action(sig, b_->recording_handler(), kSaSigInfo | extra, mask);
  }
  KSigaction action_of(int sig) {
    const Addr old = b_->alloc(sizeof(KSigaction));
    EXPECT_THAT(b_->syscall(SYS_rt_sigaction, static_cast<std::uint64_t>(sig), 0, old, 8),
                SyscallSucceeds());
    return b_->read_as<KSigaction>(old);
  }
  std::int64_t mask(int how, std::uint64_t set) {
    return b_->syscall(SYS_rt_sigprocmask, static_cast<std::uint64_t>(how), b_->put(set), 0, 8);
  }
  std::uint64_t current_mask() {
    const Addr old = b_->alloc(8);
    EXPECT_THAT(b_->syscall(SYS_rt_sigprocmask, kSigBlock, 0, old, 8), SyscallSucceeds());
    return b_->read_as<std::uint64_t>(old);
  }
  std::uint64_t pending() {
    const Addr set = b_->alloc(8);
    EXPECT_THAT(b_->syscall(SYS_rt_sigpending, set, 8), SyscallSucceeds());
    return b_->read_as<std::uint64_t>(set);
  }
  std::int64_t tgkill(pid_t tid, int sig) {
    return b_->syscall(SYS_tgkill, static_cast<std::uint64_t>(pid_), static_cast<std::uint64_t>(tid),
                       static_cast<std::uint64_t>(sig));
  }
  std::int64_t queue_to_thread(pid_t tid, int sig, std::uint64_t value, int code = kSiQueue) {
    KSigInfo info;
    info.signo = sig;
    info.code = code;
    info.pid = pid_;
    info.value = value;
    return b_->syscall(SYS_rt_tgsigqueueinfo, static_cast<std::uint64_t>(pid_),
                       static_cast<std::uint64_t>(tid), static_cast<std::uint64_t>(sig),
                       b_->put(info));
  }
  Addr timespec_ms(std::int64_t ms) { return b_->timespec(ms / 1000, (ms % 1000) * 1'000'000); }

  std::unique_ptr<Backend> b_;
  pid_t pid_ = 0;
  pid_t tid_ = 0;
};

// ---------------------------------------------------------------- rt_sigaction

TEST_P(SignalTest, SigactionRejectsBadNumbersAndCatchingKillOrStop) {
  EXPECT_THAT(record(0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(record(65), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(record(kKill), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(record(kStop), SyscallFailsWithErrno(EINVAL));
  // Asking about them is fine.
  EXPECT_THAT(b_->syscall(SYS_rt_sigaction, kKill, 0, b_->alloc(32), 8), SyscallSucceeds());
  EXPECT_THAT(b_->syscall(SYS_rt_sigaction, kUsr2, 0, b_->alloc(32), 4),
              SyscallFailsWithErrno(EINVAL));
}

TEST_P(SignalTest, SigactionReturnsTheOldActionAndDropsUnknownFlagsAndUnblockables) {
  ASSERT_THAT(record(kUsr2, kSaRestart | kSaUnsupported, bit(kKill) | bit(kRt0)),
              SyscallSucceeds());
  const KSigaction got = action_of(kUsr2);
  EXPECT_EQ(got.handler, b_->recording_handler());
  EXPECT_EQ(got.flags, kSaSigInfo | kSaRestart | kSaRestorer);
  EXPECT_EQ(got.restorer, b_->signal_restorer());
  EXPECT_EQ(got.mask, bit(kRt0));
}

TEST_P(SignalTest, SigactionFaultsReadingTheNewActionBeforeChangingAnything) {
  ASSERT_THAT(record(kUsr2), SyscallSucceeds());
  EXPECT_THAT(b_->syscall(SYS_rt_sigaction, kUsr2, b_->unmapped_page(), 0, 8),
              SyscallFailsWithErrno(EFAULT));
  EXPECT_EQ(action_of(kUsr2).handler, b_->recording_handler());
  // A bad place for the old action: the new one is installed, then EFAULT.
  const KSigaction ignore{1, 0, 0, 0};
  EXPECT_THAT(b_->syscall(SYS_rt_sigaction, kUsr2, b_->put(ignore), b_->readonly_page(), 8),
              SyscallFailsWithErrno(EFAULT));
  EXPECT_EQ(action_of(kUsr2).handler, 1u);
}

TEST_P(SignalTest, IgnoringAPendingSignalDiscardsIt) {
  ASSERT_THAT(record(kUsr2), SyscallSucceeds());
  ASSERT_THAT(mask(kSigBlock, bit(kUsr2)), SyscallSucceeds());
  ASSERT_THAT(b_->syscall(SYS_kill, static_cast<std::uint64_t>(pid_), kUsr2), SyscallSucceeds());
  EXPECT_EQ(pending() & bit(kUsr2), bit(kUsr2));
  const KSigaction ignore{1, 0, 0, 0};
  ASSERT_THAT(b_->syscall(SYS_rt_sigaction, kUsr2, b_->put(ignore), 0, 8), SyscallSucceeds());
  EXPECT_EQ(pending() & bit(kUsr2), 0u);
  // An ignored, unblocked signal is dropped at once.
  ASSERT_THAT(mask(kSigUnblock, bit(kUsr2)), SyscallSucceeds());
  ASSERT_THAT(tgkill(tid_, kUsr2), SyscallSucceeds());
  EXPECT_TRUE(b_->take_deliveries().empty());
}

// ---------------------------------------------------------------- masks and pending

TEST_P(SignalTest, SigprocmaskValidatesAndNeverBlocksKillOrStop) {
  EXPECT_THAT(b_->syscall(SYS_rt_sigprocmask, 3, b_->put(std::uint64_t{0}), 0, 8),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_rt_sigprocmask, kSigBlock, b_->put(std::uint64_t{0}), 0, 4),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_rt_sigprocmask, kSigBlock, b_->unmapped_page(), 0, 8),
              SyscallFailsWithErrno(EFAULT));
  const std::uint64_t before = current_mask();
  ASSERT_THAT(mask(kSigBlock, bit(kKill) | bit(kStop) | bit(kUsr2) | bit(kRt0)),
              SyscallSucceeds());
  EXPECT_EQ(current_mask(), before | bit(kUsr2) | bit(kRt0));
  const Addr old = b_->alloc(8);
  ASSERT_THAT(b_->syscall(SYS_rt_sigprocmask, kSigUnblock, b_->put(bit(kRt0)), old, 8),
              SyscallSucceeds());
  EXPECT_EQ(b_->read_as<std::uint64_t>(old), before | bit(kUsr2) | bit(kRt0));
  ASSERT_THAT(mask(kSigSetmask, before), SyscallSucceeds());
  EXPECT_EQ(current_mask(), before);
}

TEST_P(SignalTest, SigpendingReportsOnlyBlockedSignalsAndChecksItsSize) {
  ASSERT_THAT(record(kUsr2), SyscallSucceeds());
  ASSERT_THAT(mask(kSigBlock, bit(kUsr2)), SyscallSucceeds());
  ASSERT_THAT(tgkill(tid_, kUsr2), SyscallSucceeds());
  EXPECT_EQ(pending(), bit(kUsr2));
  EXPECT_THAT(b_->syscall(SYS_rt_sigpending, b_->alloc(16), 9), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_rt_sigpending, b_->unmapped_page(), 8),
              SyscallFailsWithErrno(EFAULT));
  // A short size copies that many bytes.
  const Addr small = b_->put(~std::uint64_t{0});
  ASSERT_THAT(b_->syscall(SYS_rt_sigpending, small, 1), SyscallSucceeds());
  EXPECT_EQ(b_->read_as<std::uint64_t>(small), ~std::uint64_t{0xff} | bit(kUsr2));
  ASSERT_THAT(mask(kSigUnblock, bit(kUsr2)), SyscallSucceeds());
  EXPECT_THAT(b_->take_deliveries(),
              ElementsAre(Delivered{kUsr2, kSiTkill, pid_, static_cast<std::uint32_t>(getuid()),
                                    0, tid_}));
  EXPECT_EQ(pending(), 0u);
}

// ---------------------------------------------------------------- queueing

TEST_P(SignalTest, StandardSignalsCoalesceRealtimeSignalsQueueInOrder) {
  ASSERT_THAT(record(kUsr2), SyscallSucceeds());
  ASSERT_THAT(record(kRt0), SyscallSucceeds());
  ASSERT_THAT(mask(kSigBlock, bit(kUsr2) | bit(kRt0)), SyscallSucceeds());
  for (int i = 0; i < 3; ++i) ASSERT_THAT(tgkill(tid_, kUsr2), SyscallSucceeds());
  for (std::uint64_t v = 1; v <= 3; ++v) ASSERT_THAT(queue_to_thread(tid_, kRt0, v), SyscallSucceeds());
  EXPECT_TRUE(b_->take_deliveries().empty());
  ASSERT_THAT(mask(kSigUnblock, bit(kUsr2) | bit(kRt0)), SyscallSucceeds());
  // SIGUSR2 is taken first (lowest number); each SIGRTMIN handler runs with SIGRTMIN blocked, so
  // the next instance waits for its rt_sigreturn; all of them nest inside SIGUSR2's handler.
  const auto uid = static_cast<std::uint32_t>(getuid());
  EXPECT_THAT(b_->take_deliveries(),
              ElementsAre(Delivered{kRt0, kSiQueue, pid_, 0, 1, tid_},
                          Delivered{kRt0, kSiQueue, pid_, 0, 2, tid_},
                          Delivered{kRt0, kSiQueue, pid_, 0, 3, tid_},
                          Delivered{kUsr2, kSiTkill, pid_, uid, 0, tid_}));
}

TEST_P(SignalTest, NodeferLetsTheSameSignalNestInsideItsHandler) {
  ASSERT_THAT(record(kRt0, kSaNoDefer), SyscallSucceeds());
  ASSERT_THAT(mask(kSigBlock, bit(kRt0)), SyscallSucceeds());
  for (std::uint64_t v = 1; v <= 3; ++v) ASSERT_THAT(queue_to_thread(tid_, kRt0, v), SyscallSucceeds());
  ASSERT_THAT(mask(kSigUnblock, bit(kRt0)), SyscallSucceeds());
  // Every instance's frame is set up before any handler body runs: the last one runs first.
  EXPECT_THAT(b_->take_deliveries(), ElementsAre(Delivered{kRt0, kSiQueue, pid_, 0, 3, tid_},
                                                 Delivered{kRt0, kSiQueue, pid_, 0, 2, tid_},
                                                 Delivered{kRt0, kSiQueue, pid_, 0, 1, tid_}));
}

TEST_P(SignalTest, SaMaskBlocksOtherSignalsDuringTheHandler) {
  ASSERT_THAT(record(kUsr2, 0, bit(kRt0)), SyscallSucceeds());
  ASSERT_THAT(record(kRt0), SyscallSucceeds());
  ASSERT_THAT(mask(kSigBlock, bit(kUsr2) | bit(kRt0)), SyscallSucceeds());
  ASSERT_THAT(queue_to_thread(tid_, kRt0, 7), SyscallSucceeds());
  ASSERT_THAT(tgkill(tid_, kUsr2), SyscallSucceeds());
  ASSERT_THAT(mask(kSigUnblock, bit(kUsr2) | bit(kRt0)), SyscallSucceeds());
  // SIGRTMIN cannot nest inside SIGUSR2's handler, so it runs after it.
  const auto d = b_->take_deliveries();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].signo, kUsr2);
  EXPECT_EQ(d[1].signo, kRt0);
}

TEST_P(SignalTest, ResethandRestoresTheDefaultAfterOneDelivery) {
  ASSERT_THAT(record(kUsr2, kSaResetHand | kSaRestart), SyscallSucceeds());
  ASSERT_THAT(tgkill(tid_, kUsr2), SyscallSucceeds());
  EXPECT_EQ(b_->take_deliveries().size(), 1u);
  const KSigaction now = action_of(kUsr2);
  EXPECT_EQ(now.handler, 0u);
  EXPECT_EQ(now.flags, kSaSigInfo | kSaResetHand | kSaRestart | kSaRestorer);
}

TEST_P(SignalTest, QueueLimitGivesEagainForQueuedSignalsAndLosesKillsInfo) {
  constexpr std::size_t kLimit = 8;
  ASSERT_THAT(record(kRt0), SyscallSucceeds());
  ASSERT_THAT(record(kRt1), SyscallSucceeds());
  ASSERT_THAT(mask(kSigBlock, bit(kRt0) | bit(kRt1)), SyscallSucceeds());
  b_->set_signal_queue_limit(kLimit);
  // The limit counts every signal queued for this user, other processes' included (a parent's
  // SIGCHLD, say): the room left is the limit minus what is queued already. Retry if that count
  // moved while we filled the queue.
  std::size_t room = 0;
  std::size_t queued = 0;
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (attempt > 0) {
      const KSigaction ignore{1, 0, 0, 0};  // drops what this attempt queued
      b_->syscall(SYS_rt_sigaction, kRt0, b_->put(ignore), 0, 8);
      ASSERT_THAT(record(kRt0), SyscallSucceeds());
      std::this_thread::sleep_for(50ms);
    }
    const std::size_t others = b_->queued_signals_of_user();
    ASSERT_LT(others, kLimit);
    room = kLimit - others;
    queued = 0;
    while (queued < 100 && queue_to_thread(tid_, kRt0, queued) == 0) ++queued;
    if (queued == room && b_->queued_signals_of_user() == kLimit) break;
  }
  EXPECT_EQ(queued, room);
  EXPECT_THAT(queue_to_thread(tid_, kRt0, 99), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(tgkill(tid_, kRt0), SyscallFailsWithErrno(EAGAIN));
  // kill() is never refused: the signal is kept without its siginfo.
  EXPECT_THAT(b_->syscall(SYS_kill, static_cast<std::uint64_t>(pid_), kRt1), SyscallSucceeds());
  b_->set_signal_queue_limit(1024);
  ASSERT_THAT(mask(kSigUnblock, bit(kRt0) | bit(kRt1)), SyscallSucceeds());
  const auto d = b_->take_deliveries();
  ASSERT_EQ(d.size(), room + 1);
  // SIGRTMIN+1 nests inside the first SIGRTMIN handler, so it runs first; it has no siginfo of
  // its own: SI_USER from pid 0, uid 0.
  EXPECT_EQ(d[0], (Delivered{kRt1, kSiUser, 0, 0, 0, tid_}));
  for (std::size_t i = 0; i < room; ++i) EXPECT_EQ(d[i + 1].value, i) << i;
}

// ---------------------------------------------------------------- targets and permissions

TEST_P(SignalTest, KillAndTgkillErrors) {
  constexpr std::uint64_t kNoSuchPid = 0x3fffffff;
  const auto pid = static_cast<std::uint64_t>(pid_);
  const auto tid = static_cast<std::uint64_t>(tid_);
  EXPECT_THAT(b_->syscall(SYS_kill, kNoSuchPid, 0), SyscallFailsWithErrno(ESRCH));
  EXPECT_THAT(b_->syscall(SYS_kill, kNoSuchPid, 99), SyscallFailsWithErrno(ESRCH));
  EXPECT_THAT(b_->syscall(SYS_kill, pid, 65), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_kill, pid, static_cast<std::uint64_t>(-1)),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_kill, pid, 0), SyscallSucceeds());
  EXPECT_THAT(b_->syscall(SYS_kill, 0, 0), SyscallSucceeds());
  EXPECT_THAT(b_->syscall(SYS_kill, static_cast<std::uint64_t>(INT_MIN), 0),
              SyscallFailsWithErrno(ESRCH));
  EXPECT_THAT(b_->syscall(SYS_tgkill, 0, tid, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_tgkill, pid, 0, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_tgkill, pid, kNoSuchPid, 0), SyscallFailsWithErrno(ESRCH));
  EXPECT_THAT(b_->syscall(SYS_tgkill, kNoSuchPid, tid, 0), SyscallFailsWithErrno(ESRCH));
  EXPECT_THAT(b_->syscall(SYS_tgkill, pid, tid, 65), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_tgkill, pid, tid, 0), SyscallSucceeds());
  EXPECT_THAT(b_->syscall(SYS_tkill, static_cast<std::uint64_t>(-1), 0),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_tkill, tid, 0), SyscallSucceeds());
  EXPECT_THAT(b_->syscall(SYS_tkill, kNoSuchPid, 0), SyscallFailsWithErrno(ESRCH));
}

TEST_P(SignalTest, QueuedSiginfoMayClaimKillOrKernelOnlyToOneself) {
  constexpr std::uint64_t kNoSuchPid = 0x3fffffff;
  KSigInfo info;
  info.code = kSiUser;
  EXPECT_THAT(b_->syscall(SYS_rt_sigqueueinfo, kNoSuchPid, 0, b_->put(info)),
              SyscallFailsWithErrno(EPERM));
  info.code = kSiTkill;
  EXPECT_THAT(b_->syscall(SYS_rt_sigqueueinfo, kNoSuchPid, 0, b_->put(info)),
              SyscallFailsWithErrno(EPERM));
  info.code = kSiQueue;
  EXPECT_THAT(b_->syscall(SYS_rt_sigqueueinfo, kNoSuchPid, 0, b_->put(info)),
              SyscallFailsWithErrno(ESRCH));
  EXPECT_THAT(b_->syscall(SYS_rt_sigqueueinfo, static_cast<std::uint64_t>(pid_), 0,
                          b_->unmapped_page()),
              SyscallFailsWithErrno(EFAULT));
  // The siginfo is read before the ids are checked.
  EXPECT_THAT(b_->syscall(SYS_rt_tgsigqueueinfo, 0, static_cast<std::uint64_t>(tid_), 0,
                          b_->unmapped_page()),
              SyscallFailsWithErrno(EFAULT));
  EXPECT_THAT(b_->syscall(SYS_rt_tgsigqueueinfo, 0, static_cast<std::uint64_t>(tid_), 0,
                          b_->put(info)),
              SyscallFailsWithErrno(EINVAL));
  // To oneself, a kill()-looking siginfo is fine; si_signo is overwritten with the signal.
  ASSERT_THAT(record(kUsr2), SyscallSucceeds());
  info.code = kSiUser;
  info.signo = 3;
  info.pid = 4242;
  ASSERT_THAT(b_->syscall(SYS_rt_sigqueueinfo, static_cast<std::uint64_t>(pid_), kUsr2,
                          b_->put(info)),
              SyscallSucceeds());
  EXPECT_THAT(b_->take_deliveries(), ElementsAre(Delivered{kUsr2, kSiUser, 4242, 0, 0, tid_}));
}

TEST_P(SignalTest, ProcessDirectedSignalGoesToAThreadThatDoesNotBlockIt) {
  ASSERT_THAT(record(kUsr2), SyscallSucceeds());
  ASSERT_THAT(mask(kSigBlock, bit(kUsr2)), SyscallSucceeds());
  std::atomic<pid_t> taker{0};
  std::atomic<bool> done{false};
  auto t = b_->spawn([&] {
    taker = static_cast<pid_t>(b_->syscall(SYS_gettid));
    ASSERT_THAT(mask(kSigUnblock, bit(kUsr2)), SyscallSucceeds());
    // Sleep in a wait the signal interrupts.
    const Addr word = b_->alloc(4);
    while (!done.load()) {
      b_->futex(word, FUTEX_WAIT_PRIVATE, 0, timespec_ms(20));
    }
  });
  ASSERT_TRUE(eventually([&] { return taker.load() != 0; }));
  ASSERT_THAT(b_->syscall(SYS_kill, static_cast<std::uint64_t>(pid_), kUsr2), SyscallSucceeds());
  ASSERT_TRUE(eventually([&] {
    const auto d = b_->take_deliveries();
    if (d.empty()) return false;
    EXPECT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].tid, taker.load());
    EXPECT_EQ(d[0].code, kSiUser);
    return true;
  }));
  done = true;
  t->join();
  EXPECT_EQ(pending(), 0u);
}

// ---------------------------------------------------------------- waiting for signals

TEST_P(SignalTest, SigtimedwaitTakesAPendingSignalWithItsInfo) {
  ASSERT_THAT(mask(kSigBlock, bit(kRt0)), SyscallSucceeds());
  const Addr set = b_->put(bit(kRt0));
  const Addr info = b_->alloc(sizeof(KSigInfo));
  EXPECT_THAT(b_->syscall(SYS_rt_sigtimedwait, set, info, timespec_ms(0), 8),
              SyscallFailsWithErrno(EAGAIN));
  ASSERT_THAT(queue_to_thread(tid_, kRt0, 77), SyscallSucceeds());
  EXPECT_THAT(b_->syscall(SYS_rt_sigtimedwait, set, info, timespec_ms(0), 8),
              SyscallSucceedsWithValue(kRt0));
  const auto got = b_->read_as<KSigInfo>(info);
  EXPECT_EQ(got.signo, kRt0);
  EXPECT_EQ(got.code, kSiQueue);
  EXPECT_EQ(got.pid, pid_);
  EXPECT_EQ(got.value, 77u);
  EXPECT_EQ(pending(), 0u);
  EXPECT_TRUE(b_->take_deliveries().empty());
}

TEST_P(SignalTest, SigtimedwaitValidatesAndTimesOut) {
  const Addr set = b_->put(bit(kRt0));
  EXPECT_THAT(b_->syscall(SYS_rt_sigtimedwait, set, 0, timespec_ms(0), 4),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_rt_sigtimedwait, b_->unmapped_page(), 0, timespec_ms(0), 8),
              SyscallFailsWithErrno(EFAULT));
  EXPECT_THAT(b_->syscall(SYS_rt_sigtimedwait, set, 0, b_->unmapped_page(), 8),
              SyscallFailsWithErrno(EFAULT));
  EXPECT_THAT(b_->syscall(SYS_rt_sigtimedwait, set, 0, b_->timespec(0, 1'000'000'000), 8),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_rt_sigtimedwait, set, 0, b_->timespec(-1, 0), 8),
              SyscallFailsWithErrno(EINVAL));
  ASSERT_THAT(mask(kSigBlock, bit(kRt0)), SyscallSucceeds());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(b_->syscall(SYS_rt_sigtimedwait, set, 0, timespec_ms(50), 8),
              SyscallFailsWithErrno(EAGAIN));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  // The mask is what it was before the wait.
  EXPECT_EQ(current_mask() & bit(kRt0), bit(kRt0));
}

TEST_P(SignalTest, SigtimedwaitIsWokenBySignalsForItsThreadAndItsProcess) {
  ASSERT_THAT(mask(kSigBlock, bit(kRt0) | bit(kRt1)), SyscallSucceeds());
  std::vector<std::int64_t> got;
  auto t = b_->spawn([&] {
    const Addr set = b_->put(bit(kRt0) | bit(kRt1));
    got.push_back(b_->syscall(SYS_rt_sigtimedwait, set, 0, 0, 8));
    got.push_back(b_->syscall(SYS_rt_sigtimedwait, set, 0, 0, 8));
  });
  ASSERT_TRUE(eventually([&] { return t->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  ASSERT_THAT(tgkill(t->tid(), kRt1), SyscallSucceeds());
  ASSERT_TRUE(eventually([&] { return t->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  // Process-directed: every thread blocks it, but the waiter has it unblocked while it waits.
  ASSERT_THAT(b_->syscall(SYS_kill, static_cast<std::uint64_t>(pid_), kRt0), SyscallSucceeds());
  t->join();
  EXPECT_THAT(got, ElementsAre(kRt1, kRt0));
}

TEST_P(SignalTest, SigtimedwaitInterruptedByAHandledSignalIsEintr) {
  ASSERT_THAT(mask(kSigBlock, bit(kRt0)), SyscallSucceeds());
  std::atomic<std::int64_t> got{0};
  auto t = b_->spawn([&] {
    got = b_->syscall(SYS_rt_sigtimedwait, b_->put(bit(kRt0)), 0, 0, 8);
  });
  ASSERT_TRUE(eventually([&] { return t->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  t->interrupt();
  t->join();
  EXPECT_THAT(got, SyscallFailsWithErrno(EINTR));
  const auto d = b_->take_deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].signo, Backend::kInterruptSignal);
  EXPECT_EQ(d[0].tid, t->tid());
}

TEST_P(SignalTest, SigsuspendRunsTheHandlerWithItsMaskAndRestoresTheOldOne) {
  ASSERT_THAT(record(kUsr2), SyscallSucceeds());
  ASSERT_THAT(mask(kSigBlock, bit(kUsr2)), SyscallSucceeds());
  std::int64_t got = 0;
  std::uint64_t mask_after = 0;
  auto t = b_->spawn([&] {
    got = b_->syscall(SYS_rt_sigsuspend, b_->put(std::uint64_t{0}), 8);
    mask_after = current_mask();
  });
  ASSERT_TRUE(eventually([&] { return t->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  ASSERT_THAT(tgkill(t->tid(), kUsr2), SyscallSucceeds());
  t->join();
  EXPECT_THAT(got, SyscallFailsWithErrno(EINTR));
  EXPECT_EQ(mask_after & bit(kUsr2), bit(kUsr2));
  const auto d = b_->take_deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].tid, t->tid());
  EXPECT_THAT(b_->syscall(SYS_rt_sigsuspend, b_->put(std::uint64_t{0}), 4),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_rt_sigsuspend, b_->unmapped_page(), 8),
              SyscallFailsWithErrno(EFAULT));
}

// ---------------------------------------------------------------- signals and futex waits

TEST_P(SignalTest, SaRestartMakesAnInterruptedFutexWaitTransparent) {
  ASSERT_THAT(record(kUsr2, kSaRestart), SyscallSucceeds());
  const Addr word = b_->alloc(4);
  std::atomic<std::int64_t> got{-1};
  auto t = b_->spawn([&] { got = b_->futex(word, FUTEX_WAIT_PRIVATE, 0); });
  ASSERT_TRUE(eventually([&] { return t->blocked_in_futex(); }));
  ASSERT_THAT(tgkill(t->tid(), kUsr2), SyscallSucceeds());
  ASSERT_TRUE(eventually([&] { return !b_->take_deliveries().empty(); }));
  // Back in the wait, not returned.
  ASSERT_TRUE(eventually([&] { return t->blocked_in_futex(); }));
  EXPECT_EQ(got, -1);
  b_->store(word, 1);
  ASSERT_THAT(b_->futex(word, FUTEX_WAKE_PRIVATE, 1), SyscallSucceedsWithValue(1));
  t->join();
  EXPECT_THAT(got, SyscallSucceedsWithValue(0));
}

TEST_P(SignalTest, BlockedSignalDoesNotInterruptAWait) {
  ASSERT_THAT(record(kUsr2), SyscallSucceeds());
  ASSERT_THAT(mask(kSigBlock, bit(kUsr2)), SyscallSucceeds());
  const Addr word = b_->alloc(4);
  std::atomic<std::int64_t> got{-1};
  auto t = b_->spawn([&] { got = b_->futex(word, FUTEX_WAIT_PRIVATE, 0, timespec_ms(150)); });
  ASSERT_TRUE(eventually([&] { return t->blocked_in_futex(); }));
  ASSERT_THAT(tgkill(t->tid(), kUsr2), SyscallSucceeds());
  t->join();
  EXPECT_THAT(got, SyscallFailsWithErrno(ETIMEDOUT));
  EXPECT_TRUE(b_->take_deliveries().empty());
  // Still pending for that thread, which has exited: gone with it, not the process's.
  EXPECT_EQ(pending(), 0u);
}

// ---------------------------------------------------------------- sigaltstack

TEST_P(SignalTest, SigaltstackSetsQueriesAndDisables) {
  std::vector<KStack> seen;
  std::vector<std::int64_t> results;
  auto t = b_->spawn([&] {
    const Addr old = b_->alloc(sizeof(KStack));
    auto query = [&] {
      results.push_back(b_->syscall(SYS_sigaltstack, 0, old));
      seen.push_back(b_->read_as<KStack>(old));
    };
    // A new thread has none on Linux, but a sanitizer runtime gives each thread one: start from
    // a disabled stack either way.
    results.push_back(b_->syscall(SYS_sigaltstack, b_->put(KStack{0, 2, 0, 0}), 0));
    query();
    const Addr stack = b_->alloc(16384);
    results.push_back(b_->syscall(SYS_sigaltstack, b_->put(KStack{stack, 0, 0, 16384}), 0));
    query();
    results.push_back(b_->syscall(SYS_sigaltstack, b_->put(KStack{stack, 0, 0, 1024}), 0));
    results.push_back(b_->syscall(SYS_sigaltstack, b_->put(KStack{stack, 5, 0, 16384}), 0));
    results.push_back(b_->syscall(SYS_sigaltstack, b_->unmapped_page(), 0));
    results.push_back(
        b_->syscall(SYS_sigaltstack, b_->put(KStack{stack, static_cast<std::int32_t>(0x80000000u), 0, 16384}), 0));
    query();
    results.push_back(b_->syscall(SYS_sigaltstack, b_->put(KStack{0, 2, 0, 0}), 0));
    query();
  });
  t->join();
  EXPECT_THAT(results, ElementsAre(0, 0, 0, 0, -ENOMEM, -EINVAL, -EFAULT, 0, 0, 0, 0));
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].flags, 2);
  EXPECT_EQ(seen[0].size, 0u);
  EXPECT_EQ(seen[1].flags, 0);
  EXPECT_EQ(seen[1].size, 16384u);
  EXPECT_EQ(seen[2].flags, static_cast<std::int32_t>(0x80000000u));
  EXPECT_EQ(seen[3].flags, 2);
  EXPECT_EQ(seen[3].sp, 0u);
}

INSTANTIATE_TEST_SUITE_P(All, SignalTest, all_backend_kinds(), backend_kind_name);

}  // namespace
}  // namespace futexbox::conformance
