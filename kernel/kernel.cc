#include "kernel/kernel.h"

namespace futexbox::kernel {

Task& Kernel::create_process(std::shared_ptr<GuestMemory> memory, pid_t tid) {
  std::lock_guard lock(mutex_);
  const pid_t pid = tid != 0 ? tid : next_tid_++;
  auto process = std::make_unique<Process>(pid, std::move(memory));
  auto task = std::make_unique<Task>(*process, pid);
  Task& ref = *task;
  processes_.emplace(pid, std::move(process));
  tasks_.emplace(pid, std::move(task));
  return ref;
}

Task& Kernel::create_thread(Process& process, pid_t tid) {
  std::lock_guard lock(mutex_);
  if (tid == 0) tid = next_tid_++;
  auto task = std::make_unique<Task>(process, tid);
  Task& ref = *task;
  tasks_.emplace(tid, std::move(task));
  return ref;
}

Task* Kernel::find_task(pid_t tid) {
  std::lock_guard lock(mutex_);
  auto it = tasks_.find(tid);
  return it == tasks_.end() ? nullptr : it->second.get();
}

bool Kernel::task_exists(pid_t tid) {
  if (host_task_oracle_ != nullptr) return host_task_oracle_(tid);
  return find_task(tid) != nullptr;
}

std::size_t Kernel::task_count(pid_t pid) {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [tid, task] : tasks_) n += task->process().pid() == pid;
  return n;
}

void Kernel::exit_task(Task& task) {
  release_futexes(futexes_, task, task_count(task.process().pid()) > 1);
  remove_task(task);
}

void Kernel::exec_task(Task& task) {
  release_futexes(futexes_, task, task_count(task.process().pid()) > 1);
}

void Kernel::remove_task(Task& task) {
  std::lock_guard lock(mutex_);
  tasks_.erase(task.tid());
}

}  // namespace futexbox::kernel
