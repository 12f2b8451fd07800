// SignalManager: the signal state of every guest process and thread, and the rules Linux applies
// to it (kernel/signal.c): actions, masks, pending sets and queues, target selection, delivery.
//
// Why a per-key manager and not the shared wait slots. A signal's state is unique to its key (a
// process's 64 actions and shared queue, a thread's mask, queue and alternate stack) and must be
// removed exactly once when the key dies; that is what docs/wait-table.md keeps per-key
// managers for. The state lives in two oneTBB concurrent_hash_maps (pid -> process, tid -> thread;
// the C++ counterpart of the DashMap the design names), so lookups by unrelated senders never
// serialise on one lock; signal queues are Boost small_vectors (a few entries inline).
//
// Locking protocol ("data owned by its lock"). Each process has one mutex, Linux's siglock: it
// guards the process's actions, shared queue and group-exit state and every one of its threads'
// masks, queues and alternate stacks. A map accessor is held only to copy a shared_ptr out, never
// while taking a siglock, so the maps' internal locks and siglocks never nest. A thread's Task is
// only touched (interrupted) with its process's siglock held, and remove_thread unlinks it under
// that lock, so no sender can reach a Task that is being destroyed.
//
// Why no signal is lost. A sender queues the signal and then, under the same siglock, interrupts a
// thread that can take it (Task::interrupt: flag first, then poke). Every wait in the kernel (futex,
// pipe, eventfd, rt_sigtimedwait, rt_sigsuspend, poll) re-checks that flag under the lock its waker
// takes, so either the wait sees the flag or the poke finds it parked. recalc() clears the flag
// only under the siglock, when nothing deliverable is left, and every change that can make a
// signal deliverable (send, unblock, a temporary mask) runs recalc() under that lock too.
//
// What the embedder does. After each syscall it calls next_delivery() until it returns nothing
// and acts on each answer: run the guest handler (with the masks and stack the answer gives, then
// restore_mask() at rt_sigreturn), or carry out a default action: terminate, dump core, stop,
// continue. The restart rules (syscalls/restart.h) take `handler` and SA_RESTART from it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "kernel/error_or.h"
#include "abi/signal.h"
#include "sync/deadline.h"

namespace futexbox::kernel {

class Task;

// What next_delivery() asks the embedder to do.
struct SignalDelivery {
  enum class Action : std::uint8_t { kHandler, kTerminate, kCoreDump, kStop, kContinue };
  Action action = Action::kHandler;
  int signo = 0;
  abi::sig::SigInfo info;
  // kHandler: the action as it was when the signal was taken (before SA_RESETHAND reset it).
  abi::sig::SigAction handler;
  // kHandler: the thread's mask while the handler runs (already in force), and the mask
  // rt_sigreturn must restore (restore_mask): the pre-handler mask, or the one rt_sigsuspend /
  // ppoll saved.
  abi::sig::SigSet handler_mask = 0;
  abi::sig::SigSet restore_mask = 0;
  // kHandler with SA_ONSTACK and an alternate stack configured: run the handler on it.
  bool on_alternate_stack = false;
  abi::sig::StackT alternate_stack;
  // kTerminate / kCoreDump: every thread of the process is ending (its other threads get the same
  // answer from their next call).
  bool group_exit = false;

  [[nodiscard]] bool runs_handler() const noexcept { return action == Action::kHandler; }
  [[nodiscard]] bool sa_restart() const noexcept {
    return (handler.flags & abi::sig::kSaRestart) != 0;
  }
};

class SignalManager {
 public:
  SignalManager();
  ~SignalManager();
  SignalManager(const SignalManager&) = delete;
  SignalManager& operator=(const SignalManager&) = delete;

  // Lifecycle. A process's state exists from its first task to the removal of its last one.
  void add_process(Task& first, std::uint32_t uid);
  // A new thread starts with `mask` (Linux: the creating thread's mask).
  void add_thread(Task& task, abi::sig::SigSet mask = 0);
  // Unlinks the thread; the last thread of a process takes the process's state with it.
  void remove_thread(Task& task);
  [[nodiscard]] std::size_t process_count() const;
  [[nodiscard]] std::size_t thread_count() const;
  // Queued siginfo entries, counted against the pending-signal limit (RLIMIT_SIGPENDING).
  [[nodiscard]] std::size_t queued_count() const noexcept;
  void set_queue_limit(std::size_t limit) noexcept;

  // rt_sigaction: EINVAL for a bad number or a handler for SIGKILL/SIGSTOP. Unknown sa_flags bits
  // are cleared; making a signal ignored discards its pending instances.
  ErrorOr<void> set_action(Task& task, int sig, const abi::sig::SigAction* act,
                           abi::sig::SigAction* old);
  // rt_sigprocmask: how is SIG_BLOCK (0), SIG_UNBLOCK (1) or SIG_SETMASK (2), else EINVAL.
  ErrorOr<void> change_mask(Task& task, int how, const abi::sig::SigSet* set,
                            abi::sig::SigSet* old);
  [[nodiscard]] abi::sig::SigSet mask(Task& task);
  // rt_sigpending: blocked signals pending for the thread or its process.
  [[nodiscard]] abi::sig::SigSet pending(Task& task);

  // kill(2): pid > 0 (a process, or the process of thread `pid`), 0 (the caller's process),
  // -1 (every process but the caller's), < -1 (process group -pid; each process is its own
  // group here). sig 0 checks only.
  ErrorOr<void> kill(Task& sender, pid_t pid, int sig);
  // tgkill(2) / tkill(2) (tgid -1): thread-directed, si_code SI_TKILL.
  ErrorOr<void> tgkill(Task& sender, pid_t tgid, pid_t tid, int sig);
  // rt_sigqueueinfo(2) / rt_tgsigqueueinfo(2): the caller's siginfo, which may claim to be from
  // the kernel or kill() only when sent to the caller itself (EPERM).
  ErrorOr<void> queue_info(Task& sender, pid_t pid, int sig, abi::sig::SigInfo info);
  ErrorOr<void> tg_queue_info(Task& sender, pid_t tgid, pid_t tid, int sig,
                              abi::sig::SigInfo info);
  // A signal the kernel raises at a thread (SIGPIPE from a write to a pipe without readers).
  void raise_on_thread(Task& target, int sig);

  // rt_sigtimedwait: the number of a signal in `set` taken from the pending queues (its siginfo in
  // `info`), waiting until `deadline` (`poll_only`: not at all). EAGAIN when the time runs out,
  // EINTR when another signal interrupts the wait.
  ErrorOr<int> timed_wait(Task& task, abi::sig::SigSet set, abi::sig::SigInfo& info,
                          const sync::Deadline& deadline, bool poll_only);
  // rt_sigsuspend: waits with `mask` in force until a signal is deliverable; always
  // ERESTARTNOHAND (the handler then runs with the saved mask restored by rt_sigreturn).
  Errno suspend(Task& task, abi::sig::SigSet mask);
  // ppoll / pselect's temporary mask: in force until the syscall returns. The embedder's
  // next_delivery() restores the saved one (at once if no handler runs).
  void set_temporary_mask(Task& task, abi::sig::SigSet mask);
  // The syscall ended without a signal to handle: the saved mask is back in force now.
  void end_temporary_mask(Task& task);
  // sigaltstack(2). `sp` is the guest's stack pointer if the embedder knows it (EPERM when it is on
  // the alternate stack being changed), else 0.
  ErrorOr<void> alternate_stack(Task& task, const abi::sig::StackT* ss,
                                abi::sig::StackT* old, std::uint64_t sp = 0);

  // The next signal to act on for `task`, dequeued (see the file comment), or nothing.
  std::optional<SignalDelivery> next_delivery(Task& task);
  // rt_sigreturn's half: the mask a handler's frame saved.
  void restore_mask(Task& task, abi::sig::SigSet mask);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace futexbox::kernel
