#include "kernel/kernel.h"

namespace futexbox::kernel {

Task& Kernel::create_process(std::shared_ptr<GuestMemory> memory, pid_t tid, std::uint32_t uid) {
  Task* ref = nullptr;
  {
    sync::MutexLock lock(mutex_);
    const pid_t pid = tid != 0 ? tid : next_tid_++;
    auto process = std::make_unique<Process>(pid, std::move(memory), uid);
    auto task = std::make_unique<Task>(*process, pid);
    ref = task.get();
    processes_.emplace(pid, std::move(process));
    tasks_.emplace(pid, std::move(task));
  }
  signals_.add_process(*ref, uid);
  return *ref;
}

Task& Kernel::create_thread(Process& process, pid_t tid, abi::sig::SigSet mask) {
  Task* ref = nullptr;
  {
    sync::MutexLock lock(mutex_);
    if (tid == 0) tid = next_tid_++;
    auto task = std::make_unique<Task>(process, tid);
    ref = task.get();
    tasks_.emplace(tid, std::move(task));
  }
  signals_.add_thread(*ref, mask);
  return *ref;
}

Task* Kernel::find_task(pid_t tid) {
  sync::MutexLock lock(mutex_);
  auto it = tasks_.find(tid);
  return it == tasks_.end() ? nullptr : it->second.get();
}

bool Kernel::task_exists(pid_t tid) {
  if (host_task_oracle_ != nullptr) return host_task_oracle_(tid);
  return find_task(tid) != nullptr;
}

std::size_t Kernel::task_count(pid_t pid) {
  sync::MutexLock lock(mutex_);
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

std::size_t Kernel::process_count() {
  sync::MutexLock lock(mutex_);
  return processes_.size();
}

void Kernel::remove_task(Task& task) {
  // Signals first: once unlinked there, no sender can reach the task being destroyed.
  signals_.remove_thread(task);
  std::unique_ptr<Process> last;  // declared first: destroyed after its task
  std::unique_ptr<Task> gone;
  {
    sync::MutexLock lock(mutex_);
    const pid_t pid = task.process().pid();
    auto it = tasks_.find(task.tid());
    if (it == tasks_.end()) return;
    gone = std::move(it->second);
    tasks_.erase(it);
    bool others = false;
    for (const auto& [tid, t] : tasks_) others = others || t->process().pid() == pid;
    auto p = processes_.find(pid);
    if (!others && p != processes_.end() && p->second.get() == &task.process()) {
      last = std::move(p->second);
      processes_.erase(p);
    }
  }
  // Destroyed without the lock: closing the descriptors wakes the other ends of its pipes.
}

}  // namespace futexbox::kernel
