// SpscRing: order, wrap-around, drops counted (never silent), and a producer racing a consumer
// (run under ThreadSanitizer with the concurrency label).
#include "sync/spsc_ring.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace futexbox::sync {
namespace {

struct Record {
  std::uint64_t seq;
  std::uint64_t check;
};

TEST(SpscRing, KeepsOrderAcrossWrapAroundAndCountsDrops) {
  SpscRingHeader header;
  Record records[4];
  SpscRing<Record> ring(header, records, 4);
  std::vector<std::uint64_t> got;
  std::uint64_t next = 0;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 3; ++i, ++next) ASSERT_TRUE(ring.push({next, ~next}));
    ring.drain([&](const Record& r) {
      EXPECT_EQ(r.check, ~r.seq);
      got.push_back(r.seq);
    });
  }
  ASSERT_EQ(got.size(), 15u);
  for (std::uint64_t i = 0; i < 15; ++i) EXPECT_EQ(got[i], i);
  // Full: the fifth push is refused and counted.
  for (std::uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(ring.push({i, ~i}));
  EXPECT_FALSE(ring.push({99, 0}));
  EXPECT_EQ(ring.dropped(), 1u);
  EXPECT_EQ(ring.pending(), 4u);
  EXPECT_EQ(ring.drain([](const Record&) {}), 4u);
  EXPECT_TRUE(ring.push({5, ~std::uint64_t{5}}));
}

TEST(SpscRing, ProducerAndConsumerRaceWithoutLossOrTearing) {
  SpscRingHeader header;
  std::vector<Record> records(64);
  SpscRing<Record> ring(header, records.data(), records.size());
  constexpr std::uint64_t kCount = 200'000;
  std::atomic<bool> done{false};
  std::uint64_t pushed = 0;
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < kCount; ++i) pushed += ring.push({i, ~i}) ? 1 : 0;
    done = true;
  });
  std::uint64_t received = 0;
  std::uint64_t last = 0;
  bool first = true;
  bool torn = false;
  bool out_of_order = false;
  auto sink = [&](const Record& r) {
    torn |= r.check != ~r.seq;
    out_of_order |= !first && r.seq <= last;
    last = r.seq;
    first = false;
    ++received;
  };
  while (!done.load()) ring.drain(sink);
  ring.drain(sink);
  producer.join();
  EXPECT_FALSE(torn);
  EXPECT_FALSE(out_of_order);
  EXPECT_EQ(received, pushed);
  EXPECT_EQ(pushed + ring.dropped(), kCount);
}

}  // namespace
}  // namespace futexbox::sync
