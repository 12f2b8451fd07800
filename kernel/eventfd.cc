#include "kernel/eventfd.h"

#include <climits>
#include <limits>

#include "kernel/task.h"
#include "sync/spin_wait.h"

namespace futexbox::kernel {

namespace {
constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
}

EventFd::EventFd(EventFdWaits& waits, std::uint32_t initval, std::uint32_t flags) noexcept
    : File(file_abi::kReadWrite | (flags & file_abi::kNonblock)),
      waits_(waits), count_(initval), semaphore_((flags & kSemaphore) != 0) {}

ErrorOr<void> EventFd::wait_for(FileIo& io, std::uint32_t side,
                                sync::FunctionRef<bool()> blocked) noexcept {
  if (nonblocking()) return Errno::kEAGAIN;
  // Spin and yield briefly first, as pipes do (kernel/pipe.cc): the other side is usually a
  // microsecond away on another CPU, a sleep is a 20-25 us cross-CPU wake-up away.
  sync::spin_while([&] { return blocked() && !io.task.interrupt_pending(); });
  for (;;) {
    if (io.task.interrupt_pending()) return Errno::kERESTARTSYS;
    const sync::WaitResult r = waits_.table().wait(
        key(), side, [&] { return blocked() && !io.task.interrupt_pending(); },
        sync::Deadline::never(), /*interruptible=*/true);
    if (r.status == sync::WaitStatus::kWoken || !blocked()) return {};
    // Interrupted, or a stale poke: the loop head tells them apart.
  }
}

void EventFd::changed(std::uint32_t wake_side) noexcept {
  waits_.table().wake(key(), INT_MAX, wake_side);
  notify_poll();
}

ErrorOr<std::int64_t> EventFd::read(FileIo& io, IoVector& to) noexcept {
  if (to.remaining() < sizeof(std::uint64_t)) return Errno::kEINVAL;
  std::uint64_t taken = 0;
  for (;;) {
    std::uint64_t c = count_.load(std::memory_order_acquire);
    if (c == 0) {
      FUTEXBOX_TRY(wait_for(io, EventFdWaits::kReaders,
                            [&] { return count_.load(std::memory_order_acquire) == 0; }));
      continue;
    }
    taken = semaphore_ ? 1 : c;
    if (count_.compare_exchange_weak(c, c - taken, std::memory_order_acq_rel)) break;
  }
  changed(EventFdWaits::kWriters);
  // As Linux: the count is consumed even if the copy out then faults.
  if (to.copy_out(&taken, sizeof(taken)) != sizeof(taken)) return Errno::kEFAULT;
  return static_cast<std::int64_t>(sizeof(taken));
}

ErrorOr<std::int64_t> EventFd::write(FileIo& io, IoVector& from) noexcept {
  if (from.remaining() < sizeof(std::uint64_t)) return Errno::kEINVAL;
  std::uint64_t v = 0;
  if (from.copy_in(&v, sizeof(v)) != sizeof(v)) return Errno::kEFAULT;
  if (v == kMax) return Errno::kEINVAL;
  for (;;) {
    std::uint64_t c = count_.load(std::memory_order_acquire);
    if (kMax - c <= v) {
      FUTEXBOX_TRY(wait_for(io, EventFdWaits::kWriters,
                            [&] { return kMax - count_.load(std::memory_order_acquire) <= v; }));
      continue;
    }
    if (count_.compare_exchange_weak(c, c + v, std::memory_order_acq_rel)) break;
  }
  changed(EventFdWaits::kReaders);
  return static_cast<std::int64_t>(sizeof(v));
}

std::uint32_t EventFd::poll_events() const noexcept {
  const std::uint64_t c = count();
  std::uint32_t mask = 0;
  if (c > 0) mask |= file_abi::kPollIn | file_abi::kPollRdNorm;
  if (c == kMax) mask |= file_abi::kPollErr;
  if (kMax - 1 > c) mask |= file_abi::kPollOut | file_abi::kPollWrNorm;
  return mask;
}

}  // namespace futexbox::kernel
