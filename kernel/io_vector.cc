#include "kernel/io_vector.h"

#include <algorithm>
#include <cstdint>

namespace futexbox::kernel {

namespace {
constexpr std::size_t kGuestPage = 4096;
}

IoVector::IoVector(GuestMemory& memory, std::span<const IoSegment> segments) noexcept
    : memory_(memory), segments_(segments) {
  for (const IoSegment& s : segments) remaining_ += s.len;
}

template <class Copy>
std::size_t IoVector::walk(std::size_t n, Copy copy) noexcept {
  std::size_t done = 0;
  n = std::min(n, remaining_);
  while (done < n) {
    while (offset_ == segments_[index_].len) {
      ++index_;
      offset_ = 0;
    }
    const GuestAddr at = segments_[index_].base + offset_;
    // One guest page at a time, so a fault stops the copy at the page that faulted.
    const std::size_t to_page_end = kGuestPage - static_cast<std::size_t>(at % kGuestPage);
    const std::size_t chunk =
        std::min({n - done, segments_[index_].len - offset_, to_page_end});
    if (!copy(at, done, chunk)) break;
    done += chunk;
    offset_ += chunk;
    remaining_ -= chunk;
  }
  return done;
}

std::size_t IoVector::copy_in(void* dst, std::size_t n) noexcept {
  auto* out = static_cast<std::byte*>(dst);
  return walk(n, [&](GuestAddr at, std::size_t done, std::size_t chunk) {
    return static_cast<bool>(memory_.copy_in(at, out + done, chunk));
  });
}

std::size_t IoVector::copy_out(const void* src, std::size_t n) noexcept {
  const auto* in = static_cast<const std::byte*>(src);
  return walk(n, [&](GuestAddr at, std::size_t done, std::size_t chunk) {
    return static_cast<bool>(memory_.copy_out(at, in + done, chunk));
  });
}

}  // namespace futexbox::kernel
