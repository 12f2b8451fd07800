// Stress: many writers and readers on one pipe, a checksummed stream, and signal storms against
// threads blocked in futex, pipe and eventfd waits. Run on the host (which shows the test itself
// is right) and on the emulated kernel; under ThreadSanitizer with the "concurrency" label.
//
// What is asserted: no byte lost or duplicated (every record of every writer arrives exactly
// once, the stream's checksum matches), no lost wakeup (every waiter finishes; a lost one would
// hang until the test's timeout), and no stray EINTR where Linux gives none (SA_RESTART).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "tests/conformance/backend.h"
#include "tests/conformance/backend_kind.h"
#include "tests/conformance/syscall_matchers.h"
#include "tests/util/test_util.h"

namespace futexbox::conformance {
namespace {

using futexbox::testing::eventually;

constexpr int kUsr2 = 12;
constexpr std::uint64_t kSaSigInfo = 0x4, kSaRestorer = 0x04000000, kSaRestart = 0x10000000;

// Smaller under sanitizers, which slow every syscall down many times.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kScale = 1;
#else
constexpr int kScale = 4;
#endif

std::uint64_t fnv(const void* data, std::size_t n, std::uint64_t h = 1469598103934665603ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

struct Record {
  std::uint32_t writer;
  std::uint32_t seq;
  std::uint8_t payload[48];
  std::uint64_t checksum;  // of everything before it
};
static_assert(sizeof(Record) == 64);

class IoStressTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override { b_ = make_backend(GetParam()); }
  std::pair<std::int64_t, std::int64_t> pipe() {
    const Addr fds = b_->alloc(8);
    EXPECT_THAT(b_->syscall(SYS_pipe2, fds, 0), SyscallSucceeds());
    return {b_->load(fds), b_->load(fds + 4)};
  }
  std::int64_t set_handler(int sig, std::uint64_t flags) {
    struct {
      std::uint64_t handler, flags, restorer, mask;
    } act{b_->recording_handler(), flags | kSaSigInfo | kSaRestorer, b_->signal_restorer(), 0};
    return b_->syscall(SYS_rt_sigaction, static_cast<std::uint64_t>(sig), b_->put(act), 0, 8);
  }
  std::unique_ptr<Backend> b_;
};

TEST_P(IoStressTest, RecordsFromManyWritersReachManyReadersExactlyOnce) {
  constexpr int kWriters = 3;
  constexpr int kReaders = 2;
  const int per_writer = 500 * kScale;
  auto [r, w] = pipe();
  std::vector<std::unique_ptr<GuestThread>> writers;
  for (int id = 0; id < kWriters; ++id) {
    writers.push_back(b_->spawn([&, id] {
      const Addr buf = b_->alloc(sizeof(Record));
      for (int seq = 0; seq < per_writer; ++seq) {
        Record rec{};
        rec.writer = static_cast<std::uint32_t>(id);
        rec.seq = static_cast<std::uint32_t>(seq);
        for (std::size_t i = 0; i < sizeof(rec.payload); ++i) {
          rec.payload[i] = static_cast<std::uint8_t>(seq * 31 + id + static_cast<int>(i));
        }
        rec.checksum = fnv(&rec, offsetof(Record, checksum));
        b_->write(buf, &rec, sizeof(rec));
        // A write of at most PIPE_BUF bytes is atomic: all 64 bytes or nothing, never split.
        ASSERT_THAT(b_->syscall(SYS_write, static_cast<std::uint64_t>(w), buf, sizeof(rec)),
                    SyscallSucceedsWithValue(sizeof(Record)));
      }
    }));
  }
  std::mutex seen_mutex;
  std::vector<std::vector<int>> seen(kWriters, std::vector<int>(static_cast<std::size_t>(per_writer)));
  std::atomic<int> bad{0};
  std::vector<std::unique_ptr<GuestThread>> readers;
  for (int id = 0; id < kReaders; ++id) {
    readers.push_back(b_->spawn([&] {
      const Addr buf = b_->alloc(sizeof(Record));
      for (;;) {
        const std::int64_t n =
            b_->syscall(SYS_read, static_cast<std::uint64_t>(r), buf, sizeof(Record));
        if (n == 0) return;  // every writer is gone
        // Records fill pages exactly, so a 64-byte read takes one whole record.
        if (n != static_cast<std::int64_t>(sizeof(Record))) {
          bad.fetch_add(1);
          return;
        }
        const Record rec = b_->read_as<Record>(buf);
        if (rec.checksum != fnv(&rec, offsetof(Record, checksum)) || rec.writer >= kWriters ||
            rec.seq >= static_cast<std::uint32_t>(per_writer)) {
          bad.fetch_add(1);
          continue;
        }
        std::lock_guard lock(seen_mutex);
        ++seen[rec.writer][rec.seq];
      }
    }));
  }
  for (auto& t : writers) t->join();
  ASSERT_THAT(b_->syscall(SYS_close, static_cast<std::uint64_t>(w)), SyscallSucceeds());
  for (auto& t : readers) t->join();
  EXPECT_EQ(bad.load(), 0);
  for (int id = 0; id < kWriters; ++id) {
    for (int seq = 0; seq < per_writer; ++seq) {
      ASSERT_EQ(seen[static_cast<std::size_t>(id)][static_cast<std::size_t>(seq)], 1)
          << "writer " << id << " record " << seq;
    }
  }
  b_->syscall(SYS_close, static_cast<std::uint64_t>(r));
}

TEST_P(IoStressTest, LargeWritesAndOddReadsKeepTheStreamIntact) {
  auto [r, w] = pipe();
  const std::size_t total = 2'000'000 * static_cast<std::size_t>(kScale);
  std::uint64_t sent_hash = 0;
  auto writer = b_->spawn([&] {
    std::mt19937 rng(7);
    const Addr buf = b_->alloc(200'000);
    std::vector<unsigned char> chunk;
    std::uint64_t h = 1469598103934665603ull;
    std::size_t sent = 0;
    while (sent < total) {
      const std::size_t n = std::min<std::size_t>(1 + rng() % 150'000, total - sent);
      chunk.resize(n);
      for (auto& c : chunk) c = static_cast<unsigned char>(rng());
      b_->write(buf, chunk.data(), n);
      std::size_t off = 0;
      while (off < n) {
        const std::int64_t k =
            b_->syscall(SYS_write, static_cast<std::uint64_t>(w), buf + off, n - off);
        ASSERT_GT(k, 0);
        off += static_cast<std::size_t>(k);
      }
      h = fnv(chunk.data(), n, h);
      sent += n;
    }
    sent_hash = h;
    b_->syscall(SYS_close, static_cast<std::uint64_t>(w));
  });
  std::mt19937 rng(11);
  const Addr buf = b_->alloc(100'000);
  std::vector<unsigned char> got(100'000);
  std::uint64_t h = 1469598103934665603ull;
  std::size_t received = 0;
  for (;;) {
    const std::size_t want = 1 + rng() % 100'000;
    const std::int64_t n = b_->syscall(SYS_read, static_cast<std::uint64_t>(r), buf, want);
    ASSERT_GE(n, 0);
    if (n == 0) break;
    b_->read(buf, got.data(), static_cast<std::size_t>(n));
    h = fnv(got.data(), static_cast<std::size_t>(n), h);
    received += static_cast<std::size_t>(n);
  }
  writer->join();
  EXPECT_EQ(received, total);
  EXPECT_EQ(h, sent_hash);
  b_->syscall(SYS_close, static_cast<std::uint64_t>(r));
}

// Threads blocked in a futex wait, a pipe read and an eventfd read are hit by a storm of signals
// while a driver feeds them. With SA_RESTART none of them may see EINTR; without it they may,
// but never more often than they took a signal; either way every one of them finishes.
TEST_P(IoStressTest, SignalStormNeverCausesEintrWithSaRestartNorLosesAWakeup) {
  for (const bool sa_restart : {true, false}) {
    SCOPED_TRACE(sa_restart ? "SA_RESTART" : "no SA_RESTART");
    ASSERT_THAT(set_handler(kUsr2, sa_restart ? kSaRestart : 0), SyscallSucceeds());
    const int rounds = 300 * kScale;
    const Addr word = b_->alloc(4);
    auto [r, w] = pipe();
    const std::int64_t efd = b_->syscall(SYS_eventfd2, 0, 0);
    ASSERT_THAT(efd, SyscallSucceeds());
    std::atomic<int> eintr[3] = {0, 0, 0};
    std::atomic<int> unexpected{0};
    std::atomic<int> finished{0};
    auto count = [&](int who, std::int64_t rc, std::initializer_list<std::int64_t> ok) {
      if (rc == -EINTR) {
        eintr[who].fetch_add(1);
      } else if (std::find(ok.begin(), ok.end(), rc) == ok.end() && rc < 0) {
        unexpected.fetch_add(1);
      }
    };
    std::vector<std::unique_ptr<GuestThread>> waiters;
    waiters.push_back(b_->spawn([&] {  // futex: wait while the word is below the round
      for (int i = 1; i <= rounds; ++i) {
        while (static_cast<int>(b_->load(word)) < i) {
          count(0, b_->futex(word, FUTEX_WAIT_PRIVATE, static_cast<std::uint32_t>(i - 1)),
                {0, -EAGAIN});
        }
      }
      finished.fetch_add(1);
    }));
    waiters.push_back(b_->spawn([&] {  // pipe: one byte per round
      const Addr buf = b_->alloc(8);
      for (int got = 0; got < rounds;) {
        const std::int64_t n = b_->syscall(SYS_read, static_cast<std::uint64_t>(r), buf, 1);
        count(1, n, {});
        if (n > 0) got += static_cast<int>(n);
      }
      finished.fetch_add(1);
    }));
    waiters.push_back(b_->spawn([&] {  // eventfd: the count adds up to the rounds
      const Addr buf = b_->alloc(8);
      for (std::uint64_t got = 0; got < static_cast<std::uint64_t>(rounds);) {
        const std::int64_t n = b_->syscall(SYS_read, static_cast<std::uint64_t>(efd), buf, 8);
        count(2, n, {});
        if (n == 8) got += b_->read_as<std::uint64_t>(buf);
      }
      finished.fetch_add(1);
    }));
    std::atomic<bool> storming{true};
    std::vector<pid_t> tids;
    for (auto& t : waiters) tids.push_back(t->tid());
    const auto pid = static_cast<std::uint64_t>(b_->syscall(SYS_getpid));
    std::atomic<int> sent{0};
    auto storm = b_->spawn([&] {
      while (storming.load()) {
        for (const pid_t tid : tids) {
          if (b_->syscall(SYS_tgkill, pid, static_cast<std::uint64_t>(tid), kUsr2) == 0) {
            sent.fetch_add(1);
          }
        }
        std::this_thread::yield();
      }
    });
    auto driver = b_->spawn([&] {
      const Addr byte = b_->alloc(8);
      const Addr one = b_->put(std::uint64_t{1});
      for (int i = 1; i <= rounds; ++i) {
        b_->store(word, static_cast<std::uint32_t>(i));
        b_->futex(word, FUTEX_WAKE_PRIVATE, 1);
        b_->syscall(SYS_write, static_cast<std::uint64_t>(w), byte, 1);
        b_->syscall(SYS_write, static_cast<std::uint64_t>(efd), one, 8);
        // Slow enough that the waiters are asleep when most signals arrive.
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    });
    driver->join();
    EXPECT_TRUE(eventually([&] { return finished.load() == 3; }, std::chrono::seconds(120)))
        << "a waiter never finished: a lost wakeup";
    storming = false;
    storm->join();
    for (auto& t : waiters) t->join();
    const auto deliveries = b_->take_deliveries();
    EXPECT_GE(deliveries.size(), 20u) << "the storm hardly reached the waiters";
    EXPECT_EQ(unexpected.load(), 0);
    int per_thread[3] = {0, 0, 0};
    for (const Delivered& d : deliveries) {
      for (int i = 0; i < 3; ++i) per_thread[i] += d.tid == tids[static_cast<std::size_t>(i)];
    }
    std::printf("[ storm    ] %s: %d signals sent, %zu handled; EINTR %d/%d/%d of %d/%d/%d handled\n",
                sa_restart ? "SA_RESTART" : "no SA_RESTART", sent.load(), deliveries.size(),
                eintr[0].load(), eintr[1].load(), eintr[2].load(), per_thread[0], per_thread[1],
                per_thread[2]);
    for (int i = 0; i < 3; ++i) {
      if (sa_restart) {
        EXPECT_EQ(eintr[i].load(), 0) << "waiter " << i;
      } else {
        EXPECT_LE(eintr[i].load(), per_thread[i]) << "waiter " << i;
      }
    }
    b_->syscall(SYS_close, static_cast<std::uint64_t>(r));
    b_->syscall(SYS_close, static_cast<std::uint64_t>(w));
    b_->syscall(SYS_close, static_cast<std::uint64_t>(efd));
  }
}

INSTANTIATE_TEST_SUITE_P(All, IoStressTest,
                         ::testing::Values(BackendKind::kHost, BackendKind::kEmulated),
                         backend_kind_name);

}  // namespace
}  // namespace futexbox::conformance
