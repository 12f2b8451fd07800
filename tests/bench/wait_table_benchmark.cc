// futexbox_bench, wait-table cases: each case runs against every implementation in the same
// process, registered as <Case>/<impl> so results pair up (see docs/performance.md).
//
//   WakeNoWaiters   wake a word nobody waits on (the fast path every unlock takes)
//   WaitValueChanged wait on a word whose value already differs (returns at once)
//   PingPong        two threads hand a turn back and forth; one iteration = one round trip
//   PingPongPinned  the same with both threads pinned to CPU 0 (no cross-vCPU wake-up cost)
//   WakeAll64       wake 64 sleeping threads and wait until all of them have run
//   Collisions      wake an idle word while 8 threads sleep on words that share its slot
//
// allocs_per_op counts heap allocations (operator new) per iteration, all threads included.
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <initializer_list>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/bench/wait_impls.h"
#include "tests/bench/bench_util.h"

namespace futexbox::bench {
namespace {

template <class Impl>
void WakeNoWaiters(benchmark::State& state) {
  static Impl impl;
  alignas(64) static Word word{0};
  AllocCounter allocs;
  for (auto _ : state) benchmark::DoNotOptimize(impl.wake(word, 1));
  allocs.report(state);
}

template <class Impl>
void WaitValueChanged(benchmark::State& state) {
  Impl impl;
  alignas(64) Word word{1};
  AllocCounter allocs;
  for (auto _ : state) impl.wait(word, 0);
  allocs.report(state);
}

template <class Impl>
void ping_pong(benchmark::State& state, bool pinned) {
  Impl impl;
  alignas(64) Word turn{0};
  std::atomic<bool> stop{false};
  AffinityGuard restore;
  if (pinned) pin_to_cpu0();
  // Partner: waits for an odd turn, makes it even. We: make it odd, wait for it to become even.
  std::thread partner([&] {
    if (pinned) pin_to_cpu0();
    for (;;) {
      const std::uint32_t t = turn.load();
      if (stop.load()) return;
      if (t % 2 == 1) {
        turn.store(t + 1);
        impl.wake(turn, 1);
      } else {
        impl.wait(turn, t);
      }
    }
  });
  AllocCounter allocs;
  for (auto _ : state) {
    const std::uint32_t mine = turn.load() + 1;
    turn.store(mine);
    impl.wake(turn, 1);
    while (turn.load() == mine) impl.wait(turn, mine);
  }
  allocs.report(state);
  stop = true;
  turn.fetch_add(2);
  impl.wake(turn, 1);
  partner.join();
}

template <class Impl>
void PingPong(benchmark::State& state) {
  ping_pong<Impl>(state, false);
}
template <class Impl>
void PingPongPinned(benchmark::State& state) {
  ping_pong<Impl>(state, true);
}

template <class Impl>
void WakeAll64(benchmark::State& state) {
  constexpr int kWaiters = 64;
  Impl impl;
  alignas(64) Word generation{0};
  alignas(64) Word arrived{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&] {
      std::uint32_t seen = 0;
      for (;;) {
        while (generation.load() == seen) impl.wait(generation, seen);
        seen = generation.load();
        if (stop.load()) return;
        if (arrived.fetch_add(1) + 1 == kWaiters) impl.wake(arrived, 1);
      }
    });
  }
  AllocCounter allocs;
  for (auto _ : state) {
    arrived.store(0);
    generation.fetch_add(1);
    impl.wake(generation, kWaiters);
    for (std::uint32_t a = arrived.load(); a != kWaiters; a = arrived.load()) impl.wait(arrived, a);
  }
  allocs.report(state);
  stop = true;
  generation.fetch_add(1);
  impl.wake(generation, kWaiters);
  for (auto& t : waiters) t.join();
}

// Words that share `target`'s slot (for Sharded), its libstdc++ waiter-table entry (std_atomic),
// or simply other words (host_futex, concurrent_map: their hashing is not ours to steer).
template <class Impl>
std::vector<Word*> colliding_words(Impl& impl, Word& target, std::vector<Word>& pool) {
  std::vector<Word*> out;
  for (Word& w : pool) {
    if (out.size() == 8) break;
    bool collides = true;
    if constexpr (std::is_same_v<Impl, Sharded>) {
      collides = impl.table.slot_index(reinterpret_cast<std::uintptr_t>(&w)) ==
                 impl.table.slot_index(reinterpret_cast<std::uintptr_t>(&target));
    } else if constexpr (std::is_same_v<Impl, StdAtomic>) {
      collides = ((reinterpret_cast<std::uintptr_t>(&w) >> 2) % 16) ==
                 ((reinterpret_cast<std::uintptr_t>(&target) >> 2) % 16);
    }
    if (collides && &w != &target) out.push_back(&w);
  }
  return out;
}

template <class Impl>
void Collisions(benchmark::State& state) {
  Impl impl;
  static std::vector<Word> pool(512 * 64);
  Word& target = pool[0];
  const std::vector<Word*> others = colliding_words(impl, target, pool);
  std::atomic<bool> stop{false};
  std::atomic<int> sleeping{0};
  std::vector<std::thread> sleepers;
  for (Word* w : others) {
    sleepers.emplace_back([&, w] {
      sleeping.fetch_add(1);
      while (!stop.load()) impl.wait(*w, 0);
    });
  }
  while (sleeping.load() != static_cast<int>(others.size())) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // let them reach their sleep
  AllocCounter allocs;
  for (auto _ : state) benchmark::DoNotOptimize(impl.wake(target, 1));
  allocs.report(state);
  state.counters["colliding_sleepers"] = static_cast<double>(others.size());
  stop = true;
  for (Word* w : others) {
    w->store(1);
    impl.wake(*w, 1);
  }
  for (auto& t : sleepers) t.join();
  for (Word* w : others) w->store(0);
}

using BenchFn = void (*)(benchmark::State&);

void register_case(const char* name, bool threaded, std::initializer_list<std::pair<const char*, BenchFn>> impls) {
  for (const auto& [impl, fn] : impls) {
    auto* b = benchmark::RegisterBenchmark((std::string(name) + "/" + impl).c_str(), fn);
    if (threaded) b->UseRealTime();
  }
}

// Registers Case/<impl> for every implementation, in the same order each time.
#define FUTEXBOX_REGISTER_CASE(Case, threaded)                                         \
  register_case(#Case, threaded, {{Sharded::kName, &Case<Sharded>},                    \
                                  {HostFutex::kName, &Case<HostFutex>},                \
                                  {StdAtomic::kName, &Case<StdAtomic>},                \
                                  {ConcurrentMap::kName, &Case<ConcurrentMap>}})

const bool g_registered = [] {
  FUTEXBOX_REGISTER_CASE(WakeNoWaiters, false);
  FUTEXBOX_REGISTER_CASE(WaitValueChanged, false);
  FUTEXBOX_REGISTER_CASE(PingPong, true);
  FUTEXBOX_REGISTER_CASE(PingPongPinned, true);
  FUTEXBOX_REGISTER_CASE(WakeAll64, true);
  FUTEXBOX_REGISTER_CASE(Collisions, false);
  return true;
}();

}  // namespace
}  // namespace futexbox::bench
