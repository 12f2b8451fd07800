// Descriptor syscalls over a process's FdTable: pipe, pipe2, eventfd, eventfd2, read, write,
// readv, writev, close, dup, dup2, dup3, fcntl, ioctl, poll, ppoll. Checks in Linux's order
// (fs/read_write.c, fs/file.c, fs/fcntl.c, fs/select.c, fs/pipe.c, fs/eventfd.c).
#include <chrono>
#include <limits>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "kernel/eventfd.h"
#include "kernel/pipe.h"
#include "kernel/poll.h"
#include "abi/futex.h"
#include "abi/time.h"
#include "syscalls/handlers.h"
#include "syscalls/timeout.h"

namespace futexbox::syscalls {

using kernel::Errno;
using kernel::File;
using kernel::GuestAddr;
using kernel::IoSegment;
using kernel::IoVector;
namespace fa = kernel::file_abi;

namespace {

constexpr std::uint64_t kTaskSizeMax = 0x7ffffffff000ull;  // x86-64, 4-level paging
constexpr std::uint64_t kMaxRwCount = 0x7ffff000ull;      // INT_MAX & PAGE_MASK
constexpr std::uint64_t kMaxIov = 1024;                    // UIO_MAXIOV
constexpr std::uint32_t kFdCloexec = 1;

bool access_ok(GuestAddr addr, std::uint64_t size) noexcept {
  return size <= kTaskSizeMax && addr <= kTaskSizeMax - size;
}

// The description behind `fd`, held for the call (Linux's fdget); null means EBADF.
std::shared_ptr<File> lookup(Task& task, std::int32_t fd) {
  return task.process().files().get(fd);
}

// vfs_read / vfs_write / vfs_readv / vfs_writev after the buffers are known.
ErrorOr<std::int64_t> transfer(Kernel& kernel, Task& task, File& file, bool write,
                               std::span<const IoSegment> segments) {
  IoVector iov(task.memory(), segments);
  kernel::FileIo io{task, kernel.signals()};
  return write ? file.write(io, iov) : file.read(io, iov);
}

ErrorOr<std::int64_t> read_or_write(Kernel& kernel, Task& task, const SyscallArgs& args,
                                    bool write) {
  const std::shared_ptr<File> file = lookup(task, args.i32(0));
  if (file == nullptr) return Errno::kEBADF;
  if (write ? !file->writable() : !file->readable()) return Errno::kEBADF;
  std::uint64_t count = args.u64(2);
  if (!access_ok(args.addr(1), count)) return Errno::kEFAULT;
  if (count > kMaxRwCount) count = kMaxRwCount;
  const IoSegment one{args.addr(1), static_cast<std::size_t>(count)};
  return transfer(kernel, task, *file, write, std::span(&one, 1));
}

ErrorOr<std::int64_t> vectored(Kernel& kernel, Task& task, const SyscallArgs& args, bool write) {
  const std::shared_ptr<File> file = lookup(task, args.i32(0));
  if (file == nullptr) return Errno::kEBADF;
  if (write ? !file->writable() : !file->readable()) return Errno::kEBADF;
  const std::uint64_t count = args.u64(2);
  if (count == 0) return 0;
  if (count > kMaxIov) return Errno::kEINVAL;
  struct GuestIovec {
    std::uint64_t base;
    std::uint64_t len;
  };
  boost::container::small_vector<GuestIovec, 8> raw(static_cast<std::size_t>(count));
  FUTEXBOX_TRY(task.memory().copy_in(args.addr(1), raw.data(), raw.size() * sizeof(GuestIovec)));
  boost::container::small_vector<IoSegment, 8> segments;
  std::uint64_t total = 0;
  for (const GuestIovec& v : raw) {
    if (static_cast<std::int64_t>(v.len) < 0) return Errno::kEINVAL;
  }
  for (const GuestIovec& v : raw) {
    std::uint64_t len = v.len;
    if (!access_ok(v.base, len)) return Errno::kEFAULT;
    if (len > kMaxRwCount - total) len = kMaxRwCount - total;
    total += len;
    segments.push_back(IoSegment{v.base, static_cast<std::size_t>(len)});
  }
  if (total == 0) return 0;
  return transfer(kernel, task, *file, write, std::span<const IoSegment>(segments.data(), segments.size()));
}

struct GuestPollFd {
  std::int32_t fd;
  std::int16_t events;
  std::int16_t revents;
};
static_assert(sizeof(GuestPollFd) == 8);

// do_sys_poll: copy in, poll, copy the revents back. EINTR when interrupted.
ErrorOr<std::int64_t> do_poll(Task& task, GuestAddr ufds, std::uint64_t nfds,
                              const sync::Deadline& deadline) {
  if (nfds > static_cast<std::uint64_t>(kernel::FdTable::kMaxDescriptors)) return Errno::kEINVAL;
  std::vector<GuestPollFd> raw(static_cast<std::size_t>(nfds));
  if (nfds != 0) {
    FUTEXBOX_TRY(task.memory().copy_in(ufds, raw.data(), raw.size() * sizeof(GuestPollFd)));
  }
  std::vector<kernel::PollEntry> entries(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    entries[i].fd = raw[i].fd;
    entries[i].events = static_cast<std::uint16_t>(raw[i].events);
  }
  const ErrorOr<int> ready =
      kernel::poll_files(task, task.process().files(), entries, deadline);
  if (!ready) return ready.error();
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const auto revents = static_cast<std::int16_t>(entries[i].revents);
    FUTEXBOX_TRY(task.memory().copy_out(ufds + i * sizeof(GuestPollFd) + 6, &revents, 2));
  }
  return ready.value();
}

}  // namespace

ErrorOr<std::int64_t> sys_read(Kernel& kernel, Task& task, const SyscallArgs& args) {
  return read_or_write(kernel, task, args, false);
}
ErrorOr<std::int64_t> sys_write(Kernel& kernel, Task& task, const SyscallArgs& args) {
  return read_or_write(kernel, task, args, true);
}
ErrorOr<std::int64_t> sys_readv(Kernel& kernel, Task& task, const SyscallArgs& args) {
  return vectored(kernel, task, args, false);
}
ErrorOr<std::int64_t> sys_writev(Kernel& kernel, Task& task, const SyscallArgs& args) {
  return vectored(kernel, task, args, true);
}

ErrorOr<std::int64_t> sys_pipe2(Kernel& kernel, Task& task, const SyscallArgs& args) {
  const std::uint32_t flags = args.nr == 22 ? 0 : args.u32(1);  // pipe(2) is pipe2(fds, 0)
  if ((flags & ~(fa::kCloexec | fa::kNonblock | fa::kDirect)) != 0) return Errno::kEINVAL;
  kernel::PipeFiles files = kernel.pipes().create(flags);
  kernel::FdTable& table = task.process().files();
  const auto [rfd, wfd] = FUTEXBOX_TRY(table.install_pair(
      std::move(files.read_end), std::move(files.write_end), (flags & fa::kCloexec) != 0));
  const std::int32_t fds[2] = {rfd, wfd};
  if (!task.memory().copy_out(args.addr(0), fds, sizeof(fds))) {
    (void)table.close(rfd);
    (void)table.close(wfd);
    return Errno::kEFAULT;
  }
  return 0;
}

ErrorOr<std::int64_t> sys_eventfd2(Kernel& kernel, Task& task, const SyscallArgs& args) {
  const std::uint32_t flags = args.nr == 284 ? 0 : args.u32(1);  // eventfd(2) has no flags
  if ((flags & ~(fa::kCloexec | fa::kNonblock | kernel::EventFd::kSemaphore)) != 0) {
    return Errno::kEINVAL;
  }
  auto file = std::make_shared<kernel::EventFd>(kernel.eventfd_waits(), args.u32(0), flags);
  return FUTEXBOX_TRY(task.process().files().install(std::move(file), (flags & fa::kCloexec) != 0));
}

ErrorOr<std::int64_t> sys_close(Kernel&, Task& task, const SyscallArgs& args) {
  FUTEXBOX_TRY(task.process().files().close(args.i32(0)));
  return 0;
}

ErrorOr<std::int64_t> sys_dup(Kernel&, Task& task, const SyscallArgs& args) {
  std::shared_ptr<File> file = lookup(task, args.i32(0));
  if (file == nullptr) return Errno::kEBADF;
  return FUTEXBOX_TRY(task.process().files().install(std::move(file), false));
}

ErrorOr<std::int64_t> sys_dup2(Kernel&, Task& task, const SyscallArgs& args) {
  const std::int32_t oldfd = args.i32(0);
  const std::int32_t newfd = args.i32(1);
  if (oldfd == newfd) {
    if (lookup(task, oldfd) == nullptr) return Errno::kEBADF;
    return newfd;
  }
  return FUTEXBOX_TRY(task.process().files().duplicate_to(oldfd, newfd, false));
}

ErrorOr<std::int64_t> sys_dup3(Kernel&, Task& task, const SyscallArgs& args) {
  const std::uint32_t flags = args.u32(2);
  if ((flags & ~fa::kCloexec) != 0) return Errno::kEINVAL;
  if (args.i32(0) == args.i32(1)) return Errno::kEINVAL;
  return FUTEXBOX_TRY(
      task.process().files().duplicate_to(args.i32(0), args.i32(1), (flags & fa::kCloexec) != 0));
}

ErrorOr<std::int64_t> sys_fcntl(Kernel&, Task& task, const SyscallArgs& args) {
  constexpr std::uint32_t kDupFd = 0, kGetFd = 1, kSetFd = 2, kGetFl = 3, kSetFl = 4,
                          kDupFdCloexec = 1030, kSetPipeSz = 1031, kGetPipeSz = 1032;
  const std::int32_t fd = args.i32(0);
  std::shared_ptr<File> file = lookup(task, fd);
  if (file == nullptr) return Errno::kEBADF;
  kernel::FdTable& table = task.process().files();
  switch (args.u32(1)) {
    case kDupFd:
    case kDupFdCloexec: {
      const std::uint64_t min = args.u64(2);
      if (min >= static_cast<std::uint64_t>(kernel::FdTable::kMaxDescriptors)) {
        return Errno::kEINVAL;
      }
      return FUTEXBOX_TRY(
          table.install(std::move(file), args.u32(1) == kDupFdCloexec, static_cast<int>(min)));
    }
    case kGetFd:
      return FUTEXBOX_TRY(table.cloexec(fd)) ? kFdCloexec : 0;
    case kSetFd:
      FUTEXBOX_TRY(table.set_cloexec(fd, (args.u64(2) & kFdCloexec) != 0));
      return 0;
    case kGetFl:
      return file->flags();
    case kSetFl:
      file->set_flags(args.u32(2));
      file->notify_poll();
      return 0;
    case kSetPipeSz:
      if (file->pipe() == nullptr) return Errno::kEBADF;
      return file->pipe()->set_capacity(args.u64(2));
    case kGetPipeSz:
      if (file->pipe() == nullptr) return Errno::kEBADF;
      return static_cast<std::int64_t>(file->pipe()->capacity());
    default:
      return Errno::kEINVAL;
  }
}

ErrorOr<std::int64_t> sys_ioctl(Kernel&, Task& task, const SyscallArgs& args) {
  constexpr std::uint32_t kFionclex = 0x5450, kFioclex = 0x5451, kFionbio = 0x5421;
  const std::int32_t fd = args.i32(0);
  std::shared_ptr<File> file = lookup(task, fd);
  if (file == nullptr) return Errno::kEBADF;
  switch (args.u32(1)) {
    case kFioclex:
    case kFionclex:
      FUTEXBOX_TRY(task.process().files().set_cloexec(fd, args.u32(1) == kFioclex));
      return 0;
    case kFionbio: {
      const std::int32_t on = FUTEXBOX_TRY(task.memory().read<std::int32_t>(args.addr(2)));
      const std::uint32_t flags = file->flags();
      file->set_flags(on != 0 ? flags | fa::kNonblock : flags & ~fa::kNonblock);
      return 0;
    }
    default:
      return file->ioctl(task, args.u32(1), args.addr(2));
  }
}

ErrorOr<std::int64_t> sys_poll(Kernel&, Task& task, const SyscallArgs& args) {
  const std::int32_t timeout_ms = args.i32(2);
  const sync::Deadline deadline = timeout_ms >= 0
                                      ? sync::Deadline::after(std::chrono::milliseconds(timeout_ms))
                                      : sync::Deadline::never();
  const ErrorOr<std::int64_t> r = do_poll(task, args.addr(0), args.u32(1), deadline);
  if (r || r.error() != Errno::kEINTR) return r;
  if (timeout_ms < 0) return Errno::kERESTARTNOHAND;
  // restart_syscall(2) polls again until the same deadline (do_restart_poll).
  task.futex_restart.armed = false;
  task.poll_restart = kernel::PollRestartBlock{true, args.addr(0), args.u32(1), deadline};
  return Errno::kERESTART_RESTARTBLOCK;
}

ErrorOr<std::int64_t> restart_poll(Kernel&, Task& task) {
  const kernel::PollRestartBlock block = task.poll_restart;
  task.poll_restart.armed = false;
  const ErrorOr<std::int64_t> r = do_poll(task, block.fds, block.nfds, block.deadline);
  if (r || r.error() != Errno::kEINTR) return r;
  task.poll_restart = block;
  return Errno::kERESTART_RESTARTBLOCK;
}

ErrorOr<std::int64_t> sys_ppoll(Kernel& kernel, Task& task, const SyscallArgs& args) {
  sync::Deadline deadline = sync::Deadline::never();
  std::int64_t timeout_ns = -1;
  if (args.addr(2) != 0) {
    timeout_ns = FUTEXBOX_TRY(read_relative_timeout_ns(task, args.addr(2)));
    deadline = sync::Deadline::after(std::chrono::nanoseconds(timeout_ns));
  }
  const bool masked = args.addr(3) != 0;
  if (masked) {
    if (args.u64(4) != sizeof(abi::sig::SigSet)) return Errno::kEINVAL;
    const auto mask = FUTEXBOX_TRY(task.memory().read<abi::sig::SigSet>(args.addr(3)));
    kernel.signals().set_temporary_mask(task, mask);
  }
  ErrorOr<std::int64_t> r = do_poll(task, args.addr(0), args.u32(1), deadline);
  const bool interrupted = !r && r.error() == Errno::kEINTR;
  if (interrupted) r = Errno::kERESTARTNOHAND;
  // poll_select_finish: the mask stays for the handler only if a signal interrupted the call.
  if (masked && !interrupted) kernel.signals().end_temporary_mask(task);
  if (timeout_ns > 0) {
    // The time left is written back (not for a zero timeout); a fault turns a restart into EINTR.
    const std::int64_t left = deadline.remaining_ns();
    const abi::Timespec rest{left / 1'000'000'000, left % 1'000'000'000};
    if (!task.memory().copy_out(args.addr(2), &rest, sizeof(rest)) && interrupted) {
      return Errno::kEINTR;
    }
  }
  return r;
}

}  // namespace futexbox::syscalls
