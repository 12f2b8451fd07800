// IoVector: the guest buffers of one read/write/readv/writev, walked in order as Linux's
// iov_iter walks them. Copies stop at the first guest page that faults, so a partly bad buffer
// moves the bytes before the fault, as copy_{from,to}_user do.
#pragma once

#include <cstddef>
#include <span>

#include "kernel/guest_memory.h"

namespace futexbox::kernel {

struct IoSegment {
  GuestAddr base = 0;
  std::size_t len = 0;
};

class IoVector {
 public:
  IoVector(GuestMemory& memory, std::span<const IoSegment> segments) noexcept;

  [[nodiscard]] std::size_t remaining() const noexcept { return remaining_; }
  // Copies up to `n` bytes from the guest into `dst`; returns how many (fewer on a fault).
  std::size_t copy_in(void* dst, std::size_t n) noexcept;
  // Copies up to `n` bytes from `src` out to the guest; returns how many (fewer on a fault).
  std::size_t copy_out(const void* src, std::size_t n) noexcept;

 private:
  template <class Copy>
  std::size_t walk(std::size_t n, Copy copy) noexcept;

  GuestMemory& memory_;
  std::span<const IoSegment> segments_;
  std::size_t index_ = 0;
  std::size_t offset_ = 0;  // into segments_[index_]
  std::size_t remaining_ = 0;
};

}  // namespace futexbox::kernel
