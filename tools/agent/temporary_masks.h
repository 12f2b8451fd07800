// Temporary masks: rt_sigsuspend, ppoll, pselect6, epoll_pwait and epoll_pwait2 install a signal
// mask for their duration. glibc's sigfillset leaves only its two internal signals open, so such
// a mask really blocks SIGSYS; a handler that runs inside the call and makes a trapped call
// (rt_sigprocmask, a futex call: a cancelled thread's cleanup does) would then be killed by the
// kernel with "Bad system call". So these calls are trapped too, and issued with SIGSYS taken out
// of the mask they install; the guest sees its own mask (rt_sigprocmask answers from the frame).
//
// How they are issued: not from inside the SIGSYS handler, where a guest handler delivered during
// the call would run on top of the agent, and a cancellation unwinding from it would meet agent
// frames it cannot unwind. The handler abandons its own frames instead: it puts the stack pointer
// on the SIGSYS frame's ucontext and jumps to a stub in the gadget (trusted by the filter), which
// gives the thread the guest's own mask back (the frame's: the handler's blocks nearly every
// signal, and a call without a mask of its own, select() for one, must see SIGCHLD), issues the
// call and then rt_sigreturn on that same frame, the result stored into its rax.
// While the call sleeps, the thread is exactly where a signal handler's return would put it: a
// signal's frame goes below the SIGSYS frame, a guest handler runs as on Linux, and an unwinder
// walking out of it reads the stub's bytes after the `syscall`, `movq $15, %rax; syscall`, which
// libgcc (and every unwinder that follows it) takes for a signal trampoline, with the SIGSYS
// frame's ucontext as the saved context: it continues in the guest's own frames. (That holds for
// rt_sigsuspend, whose only result is EINTR, already in the frame; the others store their result
// first, and an unwinder that reaches their stub ends there, as at a frame without unwind info:
// glibc then still runs the thread's cleanup handlers.) The masks the calls read live in the
// frame's siginfo, which nothing reads after delivery; a restarted call finds them there again.
#pragma once

#include <signal.h>
#include <ucontext.h>

#include "kernel/guest_memory.h"

namespace futexbox::tools::agent {

// Issues the trapped call `nr` described by the SIGSYS frame (`uc`, `info`) with SIGSYS open;
// does not return (the guest resumes after the call). `saved_errno`: the guest's errno, restored
// first. Called on the frame's stack, before anything else of the handler runs.
[[noreturn]] void issue_with_sigsys_open(kernel::GuestMemory& memory, ucontext_t* uc,
                                         siginfo_t* info, long nr, int saved_errno) noexcept;

}  // namespace futexbox::tools::agent
