#include "tools/agent/task_pool.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <new>

#include "sync/host_syscall.h"

namespace futexbox::tools::agent {

struct TaskPool::Slot {
  std::atomic<pid_t> owner{0};
  bool constructed = false;  // storage and task built once; the task is rebuilt per owner
  alignas(kernel::Task) unsigned char task[sizeof(kernel::Task)];
  alignas(kernel::Task::WaitvStorage) unsigned char storage[sizeof(kernel::Task::WaitvStorage)];
};

bool TaskPool::init() noexcept {
  void* p = mmap(nullptr, sizeof(Slot) * kSlots, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  slots_ = static_cast<Slot*>(p);  // zero pages: owner 0, constructed false
  return true;
}

kernel::Task* TaskPool::take(Slot& slot, kernel::Process& process, pid_t tid) noexcept {
  auto* storage = reinterpret_cast<kernel::Task::WaitvStorage*>(slot.storage);
  if (slot.constructed) {
    std::launder(reinterpret_cast<kernel::Task*>(slot.task))->~Task();
  } else {
    new (storage) kernel::Task::WaitvStorage();
    slot.constructed = true;
  }
  return new (slot.task) kernel::Task(process, tid, *storage);
}

kernel::Task* TaskPool::claim(kernel::Process& process, pid_t tid) noexcept {
  const pid_t pid = static_cast<pid_t>(sync::host_syscall(SYS_getpid));
  for (int round = 0; round < 2; ++round) {
    const std::size_t start = static_cast<std::size_t>(tid) % kSlots;
    for (std::size_t i = 0; i < kSlots; ++i) {
      const std::size_t index = (start + i) % kSlots;
      Slot& slot = slots_[index];
      pid_t owner = slot.owner.load(std::memory_order_acquire);
      // Our own TID on a slot: its thread is dead (we are the live one), and only we can claim
      // it, since nobody else has this TID.
      if (owner == tid) return take(slot, process, tid);
      if (owner == 0 && slot.owner.compare_exchange_strong(owner, tid, std::memory_order_acq_rel)) {
        claimed_[index / 64].fetch_or(std::uint64_t{1} << (index % 64), std::memory_order_relaxed);
        return take(slot, process, tid);
      }
    }
    // Full: take back the slots of threads that have exited.
    for (std::size_t i = 0; i < kSlots; ++i) {
      pid_t owner = slots_[i].owner.load(std::memory_order_acquire);
      if (owner != 0 && sync::host_syscall(SYS_tgkill, pid, owner, 0) == -ESRCH) {
        slots_[i].owner.compare_exchange_strong(owner, 0, std::memory_order_acq_rel);
      }
    }
  }
  return nullptr;
}

void TaskPool::reset_after_fork() noexcept {
  // The child's only thread runs this (check_fork), so relaxed order is enough; a slot whose bit
  // is clear has never had an owner.
  for (std::size_t word = 0; word < kSlots / 64; ++word) {
    std::uint64_t bits = claimed_[word].exchange(0, std::memory_order_relaxed);
    for (; bits != 0; bits &= bits - 1) {
      const std::size_t i = word * 64 + static_cast<std::size_t>(__builtin_ctzll(bits));
      if (slots_[i].owner.load(std::memory_order_relaxed) != 0) {
        slots_[i].owner.store(0, std::memory_order_relaxed);
      }
    }
  }
}

}  // namespace futexbox::tools::agent
