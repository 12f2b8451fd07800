#include "tests/conformance/backend.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
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

// ---------------------------------------------------------------- host kernel

void note_signal(int) {}

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
  [[nodiscard]] bool blocked_in_futex() const override {
    // Asleep (S) in one of the kernel's futex waits.
    std::ifstream stat("/proc/self/task/" + std::to_string(tid_.load()) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto paren = line.rfind(')');
    if (paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'S') {
      return false;
    }
    std::ifstream wchan("/proc/self/task/" + std::to_string(tid_.load()) + "/wchan");
    std::string where;
    std::getline(wchan, where);
    // futex_wait_queue / futex_do_wait for plain waits, rt_mutex_schedule for PI locks.
    return where.find("futex") != std::string::npos || where.find("rt_mutex") != std::string::npos;
  }
  void interrupt() override { pthread_kill(handle_, SIGUSR1); }
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

class HostBackend final : public Backend {
 public:
  HostBackend() {
    // SIGUSR1 has a handler without SA_RESTART: what GuestThread::interrupt() promises.
    struct sigaction sa {};
    sa.sa_handler = &note_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, nullptr);
  }
  [[nodiscard]] std::string name() const override { return "Host"; }

  Addr alloc(std::size_t bytes) override { return pages_.alloc(bytes); }
  Addr readonly_page() override { return pages_.page(PROT_READ); }
  Addr unmapped_page() override { return pages_.page(PROT_NONE); }
  std::uint32_t load(Addr addr) override { return HostMappings::load(addr); }
  void store(Addr addr, std::uint32_t value) override { HostMappings::store(addr, value); }
  void write(Addr addr, const void* data, std::size_t size) override {
    HostMappings::write(addr, data, size);
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
};

// ---------------------------------------------------------------- emulated kernel

thread_local kernel::Task* t_task = nullptr;
kernel::Kernel* g_exit_kernel = nullptr;  // set by the EmulatedBackend that owns the threads

// What the embedder does when a guest thread ends: the exit hook, then the task is gone.
void exit_current_task() {
  syscalls::dispatch(*g_exit_kernel, *t_task, syscalls::SyscallArgs{60, {}});
  t_task = nullptr;
}

pid_t host_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// Tasks are named after the host threads that run them, as the in-process agent names them: a
// TID stored in a futex word then means the same on both backends.
class EmulatedThread final : public GuestThread {
 public:
  EmulatedThread(kernel::Kernel& kernel, kernel::Process& process, std::function<void()> body) {
    std::atomic<kernel::Task*> started{nullptr};
    thread_ = std::thread([&kernel, &process, &started, body = std::move(body)] {
      kernel::Task& task = kernel.create_thread(process, host_tid());
      t_task = &task;
      task.attach_to_current_thread();
      started = &task;
      body();
      exit_current_task();
    });
    while (started.load() == nullptr) std::this_thread::yield();
    task_ = started.load();
  }
  ~EmulatedThread() override {
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] bool blocked_in_futex() const override { return task_->in_futex_wait(); }
  void interrupt() override { task_->interrupt(); }
  void join() override { thread_.join(); }

 private:
  kernel::Task* task_ = nullptr;
  std::thread thread_;
};

// The emulated kernel, over a FlatGuestMemory (guest addresses of its own) or, with
// `on_host_memory`, over HostGuestMemory (guest address == host address, real pages: what the
// in-process agent uses).
class EmulatedBackend final : public Backend {
 public:
  static constexpr Addr kHeap = 0x10000000;
  static constexpr std::size_t kHeapSize = 64 * kPage;
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
    main_task_ = &kernel_.create_process(memory_, host_tid());
    t_task = main_task_;
    main_task_->attach_to_current_thread();
  }
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
  std::int64_t syscall(std::uint64_t nr, std::uint64_t a0, std::uint64_t a1, std::uint64_t a2,
                       std::uint64_t a3, std::uint64_t a4, std::uint64_t a5) override {
    kernel::Task& task = *t_task;
    syscalls::SyscallArgs args{nr, {a0, a1, a2, a3, a4, a5}};
    for (;;) {
      const std::int64_t rax = syscalls::dispatch(kernel_, task, args);
      // The embedder's part: an interruption here stands for a signal whose handler has no
      // SA_RESTART (GuestThread::interrupt's contract), delivered on the way out.
      if (!task.interrupt_pending()) return rax;
      task.clear_interrupt();
      const syscalls::RestartDecision d =
          syscalls::apply_restart_rules(rax, /*handler=*/true, /*sa_restart=*/false);
      if (d.action == syscalls::RestartAction::kReturn) return d.rax;
      if (d.action == syscalls::RestartAction::kRestartSyscall) args = syscalls::SyscallArgs{219, {}};
    }
  }
  std::unique_ptr<GuestThread> spawn(std::function<void()> body) override {
    return std::make_unique<EmulatedThread>(kernel_, main_task_->process(), std::move(body));
  }
  void spawn_detached(std::function<void()> body) override {
    detached_.fetch_add(1);
    std::thread([this, body = std::move(body)] {
      kernel::Task& task = kernel_.create_thread(main_task_->process(), host_tid());
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

std::unique_ptr<Backend> make_host_backend() { return std::make_unique<HostBackend>(); }
std::unique_ptr<Backend> make_emulated_backend() { return std::make_unique<EmulatedBackend>(false); }
std::unique_ptr<Backend> make_emulated_host_memory_backend() {
  return std::make_unique<EmulatedBackend>(true);
}

}  // namespace futexbox::conformance
