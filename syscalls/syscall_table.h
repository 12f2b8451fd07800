// The syscall table, as data: {number, name, handler, support level, note} per x86-64 syscall
// futexbox knows about (gVisor's linux64.go, SerenityOS's ENUMERATE_SYSCALLS). dispatch() is the
// one place where a handler's Errno becomes a -errno return; anything without a handler is ENOSYS
// (glibc and Wine probe for futex_waitv and friends by ENOSYS).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "kernel/error_or.h"
#include "kernel/kernel.h"
#include "syscalls/syscall_args.h"

namespace futexbox::syscalls {

enum class Support : std::uint8_t { kFull, kPartial, kNone };

using Handler = kernel::ErrorOr<std::int64_t> (*)(kernel::Kernel&, kernel::Task&,
                                                  const SyscallArgs&);

struct SyscallEntry {
  std::uint32_t nr;
  std::string_view name;
  Handler handler;  // null: ENOSYS
  Support support;
  std::string_view note;
};

std::span<const SyscallEntry> syscall_table() noexcept;
const SyscallEntry* find_syscall(std::uint64_t nr) noexcept;
std::string_view support_name(Support support) noexcept;

// Runs the syscall on `task` and returns what the guest's rax gets: a value, or -errno. The
// kernel-internal restart codes (-ERESTARTSYS, ...) are returned as such: see restart.h for how
// an embedder turns them into EINTR or a restart.
std::int64_t dispatch(kernel::Kernel& kernel, kernel::Task& task, const SyscallArgs& args) noexcept;

}  // namespace futexbox::syscalls
