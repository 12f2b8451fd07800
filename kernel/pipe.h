// Pipe: Linux's pipe (fs/pipe.c), slot for slot, and the File ends that open it.
//
// The buffer is Linux's ring of page-sized slots (16 by default: 64 KiB), not a byte ring, because
// what a program can observe depends on it: a write merges into the last slot only when the whole
// sub-page remainder fits there, a write of at most PIPE_BUF (4096) bytes therefore lands in one
// slot and is atomic, and a non-blocking writer gets EAGAIN exactly when the ring has no free
// slot. Packet mode (O_DIRECT on the write end) makes each slot one packet. F_SETPIPE_SZ resizes
// the ring to a power-of-two number of pages.
//
// Why readers and writers park on the lot keyed by the pipe and not in the shared futex slots: a
// pipe's wait has unique per-key state (the buffer, the reader and writer counts, a wake condition
// that is not "a word changed"), so it is a per-key manager's wait, as docs/wait-table.md argues;
// the 512 slots are for waits that have no state but their key. docs/pipes.md has the long form.
//
// Locking: `mutex_` (Linux's pipe->mutex) guards the ring. The counts a sleeper re-checks under
// its bucket lock (slots in use, readers, writers, ring size) are also published in atomics, and
// every change to them is followed by a notify of the WakePoint the other side sleeps on
// (sync/wake_point.h has the no-lost-wakeup argument). Nothing here allocates except creating and
// resizing a pipe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernel/file.h"
#include "sync/mutex.h"

namespace futexbox::kernel {

class PipeManager;

class Pipe {
 public:
  static constexpr std::size_t kPageSize = 4096;
  static constexpr std::size_t kDefaultSlots = 16;

  explicit Pipe(PipeManager& manager);
  ~Pipe();
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;

  // pipe_read / pipe_write on behalf of an end; `nonblocking` and `packet` are the end's flags.
  ErrorOr<std::int64_t> read(FileIo& io, IoVector& to, bool nonblocking) noexcept;
  ErrorOr<std::int64_t> write(FileIo& io, IoVector& from, bool nonblocking, bool packet) noexcept;
  // FIONREAD: the bytes buffered.
  [[nodiscard]] std::size_t bytes_buffered();
  // F_GETPIPE_SZ / F_SETPIPE_SZ (the new capacity; EINVAL, EBUSY as Linux).
  [[nodiscard]] std::size_t capacity() const noexcept {
    return max_usage_.load(std::memory_order_acquire) * kPageSize;
  }
  ErrorOr<std::int64_t> set_capacity(std::uint64_t size);

  [[nodiscard]] std::uint32_t read_end_events() const noexcept;
  [[nodiscard]] std::uint32_t write_end_events() const noexcept;

  // Opening and the final close of an end (an end's File does both).
  void open_end(bool write_end) noexcept;
  void release_end(bool write_end) noexcept;
  // The two ends' files, for poll notification (set once at creation).
  void attach_files(File* read_end, File* write_end) noexcept {
    sync::MutexLock lock(mutex_);
    read_file_ = read_end;
    write_file_ = write_end;
  }

 private:
  struct Slot {
    std::uint32_t offset = 0;
    std::uint32_t len = 0;
    bool packet = false;  // PIPE_BUF_FLAG_PACKET, else PIPE_BUF_FLAG_CAN_MERGE
  };
  [[nodiscard]] bool empty() const noexcept { return used_.load(std::memory_order_relaxed) == 0; }
  [[nodiscard]] bool full() const noexcept {
    return used_.load(std::memory_order_relaxed) >= max_usage_.load(std::memory_order_relaxed);
  }
  std::byte* page(std::uint32_t index) noexcept FUTEXBOX_REQUIRES(mutex_) {
    return pages_.data() + static_cast<std::size_t>(index & (slots_.size() - 1)) * kPageSize;
  }
  Slot& slot(std::uint32_t index) noexcept FUTEXBOX_REQUIRES(mutex_) { return slots_[index & (slots_.size() - 1)]; }
  void publish() noexcept FUTEXBOX_REQUIRES(mutex_) { used_.store(head_ - tail_, std::memory_order_release); }
  // Both with mutex_ held: the end files they poke cannot be released meanwhile.
  void notify_readers() noexcept FUTEXBOX_REQUIRES(mutex_);
  void notify_writers() noexcept FUTEXBOX_REQUIRES(mutex_);

  PipeManager& manager_;
  sync::Mutex mutex_;
  std::vector<std::byte> pages_ FUTEXBOX_GUARDED_BY(mutex_);
  std::vector<Slot> slots_ FUTEXBOX_GUARDED_BY(mutex_);
  std::uint32_t head_ FUTEXBOX_GUARDED_BY(mutex_) = 0;
  std::uint32_t tail_ FUTEXBOX_GUARDED_BY(mutex_) = 0;
  // Published copies (written under mutex_, read by sleepers' re-checks and poll):
  std::atomic<std::uint32_t> used_{0};
  std::atomic<std::uint32_t> max_usage_{kDefaultSlots};
  std::atomic<std::uint32_t> readers_{0};
  std::atomic<std::uint32_t> writers_{0};
  sync::WakePoint read_wait_;
  sync::WakePoint write_wait_;
  File* read_file_ FUTEXBOX_GUARDED_BY(mutex_) = nullptr;  // null once that end is released
  File* write_file_ FUTEXBOX_GUARDED_BY(mutex_) = nullptr;
};

// One end of a pipe: an open file description.
class PipeEnd final : public File {
 public:
  PipeEnd(std::shared_ptr<Pipe> pipe, bool write_end, std::uint32_t flags) noexcept;
  ~PipeEnd() override;

  ErrorOr<std::int64_t> read(FileIo& io, IoVector& to) noexcept override;
  ErrorOr<std::int64_t> write(FileIo& io, IoVector& from) noexcept override;
  [[nodiscard]] std::uint32_t poll_events() const noexcept override;
  ErrorOr<std::int64_t> ioctl(Task& task, std::uint32_t cmd, GuestAddr arg) noexcept override;
  Pipe* pipe() noexcept override { return pipe_.get(); }

 private:
  std::shared_ptr<Pipe> pipe_;
  bool write_end_;
};

struct PipeFiles {
  std::shared_ptr<File> read_end;
  std::shared_ptr<File> write_end;
};

// PipeManager: creates pipes and knows how many are alive. Each pipe is its own key: its state
// lives in the Pipe, which the two ends' descriptions share and which goes away with the last of
// them; there is no table of pipes to keep (or to leak from).
class PipeManager {
 public:
  // pipe2(2)'s objects: `flags` may hold O_NONBLOCK (both ends) and O_DIRECT (the write end:
  // packet mode).
  PipeFiles create(std::uint32_t flags);
  [[nodiscard]] std::size_t live_count() const noexcept {
    return live_.load(std::memory_order_acquire);
  }

 private:
  friend class Pipe;
  std::atomic<std::size_t> live_{0};
};

}  // namespace futexbox::kernel
