// Small helpers shared by futexbox's tests.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <thread>

namespace futexbox::testing {

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

// Heap allocations made by this process so far (counted by the test binary's operator new, see
// alloc_counter.cc; only binaries that link it count).
std::size_t allocation_count() noexcept;

}  // namespace futexbox::testing
