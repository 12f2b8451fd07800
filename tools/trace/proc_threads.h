// What /proc says about a guest's threads, for futexbox trace's naming and deadlock watch: which
// threads a process has now, a thread's scheduler state and, while it is blocked in a syscall,
// its stack pointer. Reading another process's task files needs the ptrace access a parent (or
// root) has; anything unreadable comes back empty.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

namespace futexbox::tools {

// The thread ids of `pid` (empty if it is gone).
std::vector<pid_t> threads_of(pid_t pid);
// The state letter of /proc/PID/task/TID/stat: 'R' running, 'S' sleeping, 'D', 'T', 't', 'Z'...
std::optional<char> thread_state(pid_t pid, pid_t tid);
// The stack pointer /proc/PID/task/TID/syscall shows while the thread is blocked in a syscall
// (or between syscalls, stopped); nullopt while it runs on a CPU or when unreadable.
std::optional<std::uint64_t> thread_stack_pointer(pid_t pid, pid_t tid);

}  // namespace futexbox::tools
