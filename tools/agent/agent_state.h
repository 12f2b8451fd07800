// The agent's process-wide state: what its constructor builds once (agent.cc) and every SIGSYS
// entry then uses. Built into static storage (no malloc after the constructor), never destroyed.
#pragma once

#include <limits.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "kernel/futex_table.h"
#include "kernel/host_guest_memory.h"
#include "kernel/task.h"
#include "tools/agent/exec_guard.h"
#include "tools/agent/task_pool.h"
#include "tools/protocol/agent_env.h"
#include "tools/protocol/run_stats.h"
#include "tools/protocol/trace_file.h"

namespace futexbox::tools::agent {

struct Agent {
  explicit Agent(std::shared_ptr<kernel::HostGuestMemory> mem)
      : memory(*mem), process(static_cast<pid_t>(getpid()), std::move(mem)) {}
  kernel::HostGuestMemory& memory;
  kernel::Process process;
  // The agent serves the futex family only: a FutexTable, not a whole kernel::Kernel (no signal,
  // pipe or eventfd managers in the guest's address space).
  kernel::FutexTable futexes;
  TaskPool tasks;
  RunStatsPage* stats = nullptr;
  TraceFile trace;  // valid under futexbox trace, and under futexbox run's deadlock watch
  std::atomic<pid_t> pid{0};
  char agent_path[PATH_MAX] = {};
  char audit_path[PATH_MAX] = {};  // the audit module beside the agent; "" if there is none
  // The value of each agent_env::kCarried variable this process was given ("" if none).
  char carried[agent_env::kCarriedCount][PATH_MAX] = {};
  ExecGuardConfig exec_config;
};

// Set by the constructor once everything is in place; null before.
extern Agent* g_agent;

// Bumped by a fork child on its first trap: per-thread state (task, trace slot) of an older
// generation belonged to the parent's threads.
extern std::atomic<std::uint64_t> g_generation;

// A vfork child (posix_spawn) runs on our memory with its own PID and signal table.
bool in_vfork_child(const Agent& agent) noexcept;

}  // namespace futexbox::tools::agent
