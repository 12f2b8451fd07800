// poll_files: the waiting half of poll(2) and ppoll(2) over a process's descriptor table.
//
// Each file has its own WakePoint (File::poll_point) that every change to its readiness notifies.
// A poller counts itself in on the points of the files it polls and parks on all of them at once
// (parking_lot::park_multiple), re-checking each file's readiness under that point's bucket lock,
// so a change between its scan and its sleep is never missed (sync/wake_point.h). A poll of more
// distinct files than one park can hold waits on the one wide point every file also notifies.
#pragma once

#include <cstdint>
#include <span>

#include "kernel/error_or.h"
#include "kernel/fd_table.h"
#include "sync/deadline.h"

namespace futexbox::kernel {

class Task;

struct PollEntry {
  int fd = -1;
  std::uint32_t events = 0;
  std::uint32_t revents = 0;
};

// Fills every entry's revents (POLLNVAL for a descriptor that is not open; nothing for fd < 0) and
// returns how many are non-zero, waiting until one is, the deadline passes (0) or the task is
// interrupted (EINTR; the syscall layer picks the restart code).
ErrorOr<int> poll_files(Task& task, FdTable& files, std::span<PollEntry> entries,
                        const sync::Deadline& deadline);

}  // namespace futexbox::kernel
