#include "syscalls/futex_op_name.h"

#include <array>
#include <cstdio>

#include "abi/futex.h"

namespace futexbox::syscalls {

std::string_view futex_cmd_name(int cmd) noexcept {
  static constexpr std::array<std::string_view, 14> kNames = {
      "FUTEX_WAIT",      "FUTEX_WAKE",         "FUTEX_FD",          "FUTEX_REQUEUE",
      "FUTEX_CMP_REQUEUE", "FUTEX_WAKE_OP",    "FUTEX_LOCK_PI",     "FUTEX_UNLOCK_PI",
      "FUTEX_TRYLOCK_PI", "FUTEX_WAIT_BITSET", "FUTEX_WAKE_BITSET", "FUTEX_WAIT_REQUEUE_PI",
      "FUTEX_CMP_REQUEUE_PI", "FUTEX_LOCK_PI2"};
  if (cmd < 0 || static_cast<std::size_t>(cmd) >= kNames.size()) return {};
  return kNames[static_cast<std::size_t>(cmd)];
}

std::string futex_op_name(int op) {
  const int cmd = op & abi::futex::kCmdMask;
  const bool is_private = (op & abi::futex::kPrivateFlag) != 0;
  const bool realtime = (op & abi::futex::kClockRealtime) != 0;
  const std::string_view known = futex_cmd_name(cmd);
  // strace's table names FUTEX_CLOCK_REALTIME only with the commands that take it in Linux 4.5's
  // ABI (WAIT, WAIT_BITSET, WAIT_REQUEUE_PI); any other combination is printed raw.
  const bool named =
      !known.empty() && (!realtime || cmd == abi::futex::kWait || cmd == abi::futex::kWaitBitset ||
                         cmd == abi::futex::kWaitRequeuePi);
  if (!named) {
    char raw[48];
    std::snprintf(raw, sizeof raw, "%#x /* FUTEX_??? */", static_cast<unsigned>(op));
    return raw;
  }
  std::string name(known);
  if (is_private) name += "_PRIVATE";
  if (realtime) name += "|FUTEX_CLOCK_REALTIME";
  return name;
}

}  // namespace futexbox::syscalls
