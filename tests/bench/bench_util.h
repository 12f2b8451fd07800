// Helpers shared by futexbox_bench's cases.
#pragma once

#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <cstddef>

#include "tests/util/test_util.h"

namespace futexbox::bench {

// Reports `allocs_per_op`: heap allocations (operator new, all threads) per iteration since
// construction.
class AllocCounter {
 public:
  AllocCounter() : start_(testing::allocation_count()) {}
  void report(benchmark::State& state) const {
    state.counters["allocs_per_op"] = benchmark::Counter(
        static_cast<double>(testing::allocation_count() - start_),
        benchmark::Counter::kAvgIterations);
  }

 private:
  std::size_t start_;
};

inline void pin_to_cpu0() {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// Restores the calling thread's CPU affinity when it goes out of scope.
class AffinityGuard {
 public:
  AffinityGuard() { pthread_getaffinity_np(pthread_self(), sizeof(saved_), &saved_); }
  ~AffinityGuard() { pthread_setaffinity_np(pthread_self(), sizeof(saved_), &saved_); }
  AffinityGuard(const AffinityGuard&) = delete;
  AffinityGuard& operator=(const AffinityGuard&) = delete;

 private:
  cpu_set_t saved_;
};

}  // namespace futexbox::bench
