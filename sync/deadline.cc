#include "sync/deadline.h"

namespace futexbox::sync {
namespace {

constexpr std::int64_t kNsPerSec = 1'000'000'000;

clockid_t to_clockid(ClockKind clock) {
  return clock == ClockKind::kRealtime ? CLOCK_REALTIME : CLOCK_MONOTONIC;
}

std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  std::int64_t out;
  if (__builtin_add_overflow(a, b, &out)) return std::numeric_limits<std::int64_t>::max();
  return out;
}

}  // namespace

Deadline Deadline::at(ClockKind clock, const timespec& ts) noexcept {
  std::int64_t ns;
  if (__builtin_mul_overflow(static_cast<std::int64_t>(ts.tv_sec), kNsPerSec, &ns)) {
    return Deadline::never();
  }
  return at(clock, saturating_add(ns, ts.tv_nsec));
}

Deadline Deadline::after(std::chrono::nanoseconds relative) noexcept {
  return at(ClockKind::kMonotonic, saturating_add(now_ns(ClockKind::kMonotonic),
                                                  relative.count() < 0 ? 0 : relative.count()));
}

timespec Deadline::to_timespec() const noexcept {
  timespec ts;
  ts.tv_sec = static_cast<time_t>(ns_ / kNsPerSec);
  ts.tv_nsec = static_cast<long>(ns_ % kNsPerSec);
  return ts;
}

std::int64_t Deadline::now_ns(ClockKind clock) noexcept {
  timespec ts;
  clock_gettime(to_clockid(clock), &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

bool Deadline::expired() const noexcept { return !is_never() && now_ns(clock_) >= ns_; }

std::int64_t Deadline::remaining_ns() const noexcept {
  if (is_never()) return kNever;
  const std::int64_t left = ns_ - now_ns(clock_);
  return left > 0 ? left : 0;
}

}  // namespace futexbox::sync
