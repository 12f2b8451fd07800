// futexbox_bench, pipe and eventfd cases: the emulated kernel (syscalls::dispatch over a
// FlatGuestMemory, no trap) beside the host's syscalls, in the same run.
//
//   PipeThroughput4K    a writer and a reader thread move 4 KiB chunks through one pipe
//   PipeThroughput64K   the same with 64 KiB chunks (a whole default pipe per write)
//   EventfdPingPong     two threads alternate through two eventfds (write 1, blocking read)
// Each also has a *Pinned variant with both threads on CPU 0 (on these 2-vCPU VMs a cross-CPU
// wake costs 20-25 µs, which would otherwise dominate the hand-offs).
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "kernel/kernel.h"
#include "syscalls/syscall_table.h"
#include "tests/bench/bench_util.h"

namespace futexbox::bench {
namespace {

constexpr std::size_t kBufferBytes = 64 * 1024;

// The host: buffers are ours, syscalls are real.
struct Host {
  static constexpr const char* kName = "host";
  struct Thread {
    explicit Thread(Host&) : buffer(kBufferBytes) {}
    std::vector<char> buffer;
    std::uint64_t buf() { return reinterpret_cast<std::uint64_t>(buffer.data()); }
    void put(std::uint64_t v) { std::memcpy(buffer.data(), &v, 8); }
    std::uint64_t get() {
      std::uint64_t v = 0;
      std::memcpy(&v, buffer.data(), 8);
      return v;
    }
  };
  std::int64_t sys(Thread&, long nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                   std::uint64_t a2 = 0) {
    const long r = ::syscall(nr, a0, a1, a2);
    return r < 0 ? -errno : r;
  }
  std::int32_t fds[2] = {-1, -1};
  void pipe(Thread&) {
    // The reader closes its end to stop a writer that may be blocked: EPIPE, not death by SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    (void)::pipe(fds);
  }
  std::int64_t eventfd(Thread&) { return ::syscall(SYS_eventfd2, 0, 0); }
  void close(Thread&, std::int64_t fd) { ::close(static_cast<int>(fd)); }
};

// The emulated kernel: one guest process, a task per host thread, each with its own buffer.
struct Emulated {
  static constexpr const char* kName = "emulated";
  static constexpr std::uint64_t kBase = 0x100000;
  static constexpr std::size_t kThreads = 4;
  kernel::Kernel kernel;
  std::shared_ptr<kernel::FlatGuestMemory> memory = std::make_shared<kernel::FlatGuestMemory>();
  kernel::Process* process = nullptr;
  std::atomic<std::uint64_t> next_buffer{kBase};
  Emulated() {
    (void)memory->map(kBase, kThreads * kBufferBytes + 4096, kernel::Prot::kReadWrite);
    process = &kernel.create_process(memory).process();
  }
  struct Thread {
    explicit Thread(Emulated& e)
        : task(e.kernel.create_thread(*e.process)), memory(*e.memory),
          addr(e.next_buffer.fetch_add(kBufferBytes)) {
      task.attach_to_current_thread();
    }
    kernel::Task& task;
    kernel::GuestMemory& memory;
    std::uint64_t addr;
    std::uint64_t buf() const { return addr; }
    void put(std::uint64_t v) { (void)memory.copy_out(addr, &v, 8); }
    std::uint64_t get() { return memory.read<std::uint64_t>(addr).value(); }
  };
  std::int64_t sys(Thread& t, long nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                   std::uint64_t a2 = 0) {
    return syscalls::dispatch(kernel, t.task,
                              syscalls::SyscallArgs{static_cast<std::uint64_t>(nr), {a0, a1, a2}});
  }
  std::int32_t fds[2] = {-1, -1};
  void pipe(Thread& t) {
    const std::uint64_t at = kBase + kThreads * kBufferBytes;
    (void)sys(t, SYS_pipe2, at, 0);
    fds[0] = static_cast<std::int32_t>(memory->load_u32(at).value());
    fds[1] = static_cast<std::int32_t>(memory->load_u32(at + 4).value());
  }
  std::int64_t eventfd(Thread& t) { return sys(t, SYS_eventfd2, 0, 0); }
  void close(Thread& t, std::int64_t fd) { (void)sys(t, SYS_close, static_cast<std::uint64_t>(fd)); }
};

// A writer thread sends `chunk`-byte writes until told to stop; each iteration reads one chunk.
template <class K>
void pipe_throughput(benchmark::State& state, std::size_t chunk, bool pinned) {
  K k;
  AffinityGuard restore;
  if (pinned) pin_to_cpu0();
  typename K::Thread me(k);
  k.pipe(me);
  const auto rfd = static_cast<std::uint64_t>(k.fds[0]);
  const auto wfd = static_cast<std::uint64_t>(k.fds[1]);
  std::atomic<bool> stop{false};
  std::atomic<bool> ready{false};
  std::thread writer([&] {
    if (pinned) pin_to_cpu0();
    typename K::Thread self(k);
    ready = true;
    while (!stop.load(std::memory_order_relaxed)) {
      if (k.sys(self, SYS_write, wfd, self.buf(), chunk) < 0) return;
    }
  });
  while (!ready.load()) std::this_thread::yield();
  AllocCounter allocs;
  for (auto _ : state) {
    std::size_t got = 0;
    while (got < chunk) {
      const std::int64_t n = k.sys(me, SYS_read, rfd, me.buf(), chunk - got);
      if (n <= 0) {
        state.SkipWithError("read failed");
        break;
      }
      got += static_cast<std::size_t>(n);
    }
  }
  allocs.report(state);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * chunk));
  stop = true;
  k.close(me, static_cast<std::int64_t>(rfd));  // a writer blocked on a full pipe gets EPIPE
  writer.join();
  k.close(me, static_cast<std::int64_t>(wfd));
}

template <class K>
void PipeThroughput4K(benchmark::State& s) {
  pipe_throughput<K>(s, 4096, false);
}
template <class K>
void PipeThroughput4KPinned(benchmark::State& s) {
  pipe_throughput<K>(s, 4096, true);
}
template <class K>
void PipeThroughput64K(benchmark::State& s) {
  pipe_throughput<K>(s, 65536, false);
}
template <class K>
void PipeThroughput64KPinned(benchmark::State& s) {
  pipe_throughput<K>(s, 65536, true);
}

// One iteration: write 1 to `ping`, the partner reads it and writes 1 to `pong`, we read it.
template <class K>
void eventfd_ping_pong(benchmark::State& state, bool pinned) {
  K k;
  AffinityGuard restore;
  if (pinned) pin_to_cpu0();
  typename K::Thread me(k);
  const auto ping = static_cast<std::uint64_t>(k.eventfd(me));
  const auto pong = static_cast<std::uint64_t>(k.eventfd(me));
  std::atomic<bool> ready{false};
  std::thread partner([&] {
    if (pinned) pin_to_cpu0();
    typename K::Thread self(k);
    ready = true;
    for (;;) {
      // The count read doubles as the stop flag: 2 means "done".
      if (k.sys(self, SYS_read, ping, self.buf(), 8) != 8 || self.get() != 1) return;
      k.sys(self, SYS_write, pong, self.buf(), 8);  // writes the 1 it read
    }
  });
  while (!ready.load()) std::this_thread::yield();
  AllocCounter allocs;
  for (auto _ : state) {
    me.put(1);
    k.sys(me, SYS_write, ping, me.buf(), 8);
    k.sys(me, SYS_read, pong, me.buf(), 8);
  }
  allocs.report(state);
  me.put(2);
  k.sys(me, SYS_write, ping, me.buf(), 8);
  partner.join();
  k.close(me, static_cast<std::int64_t>(ping));
  k.close(me, static_cast<std::int64_t>(pong));
}

template <class K>
void EventfdPingPong(benchmark::State& s) {
  eventfd_ping_pong<K>(s, false);
}
template <class K>
void EventfdPingPongPinned(benchmark::State& s) {
  eventfd_ping_pong<K>(s, true);
}

#define FUTEXBOX_REGISTER_IO_CASE(Case)                                                        \
  do {                                                                                         \
    benchmark::RegisterBenchmark(#Case "/emulated", &Case<Emulated>)->UseRealTime();           \
    benchmark::RegisterBenchmark(#Case "/host", &Case<Host>)->UseRealTime();                   \
  } while (false)

const bool g_registered = [] {
  FUTEXBOX_REGISTER_IO_CASE(PipeThroughput4K);
  FUTEXBOX_REGISTER_IO_CASE(PipeThroughput4KPinned);
  FUTEXBOX_REGISTER_IO_CASE(PipeThroughput64K);
  FUTEXBOX_REGISTER_IO_CASE(PipeThroughput64KPinned);
  FUTEXBOX_REGISTER_IO_CASE(EventfdPingPong);
  FUTEXBOX_REGISTER_IO_CASE(EventfdPingPongPinned);
  return true;
}();

}  // namespace
}  // namespace futexbox::bench
