// FutexCall: one description of a futex-family call, decoded from its syscall number and six
// registers exactly as the kernel decodes them (32-bit arguments are the low half of their
// register; the upper halves are ignored, as Linux ignores them). Everything outside the kernel
// that has to know what a call does reads it from here: the agent's routing (private or shared:
// served or forwarded) and its run counters, its trace recording, the trace views, the trace
// profile and the deadlock watch. A new op of the family is added here (and to the strace view
// if it has arguments of a new kind), nowhere else in tools/.
//
// futex_waitv(2) and futex_requeue(2) name their words in an array in guest memory; the register
// decode leaves their key kind open (kUnread) until `classify_entries` is given the entries, which
// the caller reads once and may pass on (the agent hands the same copy to its trace recording).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "abi/futex.h"
#include "abi/syscall_numbers.h"

namespace futexbox::syscalls {

// Run-counter slots: each futex(2) command x {shared, private} x {monotonic, realtime}, one for
// an unknown command, and one per futex2 syscall.
inline constexpr std::size_t kFutexCmdSlots = abi::futex::kCommands * 4;
inline constexpr std::size_t kFutexInvalidSlot = kFutexCmdSlots;
inline constexpr std::size_t kWaitvSlot = kFutexInvalidSlot + 1;
inline constexpr std::size_t kFutexWakeSlot = kWaitvSlot + 1;
inline constexpr std::size_t kFutexWaitSlot = kFutexWakeSlot + 1;
inline constexpr std::size_t kFutexRequeueSlot = kFutexWaitSlot + 1;
inline constexpr std::size_t kFutexCallSlots = kFutexRequeueSlot + 1;

// Which keys a call's words have: Linux keeps private and shared keys apart.
enum class FutexKeys : std::uint8_t {
  kPrivate,
  kShared,
  kMixed,   // a futex_waitv (or futex_requeue) with both kinds
  kUnread,  // futex_waitv / futex_requeue before classify_entries
};

struct FutexCall {
  std::uint32_t nr = 0;      // the syscall (abi::kSysFutex, kSysFutexWaitv, ...)
  bool family = false;       // false: not a futex-family call; nothing below is meaningful
  int op = 0;                // futex(2): the op argument as the kernel reads it (32 bits)
  int cmd = -1;              // futex(2): op & FUTEX_CMD_MASK
  FutexKeys keys = FutexKeys::kPrivate;
  bool may_sleep = false;      // may block (a wait, a PI lock, a waitv)
  bool sleeps_on_word = false; // may block on the one word in `word` (not a waitv array)
  bool wakes = false;          // its result counts woken (and requeued) waiters
  bool wakes_plain = false;    // wakes non-PI waiters of `word` (and `word2`, for WAKE_OP)
  bool pi_lock = false;        // LOCK_PI / LOCK_PI2 (TRYLOCK_PI never sleeps)
  int timeout_arg = -1;        // the register holding a timeout pointer, if the call takes one
  std::uint64_t word = 0;      // the word it waits on or wakes (futex_requeue: waiters[0].uaddr)
  std::uint64_t word2 = 0;     // WAKE_OP's second word
  std::uint64_t array = 0;     // futex_waitv / futex_requeue: the entries' address
  std::uint32_t entries = 0;   // how many entries (futex_waitv's nr_futexes, as the kernel reads it)
  std::uint32_t flags = 0;     // futex_waitv's and futex_requeue's flags argument (must be 0)
  std::size_t stats_slot = kFutexInvalidSlot;

  [[nodiscard]] bool is_shared() const noexcept { return keys == FutexKeys::kShared; }
  // Wakes waiters of the `word` its registers name (futex_requeue's words are in memory).
  [[nodiscard]] bool wakes_named_word() const noexcept { return wakes && array == 0; }
  // Whether the call has a timeout argument and it is null: it waits until woken.
  [[nodiscard]] bool untimed(std::span<const std::uint64_t, 6> args) const noexcept {
    return may_sleep && (timeout_arg < 0 || args[static_cast<std::size_t>(timeout_arg)] == 0);
  }
};

// The futex family: every syscall describe_futex_call knows (and the agent traps).
inline constexpr std::array<std::uint32_t, 5> kFutexFamily = {
    abi::kSysFutex, abi::kSysFutexWaitv, abi::kSysFutexWake, abi::kSysFutexWait,
    abi::kSysFutexRequeue};

constexpr bool is_futex_family(std::uint64_t nr) noexcept {
  for (const std::uint32_t n : kFutexFamily) {
    if (n == nr) return true;
  }
  return false;
}

// The call `nr` makes with registers `args` (rdi, rsi, rdx, r10, r8, r9).
FutexCall describe_futex_call(std::uint64_t nr, std::span<const std::uint64_t, 6> args) noexcept;

// How many entries of a futex_waitv / futex_requeue call to read for classify_entries: 0 when the
// kernel would refuse the call before reading any (bad count, flags or null array), which is then
// served to give the guest Linux's errno.
std::uint32_t entries_to_read(const FutexCall& call) noexcept;

// Settles a futex_waitv's or futex_requeue's key kind from its entries, as read from guest memory
// (futex_requeue: the first two; `word` then becomes the first entry's address).
void classify_entries(FutexCall& call, std::span<const abi::futex::Waitv> entries) noexcept;

// strace's name of the call: "FUTEX_WAIT_PRIVATE", "FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME",
// "futex_waitv", ...
std::string futex_call_name(const FutexCall& call);
// The same for a run-counter slot.
std::string futex_slot_name(std::size_t slot);

}  // namespace futexbox::syscalls
