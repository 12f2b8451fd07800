// Deadline: an absolute point on CLOCK_MONOTONIC or CLOCK_REALTIME, or "never".
//
// Linux futex timeouts are absolute on one of two clocks (FUTEX_WAIT's relative timeout is turned
// into an absolute CLOCK_MONOTONIC deadline at entry), and a restarted call must keep the original
// deadline. So the lot takes absolute deadlines only, on the clock the guest chose: a REALTIME
// deadline follows clock_settime exactly as the host kernel's would, because the futex parker
// hands it to FUTEX_WAIT_BITSET with FUTEX_CLOCK_REALTIME rather than converting it.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>
#include <limits>

namespace futexbox::sync {

enum class ClockKind : std::uint8_t { kMonotonic, kRealtime };

class Deadline {
 public:
  constexpr Deadline() noexcept = default;  // never

  static constexpr Deadline never() noexcept { return Deadline{}; }
  static constexpr Deadline at(ClockKind clock, std::int64_t ns_since_epoch) noexcept {
    Deadline d;
    d.clock_ = clock;
    d.ns_ = ns_since_epoch;
    return d;
  }
  static Deadline at(ClockKind clock, const timespec& ts) noexcept;
  // A monotonic deadline `relative` from now; saturates instead of overflowing.
  static Deadline after(std::chrono::nanoseconds relative) noexcept;

  [[nodiscard]] constexpr bool is_never() const noexcept { return ns_ == kNever; }
  [[nodiscard]] constexpr ClockKind clock() const noexcept { return clock_; }
  [[nodiscard]] constexpr std::int64_t ns() const noexcept { return ns_; }
  [[nodiscard]] timespec to_timespec() const noexcept;
  [[nodiscard]] bool expired() const noexcept;
  // Nanoseconds left (0 when expired, int64 max for never).
  [[nodiscard]] std::int64_t remaining_ns() const noexcept;

  static std::int64_t now_ns(ClockKind clock) noexcept;

  friend constexpr bool operator==(const Deadline&, const Deadline&) = default;

 private:
  static constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
  ClockKind clock_ = ClockKind::kMonotonic;
  std::int64_t ns_ = kNever;
};

}  // namespace futexbox::sync
