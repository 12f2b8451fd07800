// The agent's seccomp filter: SECCOMP_RET_TRAP for the calls of trapped_calls.h, unless the call
// comes from the trusted range (the agent's gadget and the audit module's stub,
// audit/bootstrap_layout.h); everything else is allowed.
//
// Written as classic BPF with linux/filter.h's macros rather than with libseccomp: the test that
// matters is on seccomp_data.instruction_pointer, a 64-bit range check libseccomp's rule API
// cannot express (it compares syscall arguments only). The IP seccomp reports is the address after
// the `syscall` instruction; the gadget section holds every syscall instruction the agent issues
// with code after it, so [begin, end) covers them all.
//
// Calls of another architecture (int 0x80 from a 64-bit process) and x32 numbers are allowed
// through to the host: Debian's kernels do not enable x32, and a 32-bit futex call is the host's.
#pragma once

#include <cstdint>

namespace futexbox::tools::agent {

// Installs the filter on every thread of the process (SECCOMP_FILTER_FLAG_TSYNC), after
// PR_SET_NO_NEW_PRIVS. Returns 0 or a negative errno.
long install_seccomp_filter(std::uintptr_t gadget_begin, std::uintptr_t gadget_end) noexcept;

}  // namespace futexbox::tools::agent
