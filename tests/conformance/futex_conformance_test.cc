// The futex family, against the host kernel and against futexbox, with the same expectations.
// Parameterized over {Host, Emulated} x {private, shared} (gVisor's PrivateAndSharedFutexTest).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "tests/conformance/backend.h"
#include "tests/conformance/syscall_matchers.h"
#include "tests/util/test_util.h"

namespace futexbox::conformance {
namespace {

using futexbox::testing::eventually;
using namespace std::chrono_literals;

constexpr std::uint64_t kSysFutexWaitv = 449;
constexpr std::uint64_t kSysFutexWake = 454;
constexpr std::uint64_t kSysFutexWait = 455;
constexpr std::uint64_t kSysFutexRequeue = 456;
constexpr std::uint32_t kFutex2U32 = 2;
constexpr std::uint32_t kFutex2U64 = 3;
constexpr std::uint32_t kFutex2Private = 128;

enum class Kind { kHost, kEmulated, kEmulatedOnHostMemory };

struct Param {
  Kind kind;
  bool is_private;
};

std::string param_name(const ::testing::TestParamInfo<Param>& info) {
  static constexpr const char* kNames[] = {"Host", "Emulated", "EmulatedOnHostMemory"};
  return std::string(kNames[static_cast<int>(info.param.kind)]) +
         (info.param.is_private ? "Private" : "Shared");
}

class FutexTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    switch (GetParam().kind) {
      case Kind::kHost:
        backend_ = make_host_backend();
        break;
      case Kind::kEmulated:
        backend_ = make_emulated_backend();
        break;
      case Kind::kEmulatedOnHostMemory:
        backend_ = make_emulated_host_memory_backend();
        break;
    }
  }

  int op(int base) const { return base | (GetParam().is_private ? FUTEX_PRIVATE_FLAG : 0); }
  std::uint32_t futex2_flags() const {
    return kFutex2U32 | (GetParam().is_private ? kFutex2Private : 0);
  }
  Addr word(std::uint32_t value = 0) {
    const Addr a = backend_->alloc(4);
    backend_->store(a, value);
    return a;
  }
  std::int64_t wake(Addr a, int n) { return backend_->futex(a, op(FUTEX_WAKE), n); }

  // Starts `n` threads that each FUTEX_WAIT on `a` for `val` (any bitset unless given) and records
  // what the wait returned; returns when all of them are asleep in the wait.
  struct Waiters {
    std::vector<std::unique_ptr<GuestThread>> threads;
    std::vector<std::int64_t> results;
    std::atomic<int> done{0};
  };
  std::unique_ptr<Waiters> start_waiters(int n, Addr a, std::uint32_t val,
                                         std::uint32_t bitset = FUTEX_BITSET_MATCH_ANY) {
    auto w = std::make_unique<Waiters>();
    w->results.assign(static_cast<std::size_t>(n), 1);
    for (int i = 0; i < n; ++i) {
      Waiters* raw = w.get();
      w->threads.push_back(backend_->spawn([this, raw, i, a, val, bitset] {
        raw->results[static_cast<std::size_t>(i)] =
            backend_->futex(a, op(FUTEX_WAIT_BITSET), val, 0, 0, bitset);
        raw->done.fetch_add(1);
      }));
      // One at a time, so the kernel's FIFO order is the spawn order.
      EXPECT_TRUE(eventually([&] { return w->threads.back()->blocked_in_futex(); }));
    }
    return w;
  }
  // Whether exactly `n` of the waiters have returned, after giving stragglers a moment.
  static bool returned(Waiters& w, int n) {
    const bool reached = eventually([&] { return w.done.load() >= n; }, 5s);
    std::this_thread::sleep_for(20ms);
    return reached && w.done.load() == n;
  }

  std::unique_ptr<Backend> backend_;
};

// ---------------------------------------------------------------- FUTEX_WAIT

TEST_P(FutexTest, WaitWrongValueIsEagain) {
  const Addr a = word(1);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAIT), 2), SyscallFailsWithErrno(EAGAIN));
}

TEST_P(FutexTest, WaitZeroTimeoutTimesOut) {
  const Addr a = word(0);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAIT), 0, backend_->timespec(0, 0)),
              SyscallFailsWithErrno(ETIMEDOUT));
}

TEST_P(FutexTest, WaitWrongValueWinsOverZeroTimeout) {
  const Addr a = word(1);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAIT), 0, backend_->timespec(0, 0)),
              SyscallFailsWithErrno(EAGAIN));
}

TEST_P(FutexTest, WaitRelativeTimeoutIsAccurate) {
  const Addr a = word(0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAIT), 0, backend_->timespec(0, 30'000'000)),
              SyscallFailsWithErrno(ETIMEDOUT));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 30ms);
  EXPECT_LT(took, 530ms);  // scheduler noise on a loaded 2-vCPU machine
}

TEST_P(FutexTest, WaitBitsetAbsoluteMonotonicDeadline) {
  const Addr a = word(0);
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t ns = now.tv_nsec + 30'000'000;
  const Addr ts = backend_->timespec(now.tv_sec + ns / 1'000'000'000, ns % 1'000'000'000);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAIT_BITSET), 0, ts, 0, FUTEX_BITSET_MATCH_ANY),
              SyscallFailsWithErrno(ETIMEDOUT));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 25ms);
  EXPECT_LT(took, 530ms);
}

TEST_P(FutexTest, WaitBitsetRealtimeDeadlineInThePast) {
  const Addr a = word(0);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAIT_BITSET) | FUTEX_CLOCK_REALTIME, 0,
                              backend_->timespec(1, 0), 0, FUTEX_BITSET_MATCH_ANY),
              SyscallFailsWithErrno(ETIMEDOUT));
}

TEST_P(FutexTest, WaitWithClockRealtimeIsEnosys) {
  const Addr a = word(0);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAIT) | FUTEX_CLOCK_REALTIME, 0),
              SyscallFailsWithErrno(ENOSYS));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAKE) | FUTEX_CLOCK_REALTIME, 1),
              SyscallFailsWithErrno(ENOSYS));
}

TEST_P(FutexTest, BadTimespecIsEinvalEvenBeforeEnosys) {
  const Addr a = word(0);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAIT), 0, backend_->timespec(0, 1'000'000'000)),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAIT), 0, backend_->timespec(-1, 0)),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAIT) | FUTEX_CLOCK_REALTIME, 0,
                              backend_->timespec(0, -1)),
              SyscallFailsWithErrno(EINVAL));
}

TEST_P(FutexTest, UnreadableTimespecIsEfault) {
  const Addr a = word(0);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAIT), 0, backend_->unmapped_page()),
              SyscallFailsWithErrno(EFAULT));
}

TEST_P(FutexTest, MisalignedAddressIsEinval) {
  const Addr a = word(0);
  EXPECT_THAT(backend_->futex(a + 1, op(FUTEX_WAIT), 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->futex(a + 2, op(FUTEX_WAKE), 1), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_REQUEUE), 1, 1, a + 1), SyscallFailsWithErrno(EINVAL));
}

TEST_P(FutexTest, ZeroBitsetIsEinval) {
  const Addr a = word(0);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAIT_BITSET), 0, 0, 0, 0),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAKE_BITSET), 1, 0, 0, 0),
              SyscallFailsWithErrno(EINVAL));
}

TEST_P(FutexTest, WaitOnInaccessibleMemoryIsEfault) {
  EXPECT_THAT(backend_->futex(backend_->unmapped_page(), op(FUTEX_WAIT), 0),
              SyscallFailsWithErrno(EFAULT));
}

TEST_P(FutexTest, WaitOnReadOnlyAnonymousMemory) {
  // A private wait only reads the word. A shared key on a read-only anonymous page is refused:
  // "a RO anonymous page will never change" (get_futex_key).
  const std::int64_t r = backend_->futex(backend_->readonly_page(), op(FUTEX_WAIT), 1);
  if (GetParam().is_private) {
    EXPECT_THAT(r, SyscallFailsWithErrno(EAGAIN));
  } else {
    EXPECT_THAT(r, SyscallFailsWithErrno(EFAULT));
  }
}

TEST_P(FutexTest, WakeOnInaccessibleMemory) {
  // A private key needs no lookup of the memory; a shared one does.
  const std::int64_t r = wake(backend_->unmapped_page(), 1);
  if (GetParam().is_private) {
    EXPECT_THAT(r, SyscallSucceedsWithValue(0));
  } else {
    EXPECT_THAT(r, SyscallFailsWithErrno(EFAULT));
  }
}

TEST_P(FutexTest, AKernelAddressIsEfaultEvenForAPrivateWake) {
  // get_futex_key checks access_ok before anything else but alignment, for private keys too.
  // (Addresses every Linux version refuses: the kernel's half of the address space.)
  for (const std::uint64_t kernel_address : {0xffff800000000000ull, 0x8000000000000000ull}) {
    EXPECT_THAT(wake(kernel_address, 1), SyscallFailsWithErrno(EFAULT)) << std::hex << kernel_address;
    EXPECT_THAT(backend_->futex(kernel_address, op(FUTEX_WAIT), 0),
                SyscallFailsWithErrno(EFAULT));
    EXPECT_THAT(wake(kernel_address + 1, 1), SyscallFailsWithErrno(EINVAL));  // alignment first
  }
}

TEST_P(FutexTest, UnknownOpsAreEnosys) {
  const Addr a = word(0);
  for (int cmd : {FUTEX_FD, 14, 15, 127}) {
    EXPECT_THAT(backend_->futex(a, op(cmd), 0), SyscallFailsWithErrno(ENOSYS)) << "cmd " << cmd;
  }
}

// ---------------------------------------------------------------- FUTEX_WAKE

TEST_P(FutexTest, WakeWithNoWaitersIsZero) {
  const Addr a = word(0);
  EXPECT_THAT(wake(a, 1), SyscallSucceedsWithValue(0));
  EXPECT_THAT(wake(a, 0), SyscallSucceedsWithValue(0));
}

TEST_P(FutexTest, WakeOne) {
  const Addr a = word(0);
  auto w = start_waiters(2, a, 0);
  EXPECT_THAT(wake(a, 1), SyscallSucceedsWithValue(1));
  EXPECT_TRUE(returned(*w, 1));
  EXPECT_THAT(wake(a, 1), SyscallSucceedsWithValue(1));
  EXPECT_TRUE(returned(*w, 2));
  for (auto& t : w->threads) t->join();
  for (std::int64_t r : w->results) EXPECT_THAT(r, SyscallSucceedsWithValue(0));
}

TEST_P(FutexTest, WakeZeroWakesOne) {
  const Addr a = word(0);
  auto w = start_waiters(2, a, 0);
  EXPECT_THAT(wake(a, 0), SyscallSucceedsWithValue(1));
  EXPECT_TRUE(returned(*w, 1));
  EXPECT_THAT(wake(a, 5), SyscallSucceedsWithValue(1));
  for (auto& t : w->threads) t->join();
}

TEST_P(FutexTest, WakeNegativeCount) {
  const Addr a = word(0);
  auto w = start_waiters(2, a, 0);
  // Linux 6.x wakes one for any nr <= 0 (the loop tests `++woken >= nr`).
  EXPECT_THAT(wake(a, -1), SyscallSucceedsWithValue(1));
  EXPECT_THAT(wake(a, 5), SyscallSucceedsWithValue(1));
  for (auto& t : w->threads) t->join();
}

TEST_P(FutexTest, WakeSomeAndAll) {
  const Addr a = word(0);
  auto w = start_waiters(4, a, 0);
  EXPECT_THAT(wake(a, 3), SyscallSucceedsWithValue(3));
  EXPECT_TRUE(returned(*w, 3));
  EXPECT_THAT(wake(a, INT32_MAX), SyscallSucceedsWithValue(1));
  for (auto& t : w->threads) t->join();
}

TEST_P(FutexTest, WakeBitsetSelectsWaiters) {
  const Addr a = word(0);
  auto w1 = start_waiters(1, a, 0, 0b01);
  auto w2 = start_waiters(1, a, 0, 0b10);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAKE_BITSET), 10, 0, 0, 0b100),
              SyscallSucceedsWithValue(0));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAKE_BITSET), 10, 0, 0, 0b10),
              SyscallSucceedsWithValue(1));
  EXPECT_TRUE(returned(*w2, 1));
  EXPECT_TRUE(returned(*w1, 0));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAKE_BITSET), 10, 0, 0, 0b11),
              SyscallSucceedsWithValue(1));
  w1->threads[0]->join();
  w2->threads[0]->join();
}

TEST_P(FutexTest, PlainWakeReachesBitsetWaiters) {
  const Addr a = word(0);
  auto w = start_waiters(1, a, 0, 0x80000000);
  EXPECT_THAT(wake(a, 1), SyscallSucceedsWithValue(1));
  w->threads[0]->join();
}

TEST_P(FutexTest, WakeDoesNotCrossToTheOtherKind) {
  // A private wake never reaches a shared waiter and vice versa (FUT_OFF_MMSHARED).
  const Addr a = word(0);
  auto w = start_waiters(1, a, 0);
  const int other = GetParam().is_private ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE;
  EXPECT_THAT(backend_->futex(a, other, 1), SyscallSucceedsWithValue(0));
  EXPECT_THAT(wake(a, 1), SyscallSucceedsWithValue(1));
  w->threads[0]->join();
}

TEST_P(FutexTest, InterruptedWaitIsEintr) {
  const Addr a = word(0);
  std::int64_t result = 1;
  auto t = backend_->spawn([&] { result = backend_->futex(a, op(FUTEX_WAIT), 0); });
  ASSERT_TRUE(eventually([&] { return t->blocked_in_futex(); }));
  t->interrupt();
  t->join();
  EXPECT_THAT(result, SyscallFailsWithErrno(EINTR));
}

TEST_P(FutexTest, InterruptedTimedWaitIsEintr) {
  const Addr a = word(0);
  std::int64_t result = 1;
  const Addr ts = backend_->timespec(10, 0);
  auto t = backend_->spawn([&] { result = backend_->futex(a, op(FUTEX_WAIT), 0, ts); });
  ASSERT_TRUE(eventually([&] { return t->blocked_in_futex(); }));
  t->interrupt();
  t->join();
  EXPECT_THAT(result, SyscallFailsWithErrno(EINTR));
}

// ---------------------------------------------------------------- REQUEUE

TEST_P(FutexTest, RequeueReturnsWokenPlusRequeued) {
  const Addr a = word(0);
  const Addr b = word(0);
  auto w = start_waiters(3, a, 0);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_REQUEUE), 1, 1, b), SyscallSucceedsWithValue(2));
  EXPECT_TRUE(returned(*w, 1));
  EXPECT_THAT(wake(b, 10), SyscallSucceedsWithValue(1));
  EXPECT_TRUE(returned(*w, 2));
  EXPECT_THAT(wake(a, 10), SyscallSucceedsWithValue(1));
  for (auto& t : w->threads) t->join();
}

TEST_P(FutexTest, RequeueZeroZeroTouchesNobody) {
  const Addr a = word(0);
  const Addr b = word(0);
  auto w = start_waiters(2, a, 0);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_REQUEUE), 0, 0, b), SyscallSucceedsWithValue(0));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_REQUEUE), 0, 1, b), SyscallSucceedsWithValue(1));
  EXPECT_THAT(wake(b, 10), SyscallSucceedsWithValue(1));
  EXPECT_THAT(wake(a, 10), SyscallSucceedsWithValue(1));
  for (auto& t : w->threads) t->join();
}

TEST_P(FutexTest, RequeueToTheSameAddress) {
  const Addr a = word(0);
  auto w = start_waiters(2, a, 0);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_REQUEUE), 0, 5, a), SyscallSucceedsWithValue(2));
  EXPECT_THAT(wake(a, 10), SyscallSucceedsWithValue(2));
  for (auto& t : w->threads) t->join();
}

TEST_P(FutexTest, CmpRequeue) {
  const Addr a = word(7);
  const Addr b = word(0);
  auto w = start_waiters(3, a, 7);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_CMP_REQUEUE), 1, 1, b, 6),
              SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_CMP_REQUEUE), 0, 2, b, 7), SyscallSucceedsWithValue(2));
  EXPECT_THAT(wake(b, 10), SyscallSucceedsWithValue(2));
  EXPECT_THAT(wake(a, 10), SyscallSucceedsWithValue(1));
  for (auto& t : w->threads) t->join();
}

TEST_P(FutexTest, RequeueNegativeCountsAreEinval) {
  const Addr a = word(0);
  const Addr b = word(0);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_REQUEUE), static_cast<std::uint32_t>(-1), 1, b),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_CMP_REQUEUE), 1, static_cast<std::uint32_t>(-1), b, 0),
              SyscallFailsWithErrno(EINVAL));
}

TEST_P(FutexTest, CmpRequeueOnInaccessibleWordIsEfault) {
  const Addr b = word(0);
  EXPECT_THAT(backend_->futex(backend_->unmapped_page(), op(FUTEX_CMP_REQUEUE), 1, 1, b, 0),
              SyscallFailsWithErrno(EFAULT));
}

// ---------------------------------------------------------------- WAKE_OP

constexpr std::uint32_t encode(unsigned op, unsigned cmp, int oparg, int cmparg,
                               bool shift = false) {
  return ((op & 7) << 28) | (shift ? 0x80000000u : 0) | ((cmp & 15) << 24) |
         ((static_cast<std::uint32_t>(oparg) & 0xfff) << 12) |
         (static_cast<std::uint32_t>(cmparg) & 0xfff);
}

struct WakeOpCase {
  unsigned op;
  bool shift;
  int oparg;
  std::uint32_t before;
  std::uint32_t after;
};

TEST_P(FutexTest, WakeOpEveryOperation) {
  const WakeOpCase cases[] = {
      {FUTEX_OP_SET, false, 5, 1, 5},
      {FUTEX_OP_SET, false, -1, 1, 0xffffffff},  // sign-extended oparg
      {FUTEX_OP_ADD, false, 3, 10, 13},
      {FUTEX_OP_ADD, false, -3, 10, 7},
      {FUTEX_OP_OR, false, 0x0f0, 0x00f, 0x0ff},
      {FUTEX_OP_ANDN, false, 0x0f0, 0x0ff, 0x00f},
      {FUTEX_OP_XOR, false, 0x0ff, 0x0f0, 0x00f},
      {FUTEX_OP_SET, true, 4, 0, 16},
      {FUTEX_OP_OR, true, 31, 1, 0x80000001},
      {FUTEX_OP_ADD, true, 40, 0, 1u << 8},  // shift outside 0..31 is masked, not an error
  };
  for (const WakeOpCase& c : cases) {
    const Addr a = word(0);
    const Addr b = word(c.before);
    EXPECT_THAT(backend_->futex(a, op(FUTEX_WAKE_OP), 1, 1, b,
                                encode(c.op, FUTEX_OP_CMP_EQ, c.oparg, 0, c.shift)),
                SyscallSucceedsWithValue(0));
    EXPECT_EQ(backend_->load(b), c.after) << "op " << c.op << " oparg " << c.oparg;
  }
}

TEST_P(FutexTest, WakeOpEveryComparisonSigned) {
  struct Case {
    unsigned cmp;
    std::uint32_t old;
    int cmparg;
    bool wakes_second;
  };
  const Case cases[] = {
      {FUTEX_OP_CMP_EQ, 5, 5, true},  {FUTEX_OP_CMP_EQ, 5, 6, false},
      {FUTEX_OP_CMP_NE, 5, 6, true},  {FUTEX_OP_CMP_NE, 5, 5, false},
      {FUTEX_OP_CMP_LT, 4, 5, true},  {FUTEX_OP_CMP_LT, 5, 5, false},
      {FUTEX_OP_CMP_LE, 5, 5, true},  {FUTEX_OP_CMP_LE, 6, 5, false},
      {FUTEX_OP_CMP_GT, 6, 5, true},  {FUTEX_OP_CMP_GT, 5, 5, false},
      {FUTEX_OP_CMP_GE, 5, 5, true},  {FUTEX_OP_CMP_GE, 4, 5, false},
      // Signed: 0xffffffff is -1, and cmparg 0xfff is -1 too.
      {FUTEX_OP_CMP_LT, 0xffffffff, 0, true},
      {FUTEX_OP_CMP_EQ, 0xffffffff, -1, true},
      {FUTEX_OP_CMP_GT, 0xfffffffe, -3, true},
  };
  for (const Case& c : cases) {
    const Addr a = word(0);
    const Addr b = word(c.old);
    auto w = start_waiters(1, b, c.old);
    // SET to the same value keeps the waiter's value; the compare decides the second wake.
    EXPECT_THAT(backend_->futex(a, op(FUTEX_WAKE_OP), 1, 1, b,
                                encode(FUTEX_OP_ADD, c.cmp, 0, c.cmparg)),
                SyscallSucceedsWithValue(c.wakes_second ? 1 : 0))
        << "cmp " << c.cmp << " old " << c.old << " cmparg " << c.cmparg;
    if (!c.wakes_second) {
      EXPECT_THAT(wake(b, 1), SyscallSucceedsWithValue(1));
    }
    w->threads[0]->join();
  }
}

TEST_P(FutexTest, WakeOpWakesBothKeys) {
  const Addr a = word(0);
  const Addr b = word(0);
  auto wa = start_waiters(2, a, 0);
  auto wb = start_waiters(3, b, 0);
  // nr_wake 1 on a; nr_wake2 2 on b; op ADD 0 and compare EQ 0 holds.
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAKE_OP), 1, 2, b, encode(FUTEX_OP_ADD, 0, 0, 0)),
              SyscallSucceedsWithValue(3));
  EXPECT_THAT(wake(a, 10), SyscallSucceedsWithValue(1));
  EXPECT_THAT(wake(b, 10), SyscallSucceedsWithValue(1));
  for (auto& t : wa->threads) t->join();
  for (auto& t : wb->threads) t->join();
}

TEST_P(FutexTest, WakeOpUnknownOperationIsEnosysAndChangesNothing) {
  const Addr a = word(0);
  const Addr b = word(9);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAKE_OP), 1, 1, b, encode(5, 0, 1, 0)),
              SyscallFailsWithErrno(ENOSYS));
  EXPECT_EQ(backend_->load(b), 9u);
}

TEST_P(FutexTest, WakeOpUnknownComparisonIsEnosysAfterTheWrite) {
  const Addr a = word(0);
  const Addr b = word(9);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAKE_OP), 1, 1, b, encode(FUTEX_OP_SET, 6, 1, 0)),
              SyscallFailsWithErrno(ENOSYS));
  EXPECT_EQ(backend_->load(b), 1u);
}

TEST_P(FutexTest, WakeOpOnReadOnlyOrMissingMemoryIsEfault) {
  const Addr a = word(0);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAKE_OP), 1, 1, backend_->readonly_page(),
                              encode(FUTEX_OP_SET, 0, 1, 0)),
              SyscallFailsWithErrno(EFAULT));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_WAKE_OP), 1, 1, backend_->unmapped_page(),
                              encode(FUTEX_OP_SET, 0, 1, 0)),
              SyscallFailsWithErrno(EFAULT));
}

// ---------------------------------------------------------------- futex_waitv

struct Waitv {
  std::uint64_t val;
  std::uint64_t uaddr;
  std::uint32_t flags;
  std::uint32_t reserved;
};

TEST_P(FutexTest, WaitvReturnsTheWokenIndex) {
  std::vector<Addr> words;
  std::vector<Waitv> v;
  for (int i = 0; i < 5; ++i) {
    words.push_back(word(0));
    v.push_back({0, words.back(), futex2_flags(), 0});
  }
  const Addr vec = backend_->alloc(sizeof(Waitv) * v.size());
  backend_->write(vec, v.data(), sizeof(Waitv) * v.size());
  std::int64_t result = -1;
  auto t = backend_->spawn([&] { result = backend_->syscall(kSysFutexWaitv, vec, 5, 0, 0, 0); });
  ASSERT_TRUE(eventually([&] { return t->blocked_in_futex(); }));
  EXPECT_THAT(wake(words[3], 1), SyscallSucceedsWithValue(1));
  t->join();
  EXPECT_THAT(result, SyscallSucceedsWithValue(3));
}

TEST_P(FutexTest, WaitvValueMismatchIsEagain) {
  const Addr w0 = word(0);
  const Addr w1 = word(1);
  const Waitv v[2] = {{0, w0, futex2_flags(), 0}, {0, w1, futex2_flags(), 0}};
  const Addr vec = backend_->alloc(sizeof(v));
  backend_->write(vec, v, sizeof(v));
  EXPECT_THAT(backend_->syscall(kSysFutexWaitv, vec, 2, 0, 0, 0), SyscallFailsWithErrno(EAGAIN));
}

TEST_P(FutexTest, WaitvTimesOut) {
  const Addr w0 = word(0);
  const Waitv v[1] = {{0, w0, futex2_flags(), 0}};
  const Addr vec = backend_->alloc(sizeof(v));
  backend_->write(vec, v, sizeof(v));
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const Addr ts = backend_->timespec(now.tv_sec, now.tv_nsec);
  EXPECT_THAT(backend_->syscall(kSysFutexWaitv, vec, 1, 0, ts, CLOCK_MONOTONIC),
              SyscallFailsWithErrno(ETIMEDOUT));
  EXPECT_THAT(backend_->syscall(kSysFutexWaitv, vec, 1, 0, backend_->timespec(1, 0),
                                CLOCK_REALTIME),
              SyscallFailsWithErrno(ETIMEDOUT));
}

TEST_P(FutexTest, WaitvArgumentErrors) {
  const Addr w0 = word(0);
  auto vec_of = [&](Waitv entry) {
    const Addr vec = backend_->alloc(sizeof(entry));
    backend_->write(vec, &entry, sizeof(entry));
    return vec;
  };
  const Addr good = vec_of({0, w0, futex2_flags(), 0});
  EXPECT_THAT(backend_->syscall(kSysFutexWaitv, good, 1, 1, 0, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWaitv, good, 0, 0, 0, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWaitv, good, 129, 0, 0, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWaitv, 0, 1, 0, 0, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWaitv, good, 1, 0, backend_->timespec(0, 0), 12345),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWaitv, vec_of({0, w0, kFutex2U64, 0}), 1, 0, 0, 0),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWaitv, vec_of({0, w0, futex2_flags(), 1}), 1, 0, 0, 0),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWaitv, vec_of({0, w0, futex2_flags() | 0x100, 0}), 1, 0,
                                0, 0),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWaitv, vec_of({1ull << 32, w0, futex2_flags(), 0}), 1, 0,
                                0, 0),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWaitv, vec_of({0, w0 + 2, futex2_flags(), 0}), 1, 0, 0, 0),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWaitv, backend_->unmapped_page(), 1, 0, 0, 0),
              SyscallFailsWithErrno(EFAULT));
}

// ---------------------------------------------------------------- futex2

TEST_P(FutexTest, Futex2WaitAndWake) {
  const Addr a = word(3);
  EXPECT_THAT(backend_->syscall(kSysFutexWait, a, 4, FUTEX_BITSET_MATCH_ANY, futex2_flags(), 0, 0),
              SyscallFailsWithErrno(EAGAIN));
  std::int64_t result = -1;
  auto t = backend_->spawn([&] {
    result = backend_->syscall(kSysFutexWait, a, 3, FUTEX_BITSET_MATCH_ANY, futex2_flags(), 0, 0);
  });
  ASSERT_TRUE(eventually([&] { return t->blocked_in_futex(); }));
  EXPECT_THAT(backend_->syscall(kSysFutexWake, a, FUTEX_BITSET_MATCH_ANY, 0, futex2_flags()),
              SyscallSucceedsWithValue(0));  // strict: nr 0 wakes nobody
  EXPECT_THAT(backend_->syscall(kSysFutexWake, a, FUTEX_BITSET_MATCH_ANY, 1, futex2_flags()),
              SyscallSucceedsWithValue(1));
  t->join();
  EXPECT_THAT(result, SyscallSucceedsWithValue(0));
}

TEST_P(FutexTest, Futex2ArgumentErrors) {
  const Addr a = word(0);
  EXPECT_THAT(backend_->syscall(kSysFutexWake, a, FUTEX_BITSET_MATCH_ANY, 1, kFutex2U64),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWake, a, 1ull << 32, 1, futex2_flags()),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWake, a, FUTEX_BITSET_MATCH_ANY, 1, futex2_flags() | 0x40),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWait, a, 1ull << 32, FUTEX_BITSET_MATCH_ANY,
                                futex2_flags(), 0, 0),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWait, a, 0, 0, futex2_flags(), 0, 0),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWait, a, 0, FUTEX_BITSET_MATCH_ANY, futex2_flags(),
                                backend_->timespec(0, 0), 99),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexWait, a, 0, FUTEX_BITSET_MATCH_ANY, futex2_flags(),
                                backend_->timespec(1, 0), CLOCK_REALTIME),
              SyscallFailsWithErrno(ETIMEDOUT));
}

TEST_P(FutexTest, Futex2Requeue) {
  const Addr a = word(5);
  const Addr b = word(0);
  auto w = start_waiters(3, a, 5);
  const Waitv v[2] = {{5, a, futex2_flags(), 0}, {0, b, futex2_flags(), 0}};
  const Addr vec = backend_->alloc(sizeof(v));
  backend_->write(vec, v, sizeof(v));
  EXPECT_THAT(backend_->syscall(kSysFutexRequeue, vec, 1, 1, 1), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexRequeue, 0, 0, 1, 1), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(kSysFutexRequeue, vec, 0, 1, 1), SyscallSucceedsWithValue(2));
  EXPECT_THAT(wake(b, 10), SyscallSucceedsWithValue(1));
  EXPECT_THAT(wake(a, 10), SyscallSucceedsWithValue(1));
  for (auto& t : w->threads) t->join();
}

// ---------------------------------------------------------------- robust list registration

TEST_P(FutexTest, RobustListRegistration) {
  const Addr head = backend_->alloc(24);
  EXPECT_THAT(backend_->syscall(SYS_set_robust_list, head, 23), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->syscall(SYS_set_robust_list, head, 24), SyscallSucceedsWithValue(0));
  const Addr out = backend_->alloc(16);
  EXPECT_THAT(backend_->syscall(SYS_get_robust_list, 0, out, out + 8), SyscallSucceedsWithValue(0));
  EXPECT_EQ(backend_->load(out), static_cast<std::uint32_t>(head));
  EXPECT_EQ(backend_->load(out + 8), 24u);
  EXPECT_THAT(backend_->syscall(SYS_get_robust_list, 0, backend_->unmapped_page(), out + 8),
              SyscallFailsWithErrno(EFAULT));
  EXPECT_THAT(backend_->syscall(SYS_get_robust_list, 0x3fffffff, out, out + 8),
              SyscallFailsWithErrno(ESRCH));
}

// ---------------------------------------------------------------- PI

constexpr std::uint32_t kWaiters = FUTEX_WAITERS;
constexpr std::uint32_t kOwnerDied = FUTEX_OWNER_DIED;

// A live thread that does nothing until released: its TID can own a PI word.
class Bystander {
 public:
  explicit Bystander(Backend& b) : backend_(b), gate_(b.alloc(4)), tid_(b.alloc(4)) {
    thread_ = b.spawn([this] {
      backend_.store(tid_, static_cast<std::uint32_t>(backend_.syscall(SYS_gettid)));
      while (backend_.load(gate_) == 0) backend_.futex(gate_, FUTEX_WAIT_PRIVATE, 0);
    });
    while (backend_.load(tid_) == 0) std::this_thread::yield();
  }
  ~Bystander() {
    backend_.store(gate_, 1);
    backend_.futex(gate_, FUTEX_WAKE_PRIVATE, 1);
    thread_->join();
  }
  std::uint32_t tid() { return backend_.load(tid_); }

 private:
  Backend& backend_;
  Addr gate_;
  Addr tid_;
  std::unique_ptr<GuestThread> thread_;
};

TEST_P(FutexTest, LockPiUncontendedAndUnlock) {
  const Addr a = word(0);
  const auto me = static_cast<std::uint32_t>(backend_->syscall(SYS_gettid));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_LOCK_PI), 0), SyscallSucceedsWithValue(0));
  EXPECT_EQ(backend_->load(a), me);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_LOCK_PI), 0), SyscallFailsWithErrno(EDEADLK));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_TRYLOCK_PI), 0), SyscallFailsWithErrno(EDEADLK));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_UNLOCK_PI), 0), SyscallSucceedsWithValue(0));
  EXPECT_EQ(backend_->load(a), 0u);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_TRYLOCK_PI), 0), SyscallSucceedsWithValue(0));
  EXPECT_EQ(backend_->load(a), me);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_UNLOCK_PI), 0), SyscallSucceedsWithValue(0));
}

TEST_P(FutexTest, LockPiKeepsOwnerDiedOnAFreeWord) {
  const Addr a = word(kOwnerDied);
  const auto me = static_cast<std::uint32_t>(backend_->syscall(SYS_gettid));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_LOCK_PI), 0), SyscallSucceedsWithValue(0));
  EXPECT_EQ(backend_->load(a), kOwnerDied | me);
  // Unlocking with nobody waiting clears the word entirely.
  backend_->store(a, kOwnerDied | kWaiters | me);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_UNLOCK_PI), 0), SyscallSucceedsWithValue(0));
  EXPECT_EQ(backend_->load(a), 0u);
}

TEST_P(FutexTest, UnlockPiOfSomeoneElsesLockIsEperm) {
  Bystander owner(*backend_);
  const Addr a = word(owner.tid());
  EXPECT_THAT(backend_->futex(a, op(FUTEX_UNLOCK_PI), 0), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(backend_->futex(word(0), op(FUTEX_UNLOCK_PI), 0), SyscallFailsWithErrno(EPERM));
  // The owner check comes before the alignment check.
  EXPECT_THAT(backend_->futex(a + 1, op(FUTEX_UNLOCK_PI), 0), SyscallFailsWithErrno(EPERM));
  EXPECT_THAT(backend_->futex(backend_->unmapped_page(), op(FUTEX_UNLOCK_PI), 0),
              SyscallFailsWithErrno(EFAULT));
}

TEST_P(FutexTest, TrylockPiOfAHeldLockIsEagainAndMarksWaiters) {
  Bystander owner(*backend_);
  const Addr a = word(owner.tid());
  EXPECT_THAT(backend_->futex(a, op(FUTEX_TRYLOCK_PI), 0), SyscallFailsWithErrno(EAGAIN));
  EXPECT_EQ(backend_->load(a), owner.tid() | kWaiters);
}

TEST_P(FutexTest, LockPiOfADeadOwnerIsEsrch) {
  const std::uint32_t ghost = 0x3ffffff0;  // no such thread
  const Addr a = word(ghost);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_LOCK_PI), 0), SyscallFailsWithErrno(ESRCH));
  EXPECT_EQ(backend_->load(a), ghost | kWaiters);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_TRYLOCK_PI), 0), SyscallFailsWithErrno(ESRCH));
}

TEST_P(FutexTest, LockPiTimesOutOnItsClock) {
  Bystander owner(*backend_);
  const Addr a = word(owner.tid());
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  std::int64_t ns = now.tv_nsec + 20'000'000;
  EXPECT_THAT(backend_->futex(a, op(FUTEX_LOCK_PI), 0,
                              backend_->timespec(now.tv_sec + ns / 1'000'000'000,
                                                 ns % 1'000'000'000)),
              SyscallFailsWithErrno(ETIMEDOUT));
  clock_gettime(CLOCK_MONOTONIC, &now);
  ns = now.tv_nsec + 20'000'000;
  EXPECT_THAT(backend_->futex(a, op(FUTEX_LOCK_PI2), 0,
                              backend_->timespec(now.tv_sec + ns / 1'000'000'000,
                                                 ns % 1'000'000'000)),
              SyscallFailsWithErrno(ETIMEDOUT));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_LOCK_PI2) | FUTEX_CLOCK_REALTIME, 0,
                              backend_->timespec(1, 0)),
              SyscallFailsWithErrno(ETIMEDOUT));
  // LOCK_PI takes no FUTEX_CLOCK_REALTIME (it is always REALTIME): ENOSYS.
  EXPECT_THAT(backend_->futex(a, op(FUTEX_LOCK_PI) | FUTEX_CLOCK_REALTIME, 0),
              SyscallFailsWithErrno(ENOSYS));
}

TEST_P(FutexTest, UnlockPiHandsTheLockToTheWaiter) {
  const Addr a = word(0);
  const auto me = static_cast<std::uint32_t>(backend_->syscall(SYS_gettid));
  ASSERT_THAT(backend_->futex(a, op(FUTEX_LOCK_PI), 0), SyscallSucceedsWithValue(0));
  const Addr their_tid = word(0);
  std::int64_t result = -1;
  std::uint32_t seen_after_lock = 0;
  auto t = backend_->spawn([&] {
    backend_->store(their_tid, static_cast<std::uint32_t>(backend_->syscall(SYS_gettid)));
    result = backend_->futex(a, op(FUTEX_LOCK_PI), 0);
    seen_after_lock = backend_->load(a);
    EXPECT_THAT(backend_->futex(a, op(FUTEX_UNLOCK_PI), 0), SyscallSucceedsWithValue(0));
  });
  ASSERT_TRUE(eventually([&] { return t->blocked_in_futex(); }));
  EXPECT_EQ(backend_->load(a), me | kWaiters);
  EXPECT_THAT(backend_->futex(a, op(FUTEX_UNLOCK_PI), 0), SyscallSucceedsWithValue(0));
  t->join();
  EXPECT_THAT(result, SyscallSucceedsWithValue(0));
  EXPECT_EQ(seen_after_lock, backend_->load(their_tid) | kWaiters);
  EXPECT_EQ(backend_->load(a), 0u);
}

TEST_P(FutexTest, InterruptedLockPiIsRestartedNotEintr) {
  const Addr a = word(0);
  ASSERT_THAT(backend_->futex(a, op(FUTEX_LOCK_PI), 0), SyscallSucceedsWithValue(0));
  std::int64_t result = -1;
  std::atomic<bool> returned{false};
  auto t = backend_->spawn([&] {
    result = backend_->futex(a, op(FUTEX_LOCK_PI), 0);
    returned = true;
    backend_->futex(a, op(FUTEX_UNLOCK_PI), 0);
  });
  ASSERT_TRUE(eventually([&] { return t->blocked_in_futex(); }));
  t->interrupt();
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(returned.load());
  ASSERT_TRUE(eventually([&] { return t->blocked_in_futex(); }));
  EXPECT_THAT(backend_->futex(a, op(FUTEX_UNLOCK_PI), 0), SyscallSucceedsWithValue(0));
  t->join();
  EXPECT_THAT(result, SyscallSucceedsWithValue(0));
}

// ---------------------------------------------------------------- thread death

// struct robust_list_head, and a list entry {next; futex word} with futex_offset 8.
struct RobustHead {
  std::uint64_t next;
  std::int64_t futex_offset;
  std::uint64_t list_op_pending;
};
struct RobustEntry {
  std::uint64_t next;
  std::uint32_t word;
  std::uint32_t pad;
};

// A thread that registers a robust list holding `entries` (bit 0 set for PI ones) and `pending`,
// stores its TID (| extra) into the words it is told to own, then waits at a gate and dies.
class DyingOwner {
 public:
  DyingOwner(Backend& b, std::vector<Addr> entries, std::vector<bool> owned, std::uint32_t extra,
             Addr pending = 0, bool pi = false)
      : backend_(b), gate_(b.alloc(4)), tid_(b.alloc(4)), head_(b.alloc(sizeof(RobustHead))) {
    // Link head -> e0 -> e1 -> ... -> head.
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const std::uint64_t next = i + 1 < entries.size() ? entries[i + 1] : head_;
      const std::uint64_t tagged = next | (pi && next != head_ ? 1 : 0);
      b.write(entries[i], &tagged, 8);
    }
    const std::uint64_t first = entries.empty() ? head_ : entries[0] | (pi ? 1 : 0);
    const RobustHead h{first, 8, pending};
    b.write(head_, &h, sizeof(h));
    thread_ = b.spawn([this, entries, owned, extra] {
      EXPECT_THAT(backend_.syscall(SYS_set_robust_list, head_, sizeof(RobustHead)),
                  SyscallSucceedsWithValue(0));
      const auto me = static_cast<std::uint32_t>(backend_.syscall(SYS_gettid));
      for (std::size_t i = 0; i < entries.size(); ++i) {
        if (owned[i]) backend_.store(entries[i] + 8, me | extra);
      }
      backend_.store(tid_, me);
      while (backend_.load(gate_) == 0) backend_.futex(gate_, FUTEX_WAIT_PRIVATE, 0);
    });
    while (backend_.load(tid_) == 0) std::this_thread::yield();
  }
  std::uint32_t tid() { return backend_.load(tid_); }
  void die() {
    backend_.store(gate_, 1);
    backend_.futex(gate_, FUTEX_WAKE_PRIVATE, 1);
    thread_->join();
  }

 private:
  Backend& backend_;
  Addr gate_;
  Addr tid_;
  Addr head_;
  std::unique_ptr<GuestThread> thread_;
};

TEST_P(FutexTest, RobustListDeathMarksOwnerDiedAndWakesAWaiter) {
  // Three entries: two owned by the dying thread (one with waiters), one owned by someone else.
  std::vector<Addr> entries{backend_->alloc(16), backend_->alloc(16), backend_->alloc(16)};
  DyingOwner owner(*backend_, entries, {true, true, false}, 0);
  backend_->store(entries[0] + 8, owner.tid() | kWaiters);
  backend_->store(entries[2] + 8, 12345);
  // The kernel's wake is shared: only a shared waiter can see it.
  std::int64_t result = -1;
  auto waiter = backend_->spawn([&] {
    result = backend_->futex(entries[0] + 8, FUTEX_WAIT, owner.tid() | kWaiters);
  });
  ASSERT_TRUE(eventually([&] { return waiter->blocked_in_futex(); }));
  owner.die();
  waiter->join();
  EXPECT_THAT(result, SyscallSucceedsWithValue(0));
  EXPECT_EQ(backend_->load(entries[0] + 8), kWaiters | kOwnerDied);
  EXPECT_EQ(backend_->load(entries[1] + 8), kOwnerDied);
  EXPECT_EQ(backend_->load(entries[2] + 8), 12345u);
}

TEST_P(FutexTest, RobustListPendingUnlockedEntryStillWakes) {
  // The owner died between storing 0 and waking: list_op_pending names the word, which is 0.
  const Addr pending = backend_->alloc(16);
  DyingOwner owner(*backend_, {}, {}, 0, pending);
  std::int64_t result = -1;
  auto waiter = backend_->spawn([&] { result = backend_->futex(pending + 8, FUTEX_WAIT, 0); });
  ASSERT_TRUE(eventually([&] { return waiter->blocked_in_futex(); }));
  owner.die();
  waiter->join();
  EXPECT_THAT(result, SyscallSucceedsWithValue(0));
  EXPECT_EQ(backend_->load(pending + 8), 0u);
}

TEST_P(FutexTest, RobustPiLockGoesToItsWaiterWithOwnerDied) {
  const Addr entry = backend_->alloc(16);
  DyingOwner owner(*backend_, {entry}, {true}, 0, 0, /*pi=*/true);
  const Addr waiter_tid = word(0);
  std::int64_t result = -1;
  std::uint32_t word_when_acquired = 0;
  auto waiter = backend_->spawn([&] {
    backend_->store(waiter_tid, static_cast<std::uint32_t>(backend_->syscall(SYS_gettid)));
    result = backend_->futex(entry + 8, op(FUTEX_LOCK_PI), 0);
    word_when_acquired = backend_->load(entry + 8);
    backend_->futex(entry + 8, op(FUTEX_UNLOCK_PI), 0);
  });
  ASSERT_TRUE(eventually([&] { return waiter->blocked_in_futex(); }));
  EXPECT_EQ(backend_->load(entry + 8), owner.tid() | kWaiters);
  owner.die();
  waiter->join();
  EXPECT_THAT(result, SyscallSucceedsWithValue(0));
  EXPECT_EQ(word_when_acquired, backend_->load(waiter_tid) | kWaiters | kOwnerDied);
  EXPECT_EQ(backend_->load(entry + 8), 0u);  // and its unlock with nobody waiting cleared it
}

TEST_P(FutexTest, ClearChildTidWakesTheJoiner) {
  const Addr tid_word = word(1);
  std::int64_t result = -1;
  auto joiner = backend_->spawn([&] { result = backend_->futex(tid_word, FUTEX_WAIT, 1); });
  ASSERT_TRUE(eventually([&] { return joiner->blocked_in_futex(); }));
  const Addr gate = word(0);
  // Tells ThreadSanitizer what the kernel's exit-time clear already guarantees: the detached
  // thread is done with the backend before the joiner wakes.
  std::atomic<bool> body_done{false};
  backend_->spawn_detached([&, tid_word, gate] {
    backend_->syscall(SYS_set_tid_address, tid_word);
    while (backend_->load(gate) == 0) backend_->futex(gate, FUTEX_WAIT_PRIVATE, 0);
    body_done.store(true, std::memory_order_release);
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(backend_->load(tid_word), 1u);
  backend_->store(gate, 1);
  backend_->futex(gate, FUTEX_WAKE_PRIVATE, 1);
  joiner->join();
  EXPECT_TRUE(body_done.load(std::memory_order_acquire));
  EXPECT_THAT(result, SyscallSucceedsWithValue(0));
  EXPECT_EQ(backend_->load(tid_word), 0u);
}

// ---------------------------------------------------------------- requeue-PI

TEST_P(FutexTest, RequeuePiArgumentErrors) {
  const Addr cond = word(0);
  const Addr lock = word(0);
  EXPECT_THAT(backend_->futex(cond, op(FUTEX_WAIT_REQUEUE_PI), 0, backend_->timespec(0, 0), cond),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->futex(cond, op(FUTEX_WAIT_REQUEUE_PI), 1, backend_->timespec(0, 0), lock),
              SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(backend_->futex(cond, op(FUTEX_WAIT_REQUEUE_PI), 0, backend_->timespec(0, 0), lock),
              SyscallFailsWithErrno(ETIMEDOUT));
  EXPECT_THAT(backend_->futex(cond, op(FUTEX_CMP_REQUEUE_PI), 2, 1, lock, 0),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->futex(cond, op(FUTEX_CMP_REQUEUE_PI), 1, 1, cond, 0),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(backend_->futex(cond, op(FUTEX_CMP_REQUEUE_PI), 1, 1, lock, 5),
              SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(backend_->futex(cond, op(FUTEX_CMP_REQUEUE_PI), 1, 1, lock, 0),
              SyscallSucceedsWithValue(0));
}

TEST_P(FutexTest, CmpRequeuePiTakesAFreeLockForTheWaiter) {
  const Addr cond = word(0);
  const Addr lock = word(0);
  const Addr their_tid = word(0);
  std::int64_t result = -1;
  std::uint32_t word_when_woken = 0;
  auto t = backend_->spawn([&] {
    backend_->store(their_tid, static_cast<std::uint32_t>(backend_->syscall(SYS_gettid)));
    result = backend_->futex(cond, op(FUTEX_WAIT_REQUEUE_PI), 0, 0, lock);
    word_when_woken = backend_->load(lock);
    backend_->futex(lock, op(FUTEX_UNLOCK_PI), 0);
  });
  ASSERT_TRUE(eventually([&] { return t->blocked_in_futex(); }));
  EXPECT_THAT(backend_->futex(cond, op(FUTEX_CMP_REQUEUE_PI), 1, 0, lock, 0),
              SyscallSucceedsWithValue(1));
  t->join();
  EXPECT_THAT(result, SyscallSucceedsWithValue(0));
  // With nr_requeue 0 nobody else can follow: no FUTEX_WAITERS.
  EXPECT_EQ(word_when_woken, backend_->load(their_tid));
  EXPECT_EQ(backend_->load(lock), 0u);
}

TEST_P(FutexTest, CmpRequeuePiWithRoomToRequeueMarksWaiters) {
  const Addr cond = word(0);
  const Addr lock = word(0);
  const Addr their_tid = word(0);
  std::uint32_t word_when_woken = 0;
  auto t = backend_->spawn([&] {
    backend_->store(their_tid, static_cast<std::uint32_t>(backend_->syscall(SYS_gettid)));
    EXPECT_THAT(backend_->futex(cond, op(FUTEX_WAIT_REQUEUE_PI), 0, 0, lock),
                SyscallSucceedsWithValue(0));
    word_when_woken = backend_->load(lock);
    backend_->futex(lock, op(FUTEX_UNLOCK_PI), 0);
  });
  ASSERT_TRUE(eventually([&] { return t->blocked_in_futex(); }));
  EXPECT_THAT(backend_->futex(cond, op(FUTEX_CMP_REQUEUE_PI), 1, 1, lock, 0),
              SyscallSucceedsWithValue(1));
  t->join();
  EXPECT_EQ(word_when_woken, backend_->load(their_tid) | kWaiters);
}

TEST_P(FutexTest, CmpRequeuePiMovesWaitersOntoAHeldLock) {
  const Addr cond = word(0);
  const Addr lock = word(0);
  const auto me = static_cast<std::uint32_t>(backend_->syscall(SYS_gettid));
  ASSERT_THAT(backend_->futex(lock, op(FUTEX_LOCK_PI), 0), SyscallSucceedsWithValue(0));
  std::vector<std::int64_t> results(2, -1);
  std::vector<std::unique_ptr<GuestThread>> threads;
  for (int i = 0; i < 2; ++i) {
    threads.push_back(backend_->spawn([&, i] {
      results[static_cast<std::size_t>(i)] =
          backend_->futex(cond, op(FUTEX_WAIT_REQUEUE_PI), 0, 0, lock);
      backend_->futex(lock, op(FUTEX_UNLOCK_PI), 0);
    }));
    ASSERT_TRUE(eventually([&] { return threads.back()->blocked_in_futex(); }));
  }
  EXPECT_THAT(backend_->futex(cond, op(FUTEX_CMP_REQUEUE_PI), 1, INT32_MAX, lock, 0),
              SyscallSucceedsWithValue(2));
  EXPECT_EQ(backend_->load(lock), me | kWaiters);
  // Nothing left on the condition word.
  EXPECT_THAT(backend_->futex(cond, op(FUTEX_CMP_REQUEUE_PI), 1, INT32_MAX, lock, 0),
              SyscallSucceedsWithValue(0));
  EXPECT_THAT(backend_->futex(lock, op(FUTEX_UNLOCK_PI), 0), SyscallSucceedsWithValue(0));
  for (auto& t : threads) t->join();
  EXPECT_THAT(results[0], SyscallSucceedsWithValue(0));
  EXPECT_THAT(results[1], SyscallSucceedsWithValue(0));
  EXPECT_EQ(backend_->load(lock), 0u);
}

TEST_P(FutexTest, CmpRequeuePiRefusesAPlainWaiter) {
  const Addr cond = word(0);
  const Addr lock = word(0);
  auto w = start_waiters(1, cond, 0);
  EXPECT_THAT(backend_->futex(cond, op(FUTEX_CMP_REQUEUE_PI), 1, 1, lock, 0),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(wake(cond, 1), SyscallSucceedsWithValue(1));
  w->threads[0]->join();
}

INSTANTIATE_TEST_SUITE_P(All, FutexTest,
                         ::testing::Values(Param{Kind::kHost, true}, Param{Kind::kHost, false},
                                           Param{Kind::kEmulated, true},
                                           Param{Kind::kEmulated, false},
                                           Param{Kind::kEmulatedOnHostMemory, true},
                                           Param{Kind::kEmulatedOnHostMemory, false}),
                         param_name);

}  // namespace
}  // namespace futexbox::conformance
