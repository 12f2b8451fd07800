// `futexbox syscalls`: prints the syscall table (number, name, support level, note).
#pragma once

#include <string>

namespace futexbox::tools {

// format: "table" (aligned text), "json" (an array of {nr, name, support, note}), or "markdown"
// (what docs/syscalls.md holds).
std::string format_syscall_table(const std::string& format);

}  // namespace futexbox::tools
