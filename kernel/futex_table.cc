#include "kernel/futex_table.h"

#include <array>
#include <optional>

namespace futexbox::kernel {
namespace {

using sync::WaitStatus;

// Linux's wake loops stop after `++woken >= nr`, so any nr <= 0 still wakes one.
std::size_t wake_limit(int nr) noexcept { return nr <= 0 ? 1 : static_cast<std::size_t>(nr); }

// The compare of FUTEX_WAKE_OP; nullopt for an unknown comparison.
std::optional<bool> compare(unsigned cmp, int oldval, int cmparg) noexcept {
  switch (cmp) {
    case 0:
      return oldval == cmparg;
    case 1:
      return oldval != cmparg;
    case 2:
      return oldval < cmparg;
    case 3:
      return oldval <= cmparg;
    case 4:
      return oldval > cmparg;
    case 5:
      return oldval >= cmparg;
    default:
      return std::nullopt;
  }
}

int sign_extend_12(std::uint32_t v) noexcept {
  return static_cast<int>(v << 20) >> 20;  // bits 0..11, sign bit 11
}

}  // namespace

ErrorOr<std::int64_t> FutexTable::wait(Task& task, GuestAddr uaddr, bool shared,
                                       std::uint32_t val, std::uint32_t bitset,
                                       const sync::Deadline& deadline) noexcept {
  if (bitset == 0) return Errno::kEINVAL;
  GuestMemory& memory = task.memory();
  FutexKey key;
  FUTEXBOX_TRY(FutexKey::resolve(memory, uaddr, shared, key));
  for (;;) {
    // Runs under the slot's bucket lock (and once before it, without): block only if the word
    // still holds `val` and no interruption is pending. Errors are carried out in `failure`.
    Errno failure = Errno::kEAGAIN;
    auto still_blocked = [&] {
      const ErrorOr<std::uint32_t> current = memory.load_u32(uaddr);
      if (!current) {
        failure = current.error();
        return false;
      }
      if (current.value() != val) {
        failure = Errno::kEAGAIN;
        return false;
      }
      if (task.interrupt_pending()) {
        failure = Errno::kERESTARTSYS;
        return false;
      }
      return true;
    };
    const sync::WaitResult r = table_.wait(key, bitset, still_blocked, deadline,
                                           /*interruptible=*/true,
                                           [&] { task.set_in_futex_wait(true); });
    task.set_in_futex_wait(false);
    switch (r.status) {
      case WaitStatus::kWoken:
        return 0;
      case WaitStatus::kMismatch:
        return failure;
      case WaitStatus::kTimedOut:
        return Errno::kETIMEDOUT;
      case WaitStatus::kInterrupted:
        if (task.interrupt_pending()) return Errno::kERESTARTSYS;
        break;  // a stale poke: Linux retries a wake-up without a signal, and so do we
    }
  }
}

ErrorOr<std::int64_t> FutexTable::wake(Task& task, GuestAddr uaddr, bool shared, int nr,
                                       std::uint32_t bitset, bool strict) noexcept {
  if (bitset == 0) return Errno::kEINVAL;
  FutexKey key;
  FUTEXBOX_TRY(FutexKey::resolve(task.memory(), uaddr, shared, key));
  if (strict && nr == 0) return 0;
  return static_cast<std::int64_t>(table_.wake(key, wake_limit(nr), bitset));
}

ErrorOr<std::int64_t> FutexTable::requeue(Task& task, GuestAddr uaddr, bool shared,
                                          GuestAddr uaddr2, bool shared2, int nr_wake,
                                          int nr_requeue, const std::uint32_t* cmpval) noexcept {
  if (nr_wake < 0 || nr_requeue < 0) return Errno::kEINVAL;
  GuestMemory& memory = task.memory();
  FutexKey key1;
  FUTEXBOX_TRY(FutexKey::resolve(memory, uaddr, shared, key1));
  FutexKey key2;
  FUTEXBOX_TRY(FutexKey::resolve(memory, uaddr2, shared2, key2));
  Errno failure = Errno::kEAGAIN;
  // Linux's loop: stop once woken + requeued - nr_wake reaches nr_requeue; the first nr_wake
  // matching waiters are woken, the rest requeued. So (0, 0) touches nobody.
  const std::size_t max_wake =
      nr_requeue == 0 && nr_wake == 0 ? 0 : static_cast<std::size_t>(nr_wake);
  const std::optional<sync::RequeueCounts> counts = table_.requeue(
      key1, key2, max_wake, static_cast<std::size_t>(nr_requeue), [&] {
        if (cmpval == nullptr) return true;
        const ErrorOr<std::uint32_t> current = memory.load_u32(uaddr);
        if (!current) {
          failure = current.error();
          return false;
        }
        return current.value() == *cmpval;
      });
  if (!counts) return failure;
  return static_cast<std::int64_t>(counts->woken + counts->requeued);
}

ErrorOr<std::int64_t> FutexTable::wake_op(Task& task, GuestAddr uaddr, GuestAddr uaddr2,
                                          bool shared, int nr_wake, int nr_wake2,
                                          std::uint32_t encoded_op) noexcept {
  GuestMemory& memory = task.memory();
  FutexKey key1;
  FUTEXBOX_TRY(FutexKey::resolve(memory, uaddr, shared, key1));
  FutexKey key2;
  FUTEXBOX_TRY(FutexKey::resolve(memory, uaddr2, shared, key2));

  // Decoding as futex_atomic_op_inuser: op in bits 28-30 (bit 31 = OPARG_SHIFT), cmp in 24-27,
  // signed 12-bit oparg and cmparg. A shift outside 0..31 is masked (Linux warns, no error).
  const unsigned op = (encoded_op >> 28) & 7;
  const unsigned cmp = (encoded_op >> 24) & 15;
  int oparg = sign_extend_12((encoded_op >> 12) & 0xfff);
  const int cmparg = sign_extend_12(encoded_op & 0xfff);
  if ((encoded_op & 0x80000000u) != 0) oparg = 1 << (oparg & 31);

  std::optional<Errno> failure;  // set when the op fails; then nobody is woken
  const auto [woken1, woken2] = table_.wake_two(
      key1, wake_limit(nr_wake), key2, wake_limit(nr_wake2), [&] {
        if (op > static_cast<unsigned>(FetchOp::kXor)) {
          failure = Errno::kENOSYS;  // unknown op: nothing is modified
          return sync::WakeTwoDecision::kAbort;
        }
        const ErrorOr<std::uint32_t> old =
            memory.fetch_op_u32(uaddr2, static_cast<FetchOp>(op), static_cast<std::uint32_t>(oparg));
        if (!old) {
          failure = old.error();
          return sync::WakeTwoDecision::kAbort;
        }
        // An unknown comparison is reported after the write, as Linux does.
        const std::optional<bool> c = compare(cmp, static_cast<int>(old.value()), cmparg);
        if (!c) {
          failure = Errno::kENOSYS;
          return sync::WakeTwoDecision::kAbort;
        }
        return *c ? sync::WakeTwoDecision::kWakeBoth : sync::WakeTwoDecision::kWakeFirst;
      });
  if (failure) return *failure;
  return static_cast<std::int64_t>(woken1 + woken2);
}

ErrorOr<std::int64_t> FutexTable::waitv(Task& task, std::span<const FutexWaitvEntry> entries,
                                        const sync::Deadline& deadline) noexcept {
  GuestMemory& memory = task.memory();
  // All keys first (EINVAL / EFAULT before any value is looked at), as futex_wait_multiple_setup.
  std::array<FutexKey, sync::kMaxParkKeys> keys;
  std::array<std::uint32_t, sync::kMaxParkKeys> bitsets;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    FUTEXBOX_TRY(FutexKey::resolve(memory, entries[i].uaddr, entries[i].shared, keys[i]));
    bitsets[i] = kFutexBitsetMatchAny;
  }
  for (;;) {
    Errno failure = Errno::kEAGAIN;
    auto still_blocked = [&](std::size_t i) {
      const ErrorOr<std::uint32_t> current = memory.load_u32(entries[i].uaddr);
      if (!current) {
        failure = current.error();
        return false;
      }
      if (current.value() != entries[i].val) {
        failure = Errno::kEAGAIN;
        return false;
      }
      if (task.interrupt_pending()) {
        failure = Errno::kERESTARTSYS;
        return false;
      }
      return true;
    };
    const sync::WaitResult r = table_.wait_multiple(
        std::span<const FutexKey>(keys.data(), entries.size()),
        std::span<const std::uint32_t>(bitsets.data(), entries.size()), still_blocked,
        task.waitv_storage(), deadline, /*interruptible=*/true,
        [&] { task.set_in_futex_wait(true); });
    task.set_in_futex_wait(false);
    switch (r.status) {
      case WaitStatus::kWoken:
        return static_cast<std::int64_t>(r.index);
      case WaitStatus::kMismatch:
        return failure;
      case WaitStatus::kTimedOut:
        return Errno::kETIMEDOUT;
      case WaitStatus::kInterrupted:
        if (task.interrupt_pending()) return Errno::kERESTARTSYS;
        break;
    }
  }
}

ErrorOr<std::int64_t> FutexTable::lock_pi(Task& task, GuestAddr uaddr, bool shared,
                                          const sync::Deadline& deadline, bool trylock,
                                          sync::FunctionRef<bool(pid_t)> task_exists) noexcept {
  GuestMemory& memory = task.memory();
  FutexKey key;
  FUTEXBOX_TRY(FutexKey::resolve(memory, uaddr, shared, key));
  key.pi = true;
  const auto me = static_cast<std::uint32_t>(task.tid());
  for (;;) {
    enum class Outcome { kBlock, kAcquired, kRetry, kFailed };
    Outcome outcome = Outcome::kFailed;
    Errno failure = Errno::kEINVAL;
    // futex_lock_pi_atomic, run under the slot lock (and once before it: every step is one user
    // space may take without the lock, a cmpxchg on the word). Returns whether to block.
    auto attempt = [&] {
      auto fail = [&](Errno e) {
        outcome = Outcome::kFailed;
        failure = e;
        return false;
      };
      const ErrorOr<std::uint32_t> current = memory.load_u32(uaddr);
      if (!current) return fail(current.error());
      std::uint32_t uval = current.value();
      if ((uval & kFutexTidMask) == me) return fail(Errno::kEDEADLK);
      if ((uval & kFutexTidMask) == 0) {
        // Free (perhaps with stale WAITERS or OWNER_DIED): take it, keeping OWNER_DIED.
        const ErrorOr<std::uint32_t> seen =
            memory.compare_exchange_u32(uaddr, uval, (uval & kFutexOwnerDied) | me);
        if (!seen) return fail(seen.error());
        outcome = seen.value() == uval ? Outcome::kAcquired : Outcome::kRetry;
        return false;
      }
      // Held: make the owner's unlock come to the kernel, then check the owner exists.
      if ((uval & kFutexWaiters) == 0) {
        const ErrorOr<std::uint32_t> seen =
            memory.compare_exchange_u32(uaddr, uval, uval | kFutexWaiters);
        if (!seen) return fail(seen.error());
        if (seen.value() != uval) {
          outcome = Outcome::kRetry;
          return false;
        }
        uval |= kFutexWaiters;
      }
      if (!task_exists(static_cast<pid_t>(uval & kFutexTidMask))) {
        // handle_exit_race: a changed word means try again, else the owner is gone.
        const ErrorOr<std::uint32_t> again = memory.load_u32(uaddr);
        if (!again) return fail(again.error());
        if (again.value() != uval) {
          outcome = Outcome::kRetry;
          return false;
        }
        return fail(Errno::kESRCH);
      }
      if (trylock) return fail(Errno::kEAGAIN);
      if (task.interrupt_pending()) return fail(Errno::kERESTARTNOINTR);
      outcome = Outcome::kBlock;
      return true;
    };
    const sync::WaitResult r =
        table_.wait(key, kFutexBitsetMatchAny, attempt, deadline, /*interruptible=*/true,
                    [&] { task.set_in_futex_wait(true); }, me);
    task.set_in_futex_wait(false);
    switch (r.status) {
      case WaitStatus::kWoken:
        return 0;  // unlock_pi handed us the lock: the word already holds our TID
      case WaitStatus::kMismatch:
        if (outcome == Outcome::kAcquired) return 0;
        if (outcome == Outcome::kRetry) continue;
        return failure;
      case WaitStatus::kTimedOut:
        return Errno::kETIMEDOUT;
      case WaitStatus::kInterrupted:
        if (task.interrupt_pending()) return Errno::kERESTARTNOINTR;
        break;
    }
  }
}

ErrorOr<FutexTable::HandOver> FutexTable::hand_over_pi(Task& task, GuestAddr uaddr, bool shared,
                                                       std::uint32_t uval,
                                                       std::uint32_t extra_bits,
                                                       bool store_if_none) noexcept {
  GuestMemory& memory = task.memory();
  FutexKey key;
  FUTEXBOX_TRY(FutexKey::resolve(memory, uaddr, shared, key));
  key.pi = true;
  std::optional<Errno> failure;
  HandOver outcome = HandOver::kNoWaiter;
  table_.with_locked(key, [&](Table::LockedSlot& slot) {
    const Table::WaitRecord* next = slot.first(key);
    if (next == nullptr && !store_if_none) return;
    const std::uint32_t newval =
        next != nullptr ? kFutexWaiters | extra_bits | static_cast<std::uint32_t>(next->data)
                        : (uval & kFutexWaiters) | extra_bits;
    const ErrorOr<std::uint32_t> seen = memory.compare_exchange_u32(uaddr, uval, newval);
    if (!seen) {
      failure = seen.error();
      return;
    }
    if (seen.value() != uval) {
      outcome = HandOver::kWordChanged;
      return;
    }
    outcome = next != nullptr ? HandOver::kHandedOver : HandOver::kStored;
    if (next != nullptr) slot.wake_first(key);
  });
  if (failure) return *failure;
  return outcome;
}

ErrorOr<std::int64_t> FutexTable::unlock_pi(Task& task, GuestAddr uaddr, bool shared) noexcept {
  GuestMemory& memory = task.memory();
  const auto me = static_cast<std::uint32_t>(task.tid());
  for (;;) {
    const std::uint32_t uval = FUTEXBOX_TRY(memory.load_u32(uaddr));
    if ((uval & kFutexTidMask) != me) return Errno::kEPERM;
    FutexKey key;
  FUTEXBOX_TRY(FutexKey::resolve(memory, uaddr, shared, key));
    key.pi = true;
    std::optional<Errno> failure;
    bool changed = false;
    table_.with_locked(key, [&](Table::LockedSlot& slot) {
      const Table::WaitRecord* next = slot.first(key);
      // With a waiter the lock goes straight to it; otherwise the word is cleared (WAITERS and
      // OWNER_DIED are not kept: we own it and nobody waits).
      const std::uint32_t newval =
          next != nullptr ? kFutexWaiters | static_cast<std::uint32_t>(next->data) : 0;
      const ErrorOr<std::uint32_t> seen = memory.compare_exchange_u32(uaddr, uval, newval);
      if (!seen) {
        failure = seen.error();
        return;
      }
      if (seen.value() != uval) {
        changed = true;  // user space moved the word under us: start over (Linux's EAGAIN retry)
        return;
      }
      if (next != nullptr) slot.wake_first(key);
    });
    if (failure) return *failure;
    if (!changed) return 0;
  }
}

}  // namespace futexbox::kernel
