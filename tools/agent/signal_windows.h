// Windows: the only stretches of the SIGSYS handler in which the guest's signals are open.
//
// The handler runs with kHandlerMask blocked, so no guest signal handler can run on top of the
// agent while it holds a bucket lock or a half-built queue entry (the lot is not reentrant). A call
// that may block has to be interruptible, though, as it is on Linux. Two windows open the guest's
// own mask (the one saved in the SIGSYS frame):
//
// - kSleep, a served wait asleep in the parking lot (the parker's sleep hooks open and close it).
//   A signal there is deferred: the handler queues it again to this thread (where it stays pending
//   until the SIGSYS handler returns), closes the mask and pokes the thread's parker. The poke
//   changes the parker's futex word, so a sleep that had not started yet fails at once with
//   EAGAIN, and one in progress wakes (or is restarted by the host and then fails with EAGAIN):
//   the poke cannot be lost. The wait then ends with a restart code, unless a wake got there first
//   (then it returns 0 and the signal is still delivered afterwards, as on Linux when a wake and a
//   signal race).
//
// - kForward, a forwarded call in the host kernel. It is issued from forward_syscall, an assembly
//   stub inside the seccomp-allowed gadget section. A signal before its `syscall` instruction
//   (the handler sees the interrupted RIP in [window, insn]) or one after which the host decided to
//   restart the call (it rewinds RIP to insn) makes the stub return kForwardNotRun without
//   entering the host; one that interrupted the call leaves the host's -EINTR; one after it
//   finished leaves the result. A flag checked just before the window covers signals that land
//   between opening the mask and the stub.
//
// Either way the guest ends up exactly where Linux would put it: its syscall returns (result or
// EINTR) or is restarted (RIP rewound, so it traps again), and then the deferred signal is
// delivered by the host when the SIGSYS handler returns, to the guest's own handler, on the guest's
// own frame. Guest handlers never run nested inside the agent, so they may longjmp or be unwound by
// thread cancellation freely.
#pragma once

#include <signal.h>
#include <ucontext.h>

#include <cstdint>

#include "kernel/guest_memory.h"
#include "sync/thread_parker.h"
#include "tools/agent/agent_thread.h"

namespace futexbox::tools::agent {

// What a forwarded call returns if a signal came before the host ran it: rewind and deliver.
inline constexpr long kForwardNotRun = -4096;

// Issues `nr` to the host with the guest's mask `guest_mask` open.
long forward_in_window(AgentThread& me, long nr, const long (&args)[6]) noexcept;

// From GuestSignals::entry, for a signal that landed in an open window.
void defer_signal(AgentThread& me, const siginfo_t& info, ucontext_t* uc) noexcept;

// Once at startup, after the gadget has been relocated: the memory the sleep hook reads shared
// waitv words through, and where the forward stub runs.
void init_windows(kernel::GuestMemory& memory) noexcept;
kernel::GuestMemory& window_memory() noexcept;

// The parking lot's sleep hooks: open the kSleep window; sleep on the host words of a mixed
// futex_waitv too.
const sync::ParkSleepHooks& sleep_hooks() noexcept;

}  // namespace futexbox::tools::agent
