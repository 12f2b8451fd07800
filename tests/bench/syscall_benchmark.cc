// futexbox_bench, syscall-level cases: a guest's futex syscall served by the emulated kernel
// (syscalls::dispatch over a FlatGuestMemory, no trap: the cost an embedder adds on top of its own
// interception) beside the same syscall on the host, in the same run.
//
//   SysWakeNoWaiters   FUTEX_WAKE_PRIVATE on a word nobody waits on
//   SysWaitMismatch    FUTEX_WAIT_PRIVATE whose value differs (perf bench futex hash's pattern)
//   SysPingPong        two threads alternate through FUTEX_WAIT / FUTEX_WAKE on one word
//   SysPingPongPinned  the same pinned to CPU 0
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>

#include "kernel/kernel.h"
#include "syscalls/syscall_table.h"
#include "tests/bench/bench_util.h"

namespace futexbox::bench {
namespace {

// The host: guest memory is our memory, the syscall is the real one.
struct Host {
  static constexpr const char* kName = "host_futex";
  alignas(64) std::atomic<std::uint32_t> word{0};
  struct Thread {
    explicit Thread(Host&) {}
  };
  std::uint64_t addr() { return reinterpret_cast<std::uint64_t>(&word); }
  std::uint32_t load() { return word.load(); }
  void store(std::uint32_t v) { word.store(v); }
  std::int64_t futex(Thread&, int op, std::uint32_t val) {
    return syscall(SYS_futex, &word, op, val, nullptr, nullptr, 0);
  }
};

// The emulated kernel: one guest process, a task per host thread.
struct Emulated {
  static constexpr const char* kName = "emulated";
  static constexpr std::uint64_t kBase = 0x10000;
  kernel::Kernel kernel;
  std::shared_ptr<kernel::FlatGuestMemory> memory = std::make_shared<kernel::FlatGuestMemory>();
  kernel::Process* process = nullptr;
  Emulated() {
    (void)memory->map(kBase, 4096, kernel::Prot::kReadWrite);
    process = &kernel.create_process(memory).process();
  }
  struct Thread {
    explicit Thread(Emulated& e) : task(e.kernel.create_thread(*e.process)) {
      task.attach_to_current_thread();
    }
    kernel::Task& task;
  };
  std::uint64_t addr() { return kBase; }
  std::uint32_t load() { return memory->load_u32(kBase).value(); }
  void store(std::uint32_t v) { (void)memory->store_u32(kBase, v); }
  std::int64_t futex(Thread& t, int op, std::uint32_t val) {
    const syscalls::SyscallArgs args{SYS_futex, {kBase, static_cast<std::uint64_t>(op), val, 0, 0, 0}};
    return syscalls::dispatch(kernel, t.task, args);
  }
};

template <class K>
void SysWakeNoWaiters(benchmark::State& state) {
  K k;
  typename K::Thread me(k);
  AllocCounter allocs;
  for (auto _ : state) benchmark::DoNotOptimize(k.futex(me, FUTEX_WAKE_PRIVATE, 1));
  allocs.report(state);
}

template <class K>
void SysWaitMismatch(benchmark::State& state) {
  K k;
  typename K::Thread me(k);
  k.store(1);
  AllocCounter allocs;
  for (auto _ : state) benchmark::DoNotOptimize(k.futex(me, FUTEX_WAIT_PRIVATE, 0));
  allocs.report(state);
}

template <class K>
void sys_ping_pong(benchmark::State& state, bool pinned) {
  K k;
  AffinityGuard restore;
  if (pinned) pin_to_cpu0();
  typename K::Thread me(k);
  std::atomic<bool> stop{false};
  std::atomic<bool> ready{false};
  std::thread partner([&] {
    if (pinned) pin_to_cpu0();
    typename K::Thread self(k);  // creating a task allocates: done before counting starts
    ready = true;
    for (;;) {
      const std::uint32_t t = k.load();
      if (stop.load()) return;
      if (t % 2 == 1) {
        k.store(t + 1);
        k.futex(self, FUTEX_WAKE_PRIVATE, 1);
      } else {
        k.futex(self, FUTEX_WAIT_PRIVATE, t);
      }
    }
  });
  while (!ready.load()) std::this_thread::yield();
  AllocCounter allocs;
  for (auto _ : state) {
    const std::uint32_t mine = k.load() + 1;
    k.store(mine);
    k.futex(me, FUTEX_WAKE_PRIVATE, 1);
    while (k.load() == mine) k.futex(me, FUTEX_WAIT_PRIVATE, mine);
  }
  allocs.report(state);
  stop = true;
  k.store(k.load() + 2);
  k.futex(me, FUTEX_WAKE_PRIVATE, 1);
  partner.join();
}

template <class K>
void SysPingPong(benchmark::State& state) {
  sys_ping_pong<K>(state, false);
}
template <class K>
void SysPingPongPinned(benchmark::State& state) {
  sys_ping_pong<K>(state, true);
}

#define FUTEXBOX_REGISTER_SYS_CASE(Case, threaded)                                            \
  do {                                                                                        \
    auto* e = benchmark::RegisterBenchmark(#Case "/emulated", &Case<Emulated>);               \
    auto* h = benchmark::RegisterBenchmark(#Case "/host_futex", &Case<Host>);                 \
    if (threaded) {                                                                           \
      e->UseRealTime();                                                                       \
      h->UseRealTime();                                                                       \
    }                                                                                         \
  } while (false)

const bool g_registered = [] {
  FUTEXBOX_REGISTER_SYS_CASE(SysWakeNoWaiters, false);
  FUTEXBOX_REGISTER_SYS_CASE(SysWaitMismatch, false);
  FUTEXBOX_REGISTER_SYS_CASE(SysPingPong, true);
  FUTEXBOX_REGISTER_SYS_CASE(SysPingPongPinned, true);
  return true;
}();

}  // namespace
}  // namespace futexbox::bench
