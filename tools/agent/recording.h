// Recording: what the agent writes into the trace file (tools/protocol/trace_file.h), from the
// SIGSYS handler, without malloc or locks (each thread appends to its own single-producer ring).
// - Under `futexbox trace` (events): every futex-family call's entry (its registers, the timeout
//   a futex(2) or futex_waitv points at, and up to kTraceWaitvShown futex_waitv entries, all read
//   at entry as strace shows them) and exit (the raw result, restart codes included); threads'
//   and processes' ends; and, when the trace asks for kTraceWaits, the kernel's wait / woken /
//   wake / requeue events for served calls through recording_tracer().
// - Under `futexbox run` (kTraceCallState): only the call each thread is in and the last word it
//   woke, for the deadlock watch.
#pragma once

#include <cstdint>
#include <span>

#include "abi/futex.h"
#include "kernel/tracer.h"
#include "syscalls/futex_call.h"
#include "tools/agent/agent_state.h"
#include "tools/agent/agent_thread.h"

namespace futexbox::tools::agent {

// A futex-family call's entry. `entries` is what the routing read of a futex_waitv's array (empty
// if it read none); the entry reads the entries it shows itself only when the routing did not.
void record_entry(Agent& agent, AgentThread& me, const syscalls::FutexCall& call,
                  const long (&args)[6], std::span<const abi::futex::Waitv> entries) noexcept;
// Its exit: `flags` kTraceServed / kTraceNotRun, `result` the raw rax of this attempt.
void record_exit(Agent& agent, AgentThread& me, const syscalls::FutexCall& call,
                 std::uint16_t flags, long result) noexcept;
// A thread's exit(2), or its process's exit_group(2) with every thread it ends.
void record_end(Agent& agent, AgentThread& me, long nr, long status) noexcept;

// The kernel's tracer hooks for served calls, written to the calling thread's ring.
kernel::Tracer& recording_tracer() noexcept;

}  // namespace futexbox::tools::agent
