// Task: a guest thread. Process: a thread group with one address space. Both are owned by the
// Kernel, which hands out references; neither is copied or moved.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "kernel/fd_table.h"
#include "kernel/futex_key.h"
#include "kernel/guest_memory.h"
#include "sync/deadline.h"
#include "sync/parking_lot.h"
#include "sync/sharded_wait.h"

namespace futexbox::kernel {

class Process {
 public:
  Process(pid_t pid, std::shared_ptr<GuestMemory> memory, std::uint32_t uid = 0)
      : pid_(pid), uid_(uid), memory_(std::move(memory)) {}
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  // The real user id signals carry as si_uid.
  [[nodiscard]] std::uint32_t uid() const noexcept { return uid_; }
  [[nodiscard]] GuestMemory& memory() const noexcept { return *memory_; }
  // The descriptor table (pipes and eventfds); closed when the process goes away.
  FdTable& files() noexcept { return files_; }

 private:
  pid_t pid_;
  std::uint32_t uid_;
  std::shared_ptr<GuestMemory> memory_;
  FdTable files_;
};

// Saved by an interrupted timed FUTEX_WAIT so restart_syscall(2) can resume it with the same
// absolute deadline (Linux's restart_block.futex).
struct FutexRestartBlock {
  bool armed = false;
  GuestAddr uaddr = 0;
  std::uint32_t val = 0;
  std::uint32_t bitset = 0;
  bool shared = false;
  sync::Deadline deadline;
};

// Saved by an interrupted poll(2) with a timeout: restart_syscall(2) polls again until the same
// deadline (Linux's restart_block.poll).
struct PollRestartBlock {
  bool armed = false;
  GuestAddr fds = 0;
  std::uint32_t nfds = 0;
  sync::Deadline deadline;
};

class Task {
 public:
  using WaitvStorage = sync::ShardedWait<FutexKey, FutexKeyHash>::MultiWaitStorage;

  Task(Process& process, pid_t tid)
      : process_(process), tid_(tid), owned_waitv_storage_(std::make_unique<WaitvStorage>()),
        waitv_storage_(owned_waitv_storage_.get()) {}
  // With the waitv scratch supplied by the embedder: constructing the task then allocates
  // nothing, so an embedder can create tasks where malloc is off limits (a signal handler).
  Task(Process& process, pid_t tid, WaitvStorage& waitv_storage)
      : process_(process), tid_(tid), waitv_storage_(&waitv_storage) {}
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  [[nodiscard]] pid_t tid() const noexcept { return tid_; }
  [[nodiscard]] Process& process() const noexcept { return process_; }
  [[nodiscard]] GuestMemory& memory() const noexcept { return process_.memory(); }

  // The host thread running this task; interruptions poke it. Call from that thread.
  void attach_to_current_thread() noexcept { host_thread_ = sync::current_thread(); }

  // The hook for signal delivery: "an unblocked signal is pending for this task". A blocked futex
  // wait ends with ERESTARTSYS (the syscall layer applies Linux's restart rules); a wake that
  // raced it still wins. Setting the flag before poking is what makes the interruption impossible
  // to lose (the wait re-checks the flag under its bucket lock).
  void interrupt() noexcept {
    interrupt_pending_.store(true, std::memory_order_seq_cst);
    (void)sync::poke(host_thread_);
  }
  [[nodiscard]] bool interrupt_pending() const noexcept {
    return interrupt_pending_.load(std::memory_order_seq_cst);
  }
  void clear_interrupt() noexcept { interrupt_pending_.store(false, std::memory_order_seq_cst); }

  // Robust futex list and clear_child_tid (set_robust_list(2), set_tid_address(2)).
  GuestAddr robust_list_head = 0;
  GuestAddr clear_child_tid = 0;

  FutexRestartBlock futex_restart;
  PollRestartBlock poll_restart;

  // Whether the task is queued in a futex wait right now ("the wait it is in"). Set only after
  // the task has been queued, so anyone who sees it set and then wakes the key finds the task
  // (unless another wake got it first).
  [[nodiscard]] bool in_futex_wait() const noexcept {
    return in_futex_wait_.load(std::memory_order_acquire);
  }
  void set_in_futex_wait(bool value) noexcept {
    in_futex_wait_.store(value, std::memory_order_release);
  }

  // Per-task scratch for futex_waitv's 128 queue nodes, allocated with the task so the wait path
  // allocates nothing.
  WaitvStorage& waitv_storage() noexcept { return *waitv_storage_; }

 private:
  Process& process_;
  pid_t tid_;
  sync::ThreadHandle host_thread_;
  std::atomic<bool> interrupt_pending_{false};
  std::atomic<bool> in_futex_wait_{false};
  std::unique_ptr<WaitvStorage> owned_waitv_storage_;
  WaitvStorage* waitv_storage_;
};

}  // namespace futexbox::kernel
