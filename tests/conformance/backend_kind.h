// The backends a conformance suite is instantiated over, and their test-name suffixes.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/conformance/backend.h"

namespace futexbox::conformance {

enum class BackendKind { kHost, kEmulated, kEmulatedOnHostMemory };

inline std::unique_ptr<Backend> make_backend(BackendKind kind) {
  switch (kind) {
    case BackendKind::kHost:
      return make_host_backend();
    case BackendKind::kEmulated:
      return make_emulated_backend();
    case BackendKind::kEmulatedOnHostMemory:
      return make_emulated_host_memory_backend();
  }
  return nullptr;
}

inline std::string backend_kind_name(const ::testing::TestParamInfo<BackendKind>& p) {
  static constexpr const char* kNames[] = {"Host", "Emulated", "EmulatedOnHostMemory"};
  return kNames[static_cast<int>(p.param)];
}

inline auto all_backend_kinds() {
  return ::testing::Values(BackendKind::kHost, BackendKind::kEmulated,
                           BackendKind::kEmulatedOnHostMemory);
}

}  // namespace futexbox::conformance
