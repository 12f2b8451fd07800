// Kernel: the emulated kernel instance. Owns processes, tasks and the futex table.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <unordered_map>

#include "kernel/futex_table.h"
#include "kernel/guest_memory.h"
#include "kernel/task.h"

namespace futexbox::kernel {

class Kernel {
 public:
  Kernel() = default;
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  // A new thread group over `memory`, with its first task (tid == pid).
  Task& create_process(std::shared_ptr<GuestMemory> memory);
  // A new thread in `process`.
  Task& create_thread(Process& process);
  // The task with thread id `tid`, or null.
  Task* find_task(pid_t tid);
  // Forgets a task (after its exit work is done). The reference dies with it.
  void remove_task(Task& task);

  FutexTable& futexes() noexcept { return futexes_; }

 private:
  FutexTable futexes_;
  std::mutex mutex_;
  pid_t next_tid_ = 1000;  // guarded by mutex_
  std::unordered_map<pid_t, std::unique_ptr<Process>> processes_;  // guarded by mutex_
  std::unordered_map<pid_t, std::unique_ptr<Task>> tasks_;         // guarded by mutex_
};

}  // namespace futexbox::kernel
