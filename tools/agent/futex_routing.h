// Futex routing: whether the agent serves a futex-family call or forwards it to the host kernel,
// and doing so.
//
// Linux keeps private futex keys (mm, address) and shared ones apart: a private wake never reaches
// a shared waiter. The wakes the host kernel issues on its own (clear_child_tid at thread exit,
// the robust-list walk) are shared. So every private op is served here and every shared op goes
// to the host unchanged, and both sides see all of the ops on their keys. futex_requeue(2) with
// two private (or two shared) words goes to one side; with mixed ones it is served (Linux's answer
// is EINVAL). A futex_waitv mixing both is served, with the shared entries also slept on in the
// host (signal_windows.h): a wake on either side ends it. A call whose words cannot be read or
// that Linux refuses before reading them is served, so the guest gets Linux's errno.
//
// What a call is comes from its description (syscalls/futex_call.h); a futex_waitv's or
// futex_requeue's array is read once here and handed on to the trace recording and to the
// handler that serves it (syscalls::dispatch_futex), so the call is decoded from one copy.
#pragma once

#include "syscalls/futex_call.h"
#include "tools/agent/agent_state.h"
#include "tools/agent/agent_thread.h"

namespace futexbox::tools::agent {

// Serves or forwards the call (recording its entry when a trace is taken); returns what goes into
// rax, possibly a restart code or kForwardNotRun, which the SIGSYS entry resolves. `call` ends up
// with its key kind settled (served: anything but kShared).
long route_futex_call(Agent& agent, AgentThread& me, syscalls::FutexCall& call,
                      const long (&args)[6]) noexcept;

// The task serving the calling thread, claimed from the pool on its first trap (or its first in a
// fork child); null if no chunk of slots can be mapped.
kernel::Task* current_task(Agent& agent, AgentThread& me) noexcept;

// The run counters for a finished call (`rax` after the restart rules).
void count_futex_call(Agent& agent, const syscalls::FutexCall& call, long rax) noexcept;

}  // namespace futexbox::tools::agent
