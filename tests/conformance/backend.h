// Backends for conformance tests written once and run twice: against the host kernel (real
// syscalls on real memory) and against futexbox's emulated kernel (syscalls::dispatch over a
// FlatGuestMemory). A test that fails on the host backend is a wrong test.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace futexbox::conformance {

using Addr = std::uint64_t;

// A thread running guest code on a backend (a host thread, or a host thread bound to a task).
class GuestThread {
 public:
  virtual ~GuestThread() = default;
  // Whether the thread is asleep in a futex wait right now.
  [[nodiscard]] virtual bool blocked_in_futex() const = 0;
  // Whether the thread is asleep at all (in a pipe, eventfd, poll or signal wait, say): the host
  // thread's state is S. On the emulated backends a wait parks the host thread, so the same test.
  [[nodiscard]] bool sleeping() const;
  // Delivers a signal that has a handler without SA_RESTART: an interrupted wait returns EINTR.
  virtual void interrupt() = 0;
  // The thread's id (as gettid(2) gives it on this backend).
  [[nodiscard]] virtual pid_t tid() const = 0;
  virtual void join() = 0;
};

// A signal handler invocation, as the backend's recording handler saw it.
struct Delivered {
  int signo = 0;
  int code = 0;
  pid_t pid = 0;
  std::uint32_t uid = 0;
  std::uint64_t value = 0;  // si_value
  pid_t tid = 0;            // the thread it ran on
  friend bool operator==(const Delivered&, const Delivered&) = default;
};

class Backend {
 public:
  virtual ~Backend() = default;
  [[nodiscard]] virtual std::string name() const = 0;

  // Zeroed, readable and writable, 64-byte aligned guest memory.
  virtual Addr alloc(std::size_t bytes) = 0;
  // A page that is mapped read-only, and one with nothing accessible.
  virtual Addr readonly_page() = 0;
  virtual Addr unmapped_page() = 0;

  virtual std::uint32_t load(Addr addr) = 0;
  virtual void store(Addr addr, std::uint32_t value) = 0;
  virtual void write(Addr addr, const void* data, std::size_t size) = 0;
  virtual void read(Addr addr, void* data, std::size_t size) = 0;
  template <class T>
  T read_as(Addr addr) {
    T value{};
    read(addr, &value, sizeof(T));
    return value;
  }
  template <class T>
  Addr put(const T& value) {
    const Addr a = alloc(sizeof(T));
    write(a, &value, sizeof(T));
    return a;
  }

  // A raw syscall from the calling thread (which must be the test's main thread or a thread from
  // spawn()): the value, or -errno.
  virtual std::int64_t syscall(std::uint64_t nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                               std::uint64_t a2 = 0, std::uint64_t a3 = 0, std::uint64_t a4 = 0,
                               std::uint64_t a5 = 0) = 0;

  // A guest thread that exits (through the backend's exit path) when `body` returns.
  virtual std::unique_ptr<GuestThread> spawn(std::function<void()> body) = 0;
  // The same, detached: for threads that replace their own clear_child_tid address, which the
  // host's pthread_join relies on.
  virtual void spawn_detached(std::function<void()> body) = 0;
  // Makes the host thread `tid` (running elsewhere) known as a live thread of the guest, so a PI
  // word can name it as owner on both backends (a no-op on the host).
  virtual void adopt_thread(pid_t tid) = 0;

  // An address for sa_handler whose handler records each invocation (with SA_SIGINFO) in the log
  // take_deliveries() empties. On the host it is a real function; the emulated backend records
  // what SignalManager::next_delivery hands it, running nested handlers first as Linux does.
  virtual Addr recording_handler() = 0;
  // The sa_restorer to pass with SA_RESTORER (x86-64 needs one to deliver: the host's is libc's).
  virtual Addr signal_restorer() = 0;
  virtual std::vector<Delivered> take_deliveries() = 0;
  // SIGUSR1, with the recording handler and no SA_RESTART, is what GuestThread::interrupt sends.
  static constexpr int kInterruptSignal = 10;
  // The limit on queued signals with their siginfo: RLIMIT_SIGPENDING on the host (restored at
  // the end; it counts every pending signal of this user), the SignalManager's queue limit here.
  virtual void set_signal_queue_limit(std::size_t limit) = 0;
  // Signals queued (with their siginfo) for this user right now: /proc/self/status's SigQ on the
  // host, the SignalManager's count here.
  virtual std::size_t queued_signals_of_user() = 0;

  // Convenience wrappers.
  std::int64_t futex(Addr uaddr, int op, std::uint32_t val, std::uint64_t timeout_or_val2 = 0,
                     Addr uaddr2 = 0, std::uint32_t val3 = 0);
  // A struct timespec in guest memory.
  Addr timespec(std::int64_t sec, std::int64_t nsec);
};

std::unique_ptr<Backend> make_host_backend();
std::unique_ptr<Backend> make_emulated_backend();
// The emulated kernel over HostGuestMemory: guest addresses are this process's addresses.
std::unique_ptr<Backend> make_emulated_host_memory_backend();

}  // namespace futexbox::conformance
