// The x86-64 user address space as the kernel's access_ok sees it.
#pragma once

#include <cstdint>

namespace futexbox::abi {

inline constexpr std::uint64_t kPageSize = 4096;

// USER_PTR_MAX with 4-level paging: the highest address access_ok accepts for a small access
// (Linux 6.12 and later compare the pointer alone; the 4 bytes of a futex word may then reach past
// it, as they do on Linux). Linux 6.1 to 6.11 accepted any pointer below 1 << 63; both refuse the
// kernel's half, which is what a guest can rely on.
inline constexpr std::uint64_t kUserPtrMax = (std::uint64_t{1} << 47) - kPageSize;

}  // namespace futexbox::abi
