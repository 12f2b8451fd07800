// Futex ops spelled the way strace prints them (`FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME`),
// so what futexbox reports reads like what people already know from `strace -e trace=futex`.
#pragma once

#include <string>
#include <string_view>

namespace futexbox::syscalls {

// The op argument of futex(2): command name, `_PRIVATE` when FUTEX_PRIVATE_FLAG is set, then
// `|FUTEX_CLOCK_REALTIME`. A combination strace's table does not know (an unknown command, or
// FUTEX_CLOCK_REALTIME with a command other than WAIT, WAIT_BITSET, WAIT_REQUEUE_PI) reads as
// strace writes it: the whole op in hex, `0x18d /* FUTEX_??? */`.
std::string futex_op_name(int op);

// The name of command `cmd` (op & FUTEX_CMD_MASK), or empty if Linux has none.
std::string_view futex_cmd_name(int cmd) noexcept;

}  // namespace futexbox::syscalls
