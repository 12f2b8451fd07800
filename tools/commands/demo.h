// `futexbox demo`: a multi-threaded in-process workload served entirely by the wait table.
#pragma once

#include <cstdint>
#include <string>

namespace futexbox::tools {

struct DemoOptions {
  int producers = 4;
  int consumers = 4;
  std::uint64_t items = 200'000;
  int capacity = 16;
};

struct DemoReport {
  std::uint64_t produced = 0;
  std::uint64_t consumed = 0;
  std::uint64_t expected_sum = 0;
  std::uint64_t consumed_sum = 0;
  std::uint64_t wait_calls = 0;     // calls to ShardedWait::wait
  std::uint64_t slept = 0;          // waits that actually parked and were woken
  std::uint64_t mismatches = 0;     // waits that returned at once: the value had moved on
  std::uint64_t wake_calls = 0;     // calls to ShardedWait::wake
  std::uint64_t woken = 0;          // threads those wakes woke
  std::uint64_t fast_wakes = 0;     // wakes answered by the no-waiter fast path (returned 0)
  std::uint32_t leftover_waiters = 0;  // sum of slot counts after the run: must be 0
  double seconds = 0;
  [[nodiscard]] bool ok() const {
    // woken == slept: every thread a wake reported waking saw that wake, and no other did.
    return produced == consumed && expected_sum == consumed_sum && leftover_waiters == 0 &&
           woken == slept;
  }
};

DemoReport run_demo(const DemoOptions& options);
std::string format_demo_report(const DemoOptions& options, const DemoReport& report, bool json);

}  // namespace futexbox::tools
