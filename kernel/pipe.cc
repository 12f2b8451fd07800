#include "kernel/pipe.h"

#include <algorithm>
#include <bit>

#include "kernel/signal_manager.h"
#include "kernel/task.h"
#include "sync/spin_wait.h"

namespace futexbox::kernel {

using namespace file_abi;  // NOLINT: the ABI's names are this file's vocabulary

Pipe::Pipe(PipeManager& manager)
    : manager_(manager), pages_(kDefaultSlots * kPageSize), slots_(kDefaultSlots) {
  manager_.live_.fetch_add(1, std::memory_order_relaxed);
}

Pipe::~Pipe() { manager_.live_.fetch_sub(1, std::memory_order_release); }

void Pipe::notify_readers() noexcept {
  read_wait_.notify_all();
  if (read_file_ != nullptr) read_file_->notify_poll();
  if (write_file_ != nullptr) write_file_->notify_poll();
}

void Pipe::notify_writers() noexcept {
  write_wait_.notify_all();
  if (write_file_ != nullptr) write_file_->notify_poll();
  if (read_file_ != nullptr) read_file_->notify_poll();
}

ErrorOr<std::int64_t> Pipe::read(FileIo& io, IoVector& to, bool nonblocking) noexcept {
  std::size_t total = to.remaining();
  if (total == 0) return 0;  // "Reads with count = 0 should always return 0."
  std::int64_t ret = 0;
  sync::MutexLock lock(mutex_);
  for (;;) {
    if (head_ != tail_) {
      Slot& buf = slot(tail_);
      std::size_t chars = std::min<std::size_t>(buf.len, total);
      const std::size_t written = to.copy_out(page(tail_) + buf.offset, chars);
      if (written < chars) {
        if (ret == 0) ret = -static_cast<std::int64_t>(Errno::kEFAULT);
        break;
      }
      ret += static_cast<std::int64_t>(chars);
      buf.offset += static_cast<std::uint32_t>(chars);
      buf.len -= static_cast<std::uint32_t>(chars);
      if (buf.packet) {  // one packet per read; what did not fit is dropped
        total = chars;
        buf.len = 0;
      }
      if (buf.len == 0) {
        ++tail_;
        publish();
        notify_writers();
      }
      total -= chars;
      if (total == 0) break;
      if (head_ != tail_) continue;
    }
    if (writers_.load(std::memory_order_relaxed) == 0) break;  // EOF (or what was read)
    if (ret != 0) break;
    if (nonblocking) return Errno::kEAGAIN;
    if (io.task.interrupt_pending()) return Errno::kERESTARTSYS;
    lock.unlock();
    auto blocked = [&] {
      return empty() && writers_.load(std::memory_order_acquire) != 0 &&
             !io.task.interrupt_pending();
    };
    // The writer, on another CPU, usually refills within a microsecond; a sleep costs a cross-CPU
    // wake-up (20-25 us on these VMs).
    sync::spin_while(blocked);
    read_wait_.wait(blocked, sync::Deadline::never(), /*interruptible=*/true);
    lock.lock();
  }
  if (ret < 0) return static_cast<Errno>(-ret);
  return ret;
}

ErrorOr<std::int64_t> Pipe::write(FileIo& io, IoVector& from, bool nonblocking,
                                  bool packet) noexcept {
  const std::size_t total = from.remaining();
  if (total == 0) return 0;  // a null write succeeds, even with no reader
  std::int64_t ret = 0;
  auto epipe = [&] {
    io.signals.raise_on_thread(io.task, abi::sig::kSigPipe);
    if (ret == 0) ret = -static_cast<std::int64_t>(Errno::kEPIPE);
  };
  sync::MutexLock lock(mutex_);
  if (readers_.load(std::memory_order_relaxed) == 0) {
    epipe();
    return Errno::kEPIPE;
  }
  // A sub-page remainder goes into the last slot if it fits there whole (never splitting it).
  const std::size_t chars = total & (kPageSize - 1);
  if (chars != 0 && head_ != tail_) {
    Slot& last = slot(head_ - 1);
    const std::size_t offset = last.offset + last.len;
    if (!last.packet && offset + chars <= kPageSize) {
      const std::size_t copied = from.copy_in(page(head_ - 1) + offset, chars);
      if (copied < chars) return Errno::kEFAULT;
      last.len += static_cast<std::uint32_t>(chars);
      ret = static_cast<std::int64_t>(chars);
      notify_readers();
      if (from.remaining() == 0) return ret;
    }
  }
  for (;;) {
    if (readers_.load(std::memory_order_relaxed) == 0) {
      epipe();
      break;
    }
    if (!full()) {
      // The slot is taken before the copy (as Linux does): a fault leaves it empty in the ring.
      const std::uint32_t at = head_++;
      slot(at) = Slot{0, 0, packet};
      publish();
      const std::size_t want = std::min(kPageSize, from.remaining());
      const std::size_t copied = from.copy_in(page(at), want);
      if (copied < want) {
        if (ret == 0) ret = -static_cast<std::int64_t>(Errno::kEFAULT);
        notify_readers();
        break;
      }
      slot(at).len = static_cast<std::uint32_t>(copied);
      ret += static_cast<std::int64_t>(copied);
      notify_readers();
      if (from.remaining() == 0) break;
      continue;
    }
    if (nonblocking) {
      if (ret == 0) ret = -static_cast<std::int64_t>(Errno::kEAGAIN);
      break;
    }
    if (io.task.interrupt_pending()) {
      if (ret == 0) ret = -static_cast<std::int64_t>(Errno::kERESTARTSYS);
      break;
    }
    lock.unlock();
    auto blocked = [&] {
      return used_.load(std::memory_order_acquire) >= max_usage_.load(std::memory_order_acquire) &&
             readers_.load(std::memory_order_acquire) != 0 && !io.task.interrupt_pending();
    };
    sync::spin_while(blocked);
    write_wait_.wait(blocked, sync::Deadline::never(), /*interruptible=*/true);
    lock.lock();
  }
  if (ret < 0) return static_cast<Errno>(-ret);
  return ret;
}

std::size_t Pipe::bytes_buffered() {
  sync::MutexLock lock(mutex_);
  std::size_t n = 0;
  for (std::uint32_t i = tail_; i != head_; ++i) n += slot(i).len;
  return n;
}

ErrorOr<std::int64_t> Pipe::set_capacity(std::uint64_t size) {
  // round_pipe_size(): the argument is an unsigned int; at least a page, a power of two, <= 2^31.
  size &= 0xffffffffu;
  if (size > (std::uint64_t{1} << 31)) return Errno::kEINVAL;
  const std::uint64_t bytes = size < kPageSize ? kPageSize : std::bit_ceil(size);
  const auto slots = static_cast<std::uint32_t>(bytes / kPageSize);
  {
    sync::MutexLock lock(mutex_);
    const std::uint32_t used = head_ - tail_;
    if (slots < used) return Errno::kEBUSY;
    std::vector<std::byte> pages(static_cast<std::size_t>(slots) * kPageSize);
    std::vector<Slot> ring(slots);
    for (std::uint32_t i = 0; i < used; ++i) {
      std::copy_n(page(tail_ + i), kPageSize, pages.data() + static_cast<std::size_t>(i) * kPageSize);
      ring[i] = slot(tail_ + i);
    }
    pages_ = std::move(pages);
    slots_ = std::move(ring);
    tail_ = 0;
    head_ = used;
    max_usage_.store(slots, std::memory_order_release);
    publish();
    notify_writers();
  }
  return static_cast<std::int64_t>(bytes);
}

std::uint32_t Pipe::read_end_events() const noexcept {
  std::uint32_t mask = 0;
  if (used_.load(std::memory_order_acquire) != 0) mask |= kPollIn | kPollRdNorm;
  if (writers_.load(std::memory_order_acquire) == 0) mask |= kPollHup;
  return mask;
}

std::uint32_t Pipe::write_end_events() const noexcept {
  std::uint32_t mask = 0;
  if (used_.load(std::memory_order_acquire) < max_usage_.load(std::memory_order_acquire)) {
    mask |= kPollOut | kPollWrNorm;
  }
  if (readers_.load(std::memory_order_acquire) == 0) mask |= kPollErr;
  return mask;
}

void Pipe::open_end(bool write_end) noexcept {
  sync::MutexLock lock(mutex_);
  (write_end ? writers_ : readers_).fetch_add(1, std::memory_order_release);
}

void Pipe::release_end(bool write_end) noexcept {
  sync::MutexLock lock(mutex_);
  (write_end ? writers_ : readers_).fetch_sub(1, std::memory_order_release);
  (write_end ? write_file_ : read_file_) = nullptr;
  // The other side learns of EOF / a broken pipe.
  if (write_end) {
    notify_readers();
  } else {
    notify_writers();
  }
}

PipeEnd::PipeEnd(std::shared_ptr<Pipe> pipe, bool write_end, std::uint32_t flags) noexcept
    : File(flags), pipe_(std::move(pipe)), write_end_(write_end) {
  pipe_->open_end(write_end);
}

PipeEnd::~PipeEnd() { pipe_->release_end(write_end_); }

ErrorOr<std::int64_t> PipeEnd::read(FileIo& io, IoVector& to) noexcept {
  return pipe_->read(io, to, nonblocking());
}

ErrorOr<std::int64_t> PipeEnd::write(FileIo& io, IoVector& from) noexcept {
  return pipe_->write(io, from, nonblocking(), (flags() & kDirect) != 0);
}

std::uint32_t PipeEnd::poll_events() const noexcept {
  return write_end_ ? pipe_->write_end_events() : pipe_->read_end_events();
}

ErrorOr<std::int64_t> PipeEnd::ioctl(Task& task, std::uint32_t cmd, GuestAddr arg) noexcept {
  constexpr std::uint32_t kFionread = 0x541b;
  if (cmd != kFionread) return Errno::kENOTTY;
  const auto n = static_cast<std::int32_t>(pipe_->bytes_buffered());
  FUTEXBOX_TRY(task.memory().copy_out(arg, &n, sizeof(n)));
  return 0;
}

PipeFiles PipeManager::create(std::uint32_t flags) {
  auto pipe = std::make_shared<Pipe>(*this);
  PipeFiles files;
  files.read_end = std::make_shared<PipeEnd>(pipe, false, kReadOnly | (flags & kNonblock));
  files.write_end =
      std::make_shared<PipeEnd>(pipe, true, kWriteOnly | (flags & (kNonblock | kDirect)));
  pipe->attach_files(files.read_end.get(), files.write_end.get());
  return files;
}

}  // namespace futexbox::kernel
