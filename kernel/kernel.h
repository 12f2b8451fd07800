// Kernel: the emulated kernel instance. Owns processes, tasks, the futex table, the signal and pipe
// managers and the eventfd wait table. A process lives from create_process() to the removal of its last
// task, which takes its signal state and its descriptors (and so its pipe ends) with it.
#pragma once

#include <sys/types.h>

#include <memory>
#include <unordered_map>

#include "kernel/eventfd.h"
#include "kernel/futex_table.h"
#include "kernel/guest_memory.h"
#include "kernel/pipe.h"
#include "kernel/signal_manager.h"
#include "kernel/task.h"
#include "kernel/thread_exit.h"
#include "sync/mutex.h"

namespace futexbox::kernel {

class Kernel {
 public:
  Kernel() = default;
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  // A new thread group over `memory`, with its first task (tid == pid). With `tid` 0 the kernel
  // picks the id; an embedder may instead name tasks after the host threads that run them (the
  // in-process agent does, so TIDs in futex words mean the same to the guest and to futexbox).
  // `uid` is the real user id its signals carry.
  Task& create_process(std::shared_ptr<GuestMemory> memory, pid_t tid = 0, std::uint32_t uid = 0);
  // A new thread in `process` (tid as above), starting with signal mask `mask` (Linux: its
  // creator's).
  Task& create_thread(Process& process, pid_t tid = 0, abi::sig::SigSet mask = 0);
  // The task with thread id `tid`, or null.
  Task* find_task(pid_t tid);
  // The thread-exit hook: robust-list walk, then clear_child_tid (kernel/thread_exit.h), then the
  // task is forgotten (the reference dies with it). The embedder calls it as the thread ends,
  // whether by exit(2), exit_group(2) or a fatal signal.
  void exit_task(Task& task);
  // The exec hook: the same futex release, the task lives on in its new image.
  void exec_task(Task& task);
  // Forgets a task without any exit work.
  void remove_task(Task& task);
  // Whether a thread with id `tid` exists, as FUTEX_LOCK_PI's owner check asks (ESRCH if not):
  // a task of this kernel, or, when the embedder runs guests on host threads it does not register
  // as tasks, a host thread the embedder's oracle vouches for. (The agent, which creates tasks
  // lazily, serves the futex family without a Kernel and passes its check to
  // syscalls::dispatch_futex instead.) The oracle may be called where malloc and locks are off
  // limits; it must be async-signal-safe.
  bool task_exists(pid_t tid);
  void set_host_task_oracle(bool (*exists)(pid_t tid)) noexcept { host_task_oracle_ = exists; }
  // Live tasks of the process with id `pid`.
  std::size_t task_count(pid_t pid);
  // Live processes (for leak checks).
  std::size_t process_count();

  FutexTable& futexes() noexcept { return futexes_; }
  // The tracer every syscall and futex event is reported to (kernel/tracer.h); null detaches.
  void set_tracer(Tracer* tracer) noexcept { futexes_.set_tracer(tracer); }
  [[nodiscard]] Tracer* tracer() const noexcept { return futexes_.tracer(); }
  SignalManager& signals() noexcept { return signals_; }
  PipeManager& pipes() noexcept { return pipes_; }
  EventFdWaits& eventfd_waits() noexcept { return eventfd_waits_; }

 private:
  // Declared before the processes: their descriptors' files refer to these.
  FutexTable futexes_;
  SignalManager signals_;
  PipeManager pipes_;
  EventFdWaits eventfd_waits_;
  bool (*host_task_oracle_)(pid_t) = nullptr;
  sync::Mutex mutex_;
  pid_t next_tid_ FUTEXBOX_GUARDED_BY(mutex_) = 1000;
  std::unordered_map<pid_t, std::unique_ptr<Process>> processes_ FUTEXBOX_GUARDED_BY(mutex_);
  std::unordered_map<pid_t, std::unique_ptr<Task>> tasks_ FUTEXBOX_GUARDED_BY(mutex_);
};

}  // namespace futexbox::kernel
