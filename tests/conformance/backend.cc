#include "tests/conformance/backend.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "kernel/guest_memory.h"
#include "kernel/host_guest_memory.h"
#include "kernel/kernel.h"
#include "syscalls/restart.h"
#include "syscalls/syscall_table.h"

namespace futexbox::conformance {

std::int64_t Backend::futex(Addr uaddr, int op, std::uint32_t val, std::uint64_t timeout_or_val2,
                            Addr uaddr2, std::uint32_t val3) {
  return syscall(SYS_futex, uaddr, static_cast<std::uint32_t>(op), val, timeout_or_val2, uaddr2,
                 val3);
}

Addr Backend::timespec(std::int64_t sec, std::int64_t nsec) {
  const Addr a = alloc(16);
  const std::int64_t ts[2] = {sec, nsec};
  write(a, ts, sizeof(ts));
  return a;
}

namespace {

constexpr std::size_t kPage = 4096;

std::string thread_state(pid_t tid) {
  std::ifstream stat("/proc/self/task/" + std::to_string(tid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return "";
  return line.substr(paren + 2, 1);
}

// The recording handler's log: fixed, async-signal-safe. A spin lock orders writers (handlers on
// any thread) against the drainer; whoever holds it has every signal blocked on its thread, so no
// handler nested there can spin on a lock its own thread holds. A signal arriving meanwhile is
// delivered (and logged) right after, which keeps the order a slot counter gave. (A lock-free
// version with a slot counter and a "filled" counter let the drainer read a slot a handler was
// still writing: ThreadSanitizer caught it.)
constexpr std::size_t kLogSize = 1 << 16;
Delivered g_log[kLogSize];
std::size_t g_log_size = 0;  // guarded by g_log_lock
std::atomic<bool> g_log_lock{false};

// Blocks every signal on this thread and takes the lock; returns the mask to restore.
sigset_t lock_log() {
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &previous);
  while (g_log_lock.exchange(true, std::memory_order_acquire)) {
    while (g_log_lock.load(std::memory_order_relaxed)) __builtin_ia32_pause();
  }
  return previous;
}
void unlock_log(const sigset_t& previous) {
  g_log_lock.store(false, std::memory_order_release);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

void log_delivery(const Delivered& d) {
  const sigset_t previous = lock_log();
  if (g_log_size < kLogSize) g_log[g_log_size++] = d;
  unlock_log(previous);
}

std::vector<Delivered> drain_log() {
  const sigset_t previous = lock_log();
  std::vector<Delivered> out(g_log, g_log + g_log_size);
  g_log_size = 0;
  unlock_log(previous);
  return out;
}

// The host's recording handler (SA_SIGINFO).
void record_signal(int sig, siginfo_t* info, void*) {
  const int saved = errno;
  log_delivery(Delivered{sig, info->si_code, info->si_pid, info->si_uid,
                         reinterpret_cast<std::uint64_t>(info->si_value.sival_ptr),
                         static_cast<pid_t>(::syscall(SYS_gettid))});
  errno = saved;
}

// ---------------------------------------------------------------- host kernel

class HostThread final : public GuestThread {
 public:
  explicit HostThread(std::function<void()> body) {
    thread_ = std::thread([this, body = std::move(body)] {
      tid_.store(static_cast<pid_t>(::syscall(SYS_gettid)));
      body();
    });
    while (tid_.load() == 0) std::this_thread::yield();
    handle_ = thread_.native_handle();
  }
  ~HostThread() override {
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] pid_t tid() const override { return tid_.load(); }
  [[nodiscard]] bool blocked_in_futex() const override {
    // Asleep (S) in one of the kernel's futex waits.
    if (thread_state(tid_.load()) != "S") return false;
    std::ifstream wchan("/proc/self/task/" + std::to_string(tid_.load()) + "/wchan");
    std::string where;
    std::getline(wchan, where);
    // futex_wait_queue / futex_do_wait for plain waits, rt_mutex_schedule for PI locks.
    return where.find("futex") != std::string::npos || where.find("rt_mutex") != std::string::npos;
  }
  void interrupt() override { pthread_kill(handle_, Backend::kInterruptSignal); }
  void join() override { thread_.join(); }

 private:
  std::atomic<pid_t> tid_{0};
  std::thread thread_;
  pthread_t handle_{};
};

// Real pages of this process, for the backends whose guest address is the host address.
class HostMappings {
 public:
  HostMappings() = default;
  HostMappings(const HostMappings&) = delete;
  HostMappings& operator=(const HostMappings&) = delete;
  ~HostMappings() {
    for (auto [p, n] : mappings_) munmap(p, n);
  }
  Addr alloc(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    const std::size_t size = (bytes + 63) / 64 * 64;
    if (bump_ == nullptr || bump_left_ < size) {
      const std::size_t map = std::max<std::size_t>(16 * kPage, (size + kPage - 1) / kPage * kPage);
      bump_ = static_cast<char*>(map_pages(map, PROT_READ | PROT_WRITE));
      bump_left_ = map;
    }
    char* p = bump_;
    bump_ += size;
    bump_left_ -= size;
    return reinterpret_cast<Addr>(p);
  }
  Addr page(int prot) {
    std::lock_guard lock(mutex_);
    return reinterpret_cast<Addr>(map_pages(kPage, prot));
  }
  static std::uint32_t load(Addr addr) {
    return std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(addr)).load();
  }
  static void store(Addr addr, std::uint32_t value) {
    std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(addr)).store(value);
  }
  static void write(Addr addr, const void* data, std::size_t size) {
    std::memcpy(reinterpret_cast<void*>(addr), data, size);
  }
  static void read(Addr addr, void* data, std::size_t size) {
    std::memcpy(data, reinterpret_cast<const void*>(addr), size);
  }

 private:
  void* map_pages(std::size_t size, int prot) {
    void* p = mmap(nullptr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) std::abort();
    mappings_.emplace_back(p, size);
    return p;
  }
  std::mutex mutex_;
  std::vector<std::pair<void*, std::size_t>> mappings_;
  char* bump_ = nullptr;
  std::size_t bump_left_ = 0;
};

// The kernel's struct sigaction, for saving and restoring every action with raw syscalls.
struct KernelSigaction {
  std::uint64_t handler, flags, restorer, mask;
};
bool touchable(int sig) { return sig != SIGKILL && sig != SIGSTOP && sig != 32 && sig != 33; }

class HostBackend final : public Backend {
 public:
  HostBackend() {
    // Tests change actions and masks of this process: all of it is put back at the end.
    for (int sig = 1; sig <= 64; ++sig) {
      if (touchable(sig)) ::syscall(SYS_rt_sigaction, sig, nullptr, &saved_[sig - 1], 8);
    }
    pthread_sigmask(SIG_SETMASK, nullptr, &saved_mask_);
    // SIGUSR1 has a handler without SA_RESTART: what GuestThread::interrupt() promises.
    struct sigaction sa {};
    sa.sa_sigaction = &record_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO;
    sigaction(kInterruptSignal, &sa, nullptr);
    KernelSigaction installed{};
    ::syscall(SYS_rt_sigaction, kInterruptSignal, nullptr, &installed, 8);
    restorer_ = installed.restorer;
    drain_log();
  }
  Addr signal_restorer() override { return restorer_; }
  ~HostBackend() override {
    // Ignoring a signal discards its pending instances, which must not fire on restore.
    const KernelSigaction ignore{reinterpret_cast<std::uint64_t>(SIG_IGN), 0, 0, 0};
    for (int sig = 1; sig <= 64; ++sig) {
      if (!touchable(sig)) continue;
      ::syscall(SYS_rt_sigaction, sig, &ignore, nullptr, 8);
      ::syscall(SYS_rt_sigaction, sig, &saved_[sig - 1], nullptr, 8);
    }
    pthread_sigmask(SIG_SETMASK, &saved_mask_, nullptr);
    if (limit_changed_) setrlimit(RLIMIT_SIGPENDING, &saved_limit_);
    drain_log();
  }
  [[nodiscard]] std::string name() const override { return "Host"; }
  Addr recording_handler() override { return reinterpret_cast<Addr>(&record_signal); }
  std::vector<Delivered> take_deliveries() override { return drain_log(); }

  Addr alloc(std::size_t bytes) override { return pages_.alloc(bytes); }
  Addr readonly_page() override { return pages_.page(PROT_READ); }
  Addr unmapped_page() override { return pages_.page(PROT_NONE); }
  std::uint32_t load(Addr addr) override { return HostMappings::load(addr); }
  void store(Addr addr, std::uint32_t value) override { HostMappings::store(addr, value); }
  void write(Addr addr, const void* data, std::size_t size) override {
    HostMappings::write(addr, data, size);
  }
  void read(Addr addr, void* data, std::size_t size) override {
    HostMappings::read(addr, data, size);
  }
  std::size_t queued_signals_of_user() override {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("SigQ:", 0) == 0) return std::stoul(line.substr(5));
    }
    return 0;
  }
  void set_signal_queue_limit(std::size_t limit) override {
    if (!limit_changed_) getrlimit(RLIMIT_SIGPENDING, &saved_limit_);
    limit_changed_ = true;
    rlimit r = saved_limit_;
    r.rlim_cur = limit;
    setrlimit(RLIMIT_SIGPENDING, &r);
  }
  std::int64_t syscall(std::uint64_t nr, std::uint64_t a0, std::uint64_t a1, std::uint64_t a2,
                       std::uint64_t a3, std::uint64_t a4, std::uint64_t a5) override {
    const long r = ::syscall(static_cast<long>(nr), a0, a1, a2, a3, a4, a5);
    return r == -1 ? -static_cast<std::int64_t>(errno) : r;
  }
  std::unique_ptr<GuestThread> spawn(std::function<void()> body) override {
    return std::make_unique<HostThread>(std::move(body));
  }
  void spawn_detached(std::function<void()> body) override {
    std::thread(std::move(body)).detach();
  }
  void adopt_thread(pid_t) override {}

 private:
  HostMappings pages_;
  KernelSigaction saved_[64] = {};
  sigset_t saved_mask_{};
  Addr restorer_ = 0;
  bool limit_changed_ = false;
  rlimit saved_limit_{};
};

// ---------------------------------------------------------------- emulated kernel

thread_local kernel::Task* t_task = nullptr;
kernel::Kernel* g_exit_kernel = nullptr;  // set by the EmulatedBackend that owns the threads

// What the embedder does when a guest thread ends: the exit hook, then the task is gone.
void exit_current_task() {
  syscalls::dispatch(*g_exit_kernel, *t_task, syscalls::SyscallArgs{60, {}});
  t_task = nullptr;
}

// The embedder's signal delivery, as Linux's exit to user mode does it: while a signal is
// deliverable, take it; a handler's frame is set up, and signals deliverable under the handler's
// mask nest on top of it (so they run first); each handler "runs" (is logged) and returns
// (rt_sigreturn restores its saved mask), after which newly unblocked signals are delivered.
// Returns the first delivery, whose action decides the interrupted syscall's restart.
std::optional<kernel::SignalDelivery> run_signal_handlers(kernel::Kernel& kernel,
                                                          kernel::Task& task) {
  std::optional<kernel::SignalDelivery> first;
  while (std::optional<kernel::SignalDelivery> d = kernel.signals().next_delivery(task)) {
    if (!first) first = d;
    if (!d->runs_handler()) {
      // Default actions: a test never lets one terminate the process (the host would die too).
      if (d->action == kernel::SignalDelivery::Action::kTerminate ||
          d->action == kernel::SignalDelivery::Action::kCoreDump) {
        std::fprintf(stderr, "emulated guest killed by signal %d\n", d->signo);
        std::abort();
      }
      continue;
    }
    run_signal_handlers(kernel, task);
    log_delivery(Delivered{d->signo, d->info.code, d->info.pid, d->info.uid, d->info.value,
                           task.tid()});
    kernel.signals().restore_mask(task, d->restore_mask);
  }
  return first;
}

pid_t host_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// Tasks are named after the host threads that run them, as the in-process agent names them: a
// TID stored in a futex word then means the same on both backends.
class EmulatedThread final : public GuestThread {
 public:
  EmulatedThread(kernel::Kernel& kernel, kernel::Process& process, std::function<void()> body) {
    std::atomic<kernel::Task*> started{nullptr};
    // A new thread starts with its creator's signal mask.
    const abi::sig::SigSet mask = t_task != nullptr ? kernel.signals().mask(*t_task) : 0;
    thread_ = std::thread([this, &kernel, &process, &started, mask, body = std::move(body)] {
      kernel::Task& task = kernel.create_thread(process, host_tid(), mask);
      t_task = &task;
      task.attach_to_current_thread();
      tid_ = task.tid();  // published by the store to `started`
      started = &task;
      body();
      exit_current_task();
    });
    // The task may be gone by the time this returns (a short body): only its pointer is kept.
    while (started.load() == nullptr) std::this_thread::yield();
    task_ = started.load();
  }
  ~EmulatedThread() override {
    if (thread_.joinable()) thread_.join();
  }
  // Kept: the task is gone once the thread has exited.
  [[nodiscard]] pid_t tid() const override { return tid_; }
  [[nodiscard]] bool blocked_in_futex() const override { return task_->in_futex_wait(); }
  void interrupt() override {
    kernel::Kernel& kernel = *g_exit_kernel;
    kernel::Task* sender = t_task;
    if (sender == nullptr) return;
    (void)kernel.signals().tgkill(*sender, task_->process().pid(), task_->tid(),
                                  Backend::kInterruptSignal);
  }
  void join() override { thread_.join(); }

 private:
  kernel::Task* task_ = nullptr;
  pid_t tid_ = 0;
  std::thread thread_;
};

// The emulated kernel, over a FlatGuestMemory (guest addresses of its own) or, with
// `on_host_memory`, over HostGuestMemory (guest address == host address, real pages: what the
// in-process agent uses).
class EmulatedBackend final : public Backend {
 public:
  static constexpr Addr kHeap = 0x10000000;
  static constexpr std::size_t kHeapSize = 4096 * kPage;  // 16 MiB: room for the stress tests
  static constexpr Addr kReadOnly = 0x20000000;
  static constexpr Addr kUnmapped = 0x30000000;

  explicit EmulatedBackend(bool on_host_memory) : on_host_memory_(on_host_memory) {
    if (on_host_memory) {
      memory_ = std::make_shared<kernel::HostGuestMemory>();
    } else {
      auto flat = std::make_shared<kernel::FlatGuestMemory>();
      if (!flat->map(kHeap, kHeapSize, kernel::Prot::kReadWrite)) std::abort();
      if (!flat->map(kReadOnly, kPage, kernel::Prot::kRead)) std::abort();
      if (!flat->map(kUnmapped, kPage, kernel::Prot::kNone)) std::abort();
      memory_ = flat;
    }
    g_exit_kernel = &kernel_;
    main_task_ = &kernel_.create_process(memory_, host_tid(), static_cast<std::uint32_t>(getuid()));
    t_task = main_task_;
    main_task_->attach_to_current_thread();
    abi::sig::SigAction usr1;
    usr1.handler = recording_handler();
    usr1.flags = abi::sig::kSaSigInfo | abi::sig::kSaRestorer;
    (void)kernel_.signals().set_action(*main_task_, kInterruptSignal, &usr1, nullptr);
    drain_log();
  }
  Addr recording_handler() override { return reinterpret_cast<Addr>(&record_signal); }
  Addr signal_restorer() override { return 0x401000; }  // never jumped to
  std::vector<Delivered> take_deliveries() override { return drain_log(); }
  [[nodiscard]] std::string name() const override {
    return on_host_memory_ ? "EmulatedOnHostMemory" : "Emulated";
  }

  Addr alloc(std::size_t bytes) override {
    if (on_host_memory_) return pages_.alloc(bytes);
    std::lock_guard lock(mutex_);
    const Addr a = next_;
    next_ += (bytes + 63) / 64 * 64;
    if (next_ > kHeap + kHeapSize) std::abort();
    return a;
  }
  Addr readonly_page() override { return on_host_memory_ ? pages_.page(PROT_READ) : kReadOnly; }
  Addr unmapped_page() override { return on_host_memory_ ? pages_.page(PROT_NONE) : kUnmapped; }
  std::uint32_t load(Addr addr) override { return memory_->load_u32(addr).value(); }
  void store(Addr addr, std::uint32_t value) override {
    if (!memory_->store_u32(addr, value)) std::abort();
  }
  void write(Addr addr, const void* data, std::size_t size) override {
    if (!memory_->copy_out(addr, data, size)) std::abort();
  }
  void read(Addr addr, void* data, std::size_t size) override {
    if (!memory_->copy_in(addr, data, size)) std::abort();
  }
  void set_signal_queue_limit(std::size_t limit) override {
    kernel_.signals().set_queue_limit(limit);
  }
  std::size_t queued_signals_of_user() override { return kernel_.signals().queued_count(); }
  std::int64_t syscall(std::uint64_t nr, std::uint64_t a0, std::uint64_t a1, std::uint64_t a2,
                       std::uint64_t a3, std::uint64_t a4, std::uint64_t a5) override {
    kernel::Task& task = *t_task;
    syscalls::SyscallArgs args{nr, {a0, a1, a2, a3, a4, a5}};
    // A signal that arrived while the thread ran its own code is handled before the call, as the
    // host would have run the handler at once.
    run_signal_handlers(kernel_, task);
    for (;;) {
      const std::int64_t rax = syscalls::dispatch(kernel_, task, args);
      // The embedder's part on the way out: deliver, and let the first signal's action decide
      // whether an interrupted call returns EINTR or restarts (syscalls/restart.h).
      const std::optional<kernel::SignalDelivery> first = run_signal_handlers(kernel_, task);
      const syscalls::RestartDecision d =
          first ? syscalls::apply_restart_rules(rax, first->runs_handler(), first->sa_restart())
                : syscalls::apply_restart_rules(rax, /*handler=*/false, /*sa_restart=*/false);
      if (d.action == syscalls::RestartAction::kReturn) return d.rax;
      if (d.action == syscalls::RestartAction::kRestartSyscall) args = syscalls::SyscallArgs{219, {}};
    }
  }
  std::unique_ptr<GuestThread> spawn(std::function<void()> body) override {
    return std::make_unique<EmulatedThread>(kernel_, main_task_->process(), std::move(body));
  }
  void spawn_detached(std::function<void()> body) override {
    detached_.fetch_add(1);
    const abi::sig::SigSet mask = t_task != nullptr ? kernel_.signals().mask(*t_task) : 0;
    std::thread([this, mask, body = std::move(body)] {
      kernel::Task& task = kernel_.create_thread(main_task_->process(), host_tid(), mask);
      t_task = &task;
      task.attach_to_current_thread();
      body();
      exit_current_task();
      detached_.fetch_sub(1);
    }).detach();
  }
  void adopt_thread(pid_t tid) override { kernel_.create_thread(main_task_->process(), tid); }
  ~EmulatedBackend() override {
    while (detached_.load() != 0) std::this_thread::yield();
  }

 private:
  bool on_host_memory_;
  HostMappings pages_;
  kernel::Kernel kernel_;
  std::shared_ptr<kernel::GuestMemory> memory_;
  kernel::Task* main_task_ = nullptr;
  std::mutex mutex_;
  Addr next_ = kHeap;
  std::atomic<int> detached_{0};
};

}  // namespace

bool GuestThread::sleeping() const { return thread_state(tid()) == "S"; }

std::unique_ptr<Backend> make_host_backend() { return std::make_unique<HostBackend>(); }
std::unique_ptr<Backend> make_emulated_backend() { return std::make_unique<EmulatedBackend>(false); }
std::unique_ptr<Backend> make_emulated_host_memory_backend() {
  return std::make_unique<EmulatedBackend>(true);
}

}  // namespace futexbox::conformance
