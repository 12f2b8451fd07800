// Futex ops spelled the way strace prints them (`FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME`),
// so what futexbox reports reads like what people already know from `strace -e trace=futex`.
#pragma once

#include <string>
#include <string_view>

namespace futexbox::syscalls {

// The op argument of futex(2): command name, `_PRIVATE` when FUTEX_PRIVATE_FLAG is set, then
// `|FUTEX_CLOCK_REALTIME`. An unknown command reads as strace writes it: `0x1f /* FUTEX_??? */`.
std::string futex_op_name(int op);

// The name of command `cmd` (op & FUTEX_CMD_MASK), or empty if Linux has none.
std::string_view futex_cmd_name(int cmd) noexcept;

}  // namespace futexbox::syscalls
