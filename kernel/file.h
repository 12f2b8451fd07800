// File: an open file description (Linux's struct file) as descriptors share it: status flags,
// read/write, poll readiness. Pipe ends and eventfds implement it; the descriptor table
// (kernel/fd_table.h) maps descriptor numbers to shared references, and the last reference going
// away is Linux's final fput: a pipe end's release runs in its destructor.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "kernel/error_or.h"
#include "kernel/io_vector.h"
#include "sync/wake_point.h"

namespace futexbox::kernel {

class Task;
class SignalManager;
class Pipe;

// open(2) flags and poll(2) events, Linux x86-64 values.
namespace file_abi {
inline constexpr std::uint32_t kReadOnly = 0, kWriteOnly = 1, kReadWrite = 2, kAccessMode = 3;
inline constexpr std::uint32_t kAppend = 0x400, kNonblock = 0x800, kAsync = 0x2000,
                               kDirect = 0x4000, kNoatime = 0x40000, kCloexec = 0x80000;
// What F_SETFL may change (SETFL_MASK, plus FASYNC).
inline constexpr std::uint32_t kSettable = kAppend | kNonblock | kAsync | kDirect | kNoatime;
inline constexpr std::uint32_t kPollIn = 0x1, kPollPri = 0x2, kPollOut = 0x4, kPollErr = 0x8,
                               kPollHup = 0x10, kPollNval = 0x20, kPollRdNorm = 0x40,
                               kPollWrNorm = 0x100;
}  // namespace file_abi

// What a read or write needs besides its buffers.
struct FileIo {
  Task& task;
  SignalManager& signals;  // for SIGPIPE
};

class File {
 public:
  explicit File(std::uint32_t flags) noexcept : flags_(flags) {}
  virtual ~File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  [[nodiscard]] std::uint32_t flags() const noexcept {
    return flags_.load(std::memory_order_relaxed);
  }
  // F_SETFL: replaces the settable flags, keeps the rest.
  void set_flags(std::uint32_t flags) noexcept {
    std::uint32_t cur = this->flags();
    while (!flags_.compare_exchange_weak(
        cur, (cur & ~file_abi::kSettable) | (flags & file_abi::kSettable),
        std::memory_order_relaxed)) {
    }
  }
  [[nodiscard]] bool nonblocking() const noexcept { return (flags() & file_abi::kNonblock) != 0; }
  [[nodiscard]] bool readable() const noexcept {
    return (flags() & file_abi::kAccessMode) != file_abi::kWriteOnly;
  }
  [[nodiscard]] bool writable() const noexcept {
    return (flags() & file_abi::kAccessMode) != file_abi::kReadOnly;
  }

  // The byte count moved, or an Errno (EAGAIN, ERESTARTSYS, EFAULT, EPIPE, ...). The caller has
  // checked the access mode.
  virtual ErrorOr<std::int64_t> read(FileIo& io, IoVector& to) noexcept = 0;
  virtual ErrorOr<std::int64_t> write(FileIo& io, IoVector& from) noexcept = 0;
  // The poll(2) events that hold right now.
  [[nodiscard]] virtual std::uint32_t poll_events() const noexcept = 0;
  // ioctl(2); ENOTTY for anything the file does not know.
  virtual ErrorOr<std::int64_t> ioctl(Task&, std::uint32_t, GuestAddr) noexcept {
    return Errno::kENOTTY;
  }
  // Non-null for a pipe end (F_GETPIPE_SZ and F_SETPIPE_SZ act on it).
  virtual Pipe* pipe() noexcept { return nullptr; }

  // Where poll(2) waits for this file's poll_events() to change.
  sync::WakePoint& poll_point() noexcept { return poll_point_; }
  // Called after poll_events() may have changed: wakes pollers of this file, and those polling
  // more files than one park can wait on (they wait on wide_poll_point()).
  void notify_poll() noexcept {
    poll_point_.notify_all();
    wide_poll_point().notify_all();
  }
  static sync::WakePoint& wide_poll_point() noexcept {
    static sync::WakePoint point;
    return point;
  }

 private:
  std::atomic<std::uint32_t> flags_;
  sync::WakePoint poll_point_;
};

}  // namespace futexbox::kernel
