// Per-thread agent state, in static TLS. A preloaded library gets static (initial-exec) TLS, so
// touching it from the SIGSYS handler never calls __tls_get_addr or malloc; the struct is trivial,
// so it needs no constructor or destructor registration either.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>

#include "kernel/task.h"

namespace futexbox::tools::agent {

enum class Window : std::uint8_t { kNone, kSleep, kForward };

struct AgentThread {
  // The task serving this thread's calls, valid while `generation` matches the process's (a fork
  // child starts a new generation: its only thread needs a task with its new TID).
  kernel::Task* task;
  std::uint64_t generation;
  pid_t tid;
  // The guest believes it blocked SIGSYS (it never really is: see guest_signals.h).
  bool guest_blocks_sigsys;
  // Which window (windows.h) has the guest's signal mask open right now, and that mask. A signal
  // landing in a window is deferred: `deferred_signo` is the first one, which decides between
  // EINTR and a restart; all of them are already queued again to this thread.
  volatile Window window;
  // The process a window was opened in, when that is not the thread's own: an exec from a vfork
  // child (posix_spawn, system(), popen) runs on its parent's thread, TLS included, and a
  // successful exec never comes back to close the window. 0: the thread's own process.
  volatile pid_t window_pid;
  volatile sig_atomic_t forward_skip;
  std::uint64_t guest_mask;
  bool has_deferred;
  int deferred_signo;
  // A futex_waitv mixing private and shared entries also sleeps on the shared words in the host
  // kernel: these are those words, and which of the call's entries woke (-1: none).
  const std::uint32_t* const* host_words;
  const std::uint32_t* host_values;
  const int* host_indices;
  int host_word_count;
  int host_woken_index;
  // futexbox trace: this thread's slot in the trace file (-1: none), valid while
  // `trace_generation` matches the process's, and the ids its records carry.
  int trace_slot;
  std::uint64_t trace_generation;
  pid_t trace_pid;
  pid_t trace_tid;
};

extern thread_local AgentThread t_agent;

}  // namespace futexbox::tools::agent
