// SyscallArgs: the number and six argument registers of one x86-64 system call, with typed views
// (Linux truncates int and unsigned int arguments to their low 32 bits).
#pragma once

#include <array>
#include <cstdint>

#include "kernel/guest_memory.h"

namespace futexbox::syscalls {

struct SyscallArgs {
  std::uint64_t nr = 0;
  std::array<std::uint64_t, 6> regs{};

  [[nodiscard]] std::uint64_t u64(int i) const noexcept { return regs[static_cast<std::size_t>(i)]; }
  [[nodiscard]] std::int64_t i64(int i) const noexcept { return static_cast<std::int64_t>(u64(i)); }
  [[nodiscard]] std::uint32_t u32(int i) const noexcept { return static_cast<std::uint32_t>(u64(i)); }
  [[nodiscard]] std::int32_t i32(int i) const noexcept { return static_cast<std::int32_t>(u32(i)); }
  [[nodiscard]] kernel::GuestAddr addr(int i) const noexcept { return u64(i); }
};

}  // namespace futexbox::syscalls
