// Legacy waiters: threads that existed before the agent's seccomp filter may already sleep in the
// host kernel on a private futex word. Until each of them has been seen trapping (or has exited),
// every served plain wake is also sent to the host, so none of them can miss it (an extra wake is
// only a spurious one, which every futex user must tolerate). Lock-free: the table is filled by
// the constructor, and entries are only ever cleared.
#pragma once

#include <sys/types.h>

#include "kernel/guest_memory.h"

namespace futexbox::tools::agent {

// Constructor-time: every thread of the process but the caller is a legacy waiter.
void legacy_init() noexcept;
// `tid` trapped: it sleeps in futexbox from now on.
void legacy_seen(pid_t tid) noexcept;
// A served wake on `uaddr` also wakes host waiters that went to sleep before the filter; returns
// how many the host woke.
long legacy_wake(kernel::GuestAddr uaddr) noexcept;
// In a fork child: the parent's threads do not exist here.
void legacy_reset_after_fork() noexcept;

}  // namespace futexbox::tools::agent
