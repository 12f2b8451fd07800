#include "kernel/futex_table.h"

#include <array>
#include <optional>

namespace futexbox::kernel {
namespace {

using sync::WaitStatus;

// Linux's wake loops stop after `++woken >= nr`, so any nr <= 0 still wakes one.
std::size_t wake_limit(int nr) noexcept { return nr <= 0 ? 1 : static_cast<std::size_t>(nr); }

// FUTEX_WAKE_OP's operations are the guest memory's fetch-ops, number for number.
static_assert(static_cast<unsigned>(FetchOp::kSet) == abi::futex::kOpSet &&
              static_cast<unsigned>(FetchOp::kAdd) == abi::futex::kOpAdd &&
              static_cast<unsigned>(FetchOp::kOr) == abi::futex::kOpOr &&
              static_cast<unsigned>(FetchOp::kAndNot) == abi::futex::kOpAndn &&
              static_cast<unsigned>(FetchOp::kXor) == abi::futex::kOpXor);

// The compare of FUTEX_WAKE_OP; nullopt for an unknown comparison.
std::optional<bool> compare(unsigned cmp, int oldval, int cmparg) noexcept {
  namespace futex = abi::futex;
  switch (cmp) {
    case futex::kOpCmpEq:
      return oldval == cmparg;
    case futex::kOpCmpNe:
      return oldval != cmparg;
    case futex::kOpCmpLt:
      return oldval < cmparg;
    case futex::kOpCmpLe:
      return oldval <= cmparg;
    case futex::kOpCmpGt:
      return oldval > cmparg;
    case futex::kOpCmpGe:
      return oldval >= cmparg;
    default:
      return std::nullopt;
  }
}

// Every wake hands each woken waiter the waker's tid (shifted up one bit), so a tracer can say who
// woke whom; bit 0 says the waiter now owns a PI lock (handed over by UNLOCK_PI or a dying owner,
// or taken on its behalf by CMP_REQUEUE_PI) rather than being merely woken.
constexpr std::uintptr_t kPiLockHandedOver = 1;

std::uintptr_t waker_token(const Task& task) noexcept {
  return static_cast<std::uintptr_t>(task.tid()) << 1;
}
std::uintptr_t handover_token(const Task& task) noexcept {
  return waker_token(task) | kPiLockHandedOver;
}
pid_t waker_of(std::uintptr_t token) noexcept { return static_cast<pid_t>(token >> 1); }

// What a PI-side waiter leaves in its wait record's data word (on its stack while it waits).
struct PiWaiter {
  std::uint32_t tid = 0;
  bool requeue_pi = false;  // FUTEX_WAIT_REQUEUE_PI: waiting on a plain word for `target`
  FutexKey target;
  bool requeued = false;  // set under the bucket locks by CMP_REQUEUE_PI
};

std::uint32_t tid_of(const FutexTable::Table::WaitRecord& r) noexcept {
  return reinterpret_cast<const PiWaiter*>(r.data)->tid;
}

enum class PiWord { kAcquired, kHeld, kRetry, kFailed };

// futex_lock_pi_atomic on behalf of `tid`, under the slot lock of the PI key: takes a free word
// (keeping OWNER_DIED, adding WAITERS if `set_waiters`), refuses the holder's own TID (EDEADLK),
// and for a held word sets FUTEX_WAITERS, then checks the owner exists (ESRCH after a re-read,
// as handle_exit_race). kRetry when the word moved under us.
PiWord lock_pi_word(GuestMemory& memory, GuestAddr uaddr, std::uint32_t tid, bool set_waiters,
                    sync::FunctionRef<bool(pid_t)> task_exists, Errno& failure) noexcept {
  auto fail = [&](Errno e) {
    failure = e;
    return PiWord::kFailed;
  };
  const ErrorOr<std::uint32_t> current = memory.load_u32(uaddr);
  if (!current) return fail(current.error());
  std::uint32_t uval = current.value();
  if ((uval & abi::futex::kTidMask) == tid) return fail(Errno::kEDEADLK);
  if ((uval & abi::futex::kTidMask) == 0) {
    const std::uint32_t newval = (uval & abi::futex::kOwnerDied) | tid | (set_waiters ? abi::futex::kWaiters : 0);
    const ErrorOr<std::uint32_t> seen = memory.compare_exchange_u32(uaddr, uval, newval);
    if (!seen) return fail(seen.error());
    return seen.value() == uval ? PiWord::kAcquired : PiWord::kRetry;
  }
  if ((uval & abi::futex::kWaiters) == 0) {
    const ErrorOr<std::uint32_t> seen =
        memory.compare_exchange_u32(uaddr, uval, uval | abi::futex::kWaiters);
    if (!seen) return fail(seen.error());
    if (seen.value() != uval) return PiWord::kRetry;
    uval |= abi::futex::kWaiters;
  }
  if (!task_exists(static_cast<pid_t>(uval & abi::futex::kTidMask))) {
    const ErrorOr<std::uint32_t> again = memory.load_u32(uaddr);
    if (!again) return fail(again.error());
    if (again.value() != uval) return PiWord::kRetry;
    return fail(Errno::kESRCH);
  }
  return PiWord::kHeld;
}

// The check every wait runs under its bucket lock (and once before it, without): block only if
// the word still holds `val` and no interruption is pending. Why not is left in `failure`:
// the load's error, EAGAIN, or `on_interrupt`.
bool word_still_holds(GuestMemory& memory, const Task& task, GuestAddr uaddr, std::uint32_t val,
                      Errno on_interrupt, Errno& failure) noexcept {
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
    failure = on_interrupt;
    return false;
  }
  return true;
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
    Errno failure = Errno::kEAGAIN;
    auto still_blocked = [&] {
      return word_still_holds(memory, task, uaddr, val, Errno::kERESTARTSYS, failure);
    };
    const sync::WaitResult r = sleep(task, SleepOn{uaddr}, key, bitset, still_blocked, deadline);
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
  const std::size_t woken = table_.wake(key, wake_limit(nr), bitset, waker_token(task));
  report_wake(task, uaddr, woken);
  return static_cast<std::int64_t>(woken);
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
      },
      waker_token(task));
  if (!counts) return failure;
  if (Tracer* t = tracer(); t != nullptr && counts->woken + counts->requeued != 0) [[unlikely]] {
    t->futex_requeue(task, uaddr, uaddr2, counts->woken, counts->requeued);
  }
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
  if ((encoded_op & abi::futex::kOpOpargShift) != 0) oparg = 1 << (oparg & 31);

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
      },
      waker_token(task));
  if (failure) return *failure;
  report_wake(task, uaddr, woken1);
  report_wake(task, uaddr2, woken2);
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
    bitsets[i] = abi::futex::kBitsetMatchAny;
  }
  for (;;) {
    Errno failure = Errno::kEAGAIN;
    auto still_blocked = [&](std::size_t i) {
      return word_still_holds(memory, task, entries[i].uaddr, entries[i].val, Errno::kERESTARTSYS,
                              failure);
    };
    const sync::WaitResult r = sleep_multiple(
        task, entries, std::span<const FutexKey>(keys.data(), entries.size()),
        std::span<const std::uint32_t>(bitsets.data(), entries.size()), still_blocked, deadline);
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
    // Runs under the slot lock (and once before it: every step is one user space may take without
    // the lock, a cmpxchg on the word). Returns whether to block.
    auto attempt = [&] {
      switch (lock_pi_word(memory, uaddr, me, /*set_waiters=*/false, task_exists, failure)) {
        case PiWord::kAcquired:
          outcome = Outcome::kAcquired;
          return false;
        case PiWord::kRetry:
          outcome = Outcome::kRetry;
          return false;
        case PiWord::kFailed:
          outcome = Outcome::kFailed;
          return false;
        case PiWord::kHeld:
          break;
      }
      outcome = Outcome::kFailed;
      if (trylock) {
        failure = Errno::kEAGAIN;
        return false;
      }
      if (task.interrupt_pending()) {
        failure = Errno::kERESTARTNOINTR;
        return false;
      }
      outcome = Outcome::kBlock;
      return true;
    };
    PiWaiter self{me, false, {}, false};
    const sync::WaitResult r = sleep(task, SleepOn{uaddr}, key, abi::futex::kBitsetMatchAny,
                                     attempt, deadline, reinterpret_cast<std::uintptr_t>(&self));
    switch (r.status) {
      case WaitStatus::kWoken:
        // unlock_pi (or a dying owner) handed us the lock: the word already holds our TID.
        return 0;
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
  table_.with_locked(key, [&](Table::LockedSlots& slot) {
    const Table::WaitRecord* next = slot.first(key);
    if (next == nullptr && !store_if_none) return;
    const std::uint32_t newval =
        next != nullptr ? abi::futex::kWaiters | extra_bits | tid_of(*next)
                        : (uval & abi::futex::kWaiters) | extra_bits;
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
    if (next != nullptr) slot.wake_first(key, handover_token(task));
  });
  if (failure) return *failure;
  if (outcome == HandOver::kHandedOver) report_wake(task, uaddr, 1);
  return outcome;
}

ErrorOr<std::int64_t> FutexTable::unlock_pi(Task& task, GuestAddr uaddr, bool shared) noexcept {
  GuestMemory& memory = task.memory();
  const auto me = static_cast<std::uint32_t>(task.tid());
  for (;;) {
    const std::uint32_t uval = FUTEXBOX_TRY(memory.load_u32(uaddr));
    if ((uval & abi::futex::kTidMask) != me) return Errno::kEPERM;
    FutexKey key;
  FUTEXBOX_TRY(FutexKey::resolve(memory, uaddr, shared, key));
    key.pi = true;
    std::optional<Errno> failure;
    bool changed = false;
    bool handed_over = false;
    table_.with_locked(key, [&](Table::LockedSlots& slot) {
      const Table::WaitRecord* next = slot.first(key);
      // With a waiter the lock goes straight to it; otherwise the word is cleared (WAITERS and
      // OWNER_DIED are not kept: we own it and nobody waits).
      const std::uint32_t newval =
          next != nullptr ? abi::futex::kWaiters | tid_of(*next) : 0;
      const ErrorOr<std::uint32_t> seen = memory.compare_exchange_u32(uaddr, uval, newval);
      if (!seen) {
        failure = seen.error();
        return;
      }
      if (seen.value() != uval) {
        changed = true;  // user space moved the word under us: start over (Linux's EAGAIN retry)
        return;
      }
      if (next != nullptr) {
        slot.wake_first(key, handover_token(task));
        handed_over = true;
      }
    });
    if (failure) return *failure;
    if (changed) continue;
    if (handed_over) report_wake(task, uaddr, 1);
    return 0;
  }
}

ErrorOr<std::int64_t> FutexTable::wait_requeue_pi(Task& task, GuestAddr uaddr, bool shared,
                                                  std::uint32_t val,
                                                  const sync::Deadline& deadline,
                                                  GuestAddr uaddr2) noexcept {
  if (uaddr == uaddr2) return Errno::kEINVAL;
  GuestMemory& memory = task.memory();
  FutexKey key2;
  FUTEXBOX_TRY(FutexKey::resolve(memory, uaddr2, shared, key2));
  FutexKey key;
  FUTEXBOX_TRY(FutexKey::resolve(memory, uaddr, shared, key));
  if (key == key2) return Errno::kEINVAL;  // two addresses of one shared object
  key2.pi = true;
  PiWaiter self{static_cast<std::uint32_t>(task.tid()), true, key2, false};
  Errno failure = Errno::kEAGAIN;
  auto still_blocked = [&] {
    return word_still_holds(memory, task, uaddr, val, Errno::kERESTARTNOINTR, failure);
  };
  for (;;) {
    // Woken once requeued, it was woken on the PI lock (by whoever handed it over).
    const sync::WaitResult r =
        sleep(task, SleepOn{uaddr, uaddr2, &self.requeued}, key, abi::futex::kBitsetMatchAny,
              still_blocked, deadline, reinterpret_cast<std::uintptr_t>(&self));
    switch (r.status) {
      case WaitStatus::kWoken:
        // Owning uaddr2 (taken for us by the requeue, or handed over after it) is success; a
        // plain wake before any requeue is EWOULDBLOCK (handle_early_requeue_pi_wakeup).
        return (r.token & kPiLockHandedOver) != 0 ? ErrorOr<std::int64_t>(0)
                                                  : ErrorOr<std::int64_t>(Errno::kEAGAIN);
      case WaitStatus::kMismatch:
        return failure;
      case WaitStatus::kTimedOut:
        return Errno::kETIMEDOUT;
      case WaitStatus::kInterrupted:
        if (!task.interrupt_pending()) continue;
        // Before the requeue a signal restarts the call; blocked on the PI lock after it, the
        // interrupted lock attempt is reported as EWOULDBLOCK.
        return self.requeued ? Errno::kEAGAIN : Errno::kERESTARTNOINTR;
    }
  }
}

ErrorOr<std::int64_t> FutexTable::cmp_requeue_pi(Task& task, GuestAddr uaddr, bool shared,
                                                 GuestAddr uaddr2, int nr_wake, int nr_requeue,
                                                 std::uint32_t cmpval,
                                                 sync::FunctionRef<bool(pid_t)> task_exists) noexcept {
  if (nr_wake < 0 || nr_requeue < 0) return Errno::kEINVAL;
  if (uaddr == uaddr2 || nr_wake != 1) return Errno::kEINVAL;
  GuestMemory& memory = task.memory();
  FutexKey key1;
  FUTEXBOX_TRY(FutexKey::resolve(memory, uaddr, shared, key1));
  FutexKey key2;
  FUTEXBOX_TRY(FutexKey::resolve(memory, uaddr2, shared, key2));
  if (key1 == key2) return Errno::kEINVAL;
  key2.pi = true;
  for (;;) {
    std::optional<Errno> failure;
    bool retry = false;
    bool acquired_for_top = false;  // the oldest waiter was woken owning uaddr2
    std::int64_t task_count = 0;
    table_.with_locked_pair(key1, key2, [&](Table::LockedSlots& slots) {
      const ErrorOr<std::uint32_t> current = memory.load_u32(uaddr);
      if (!current) {
        failure = current.error();
        return;
      }
      if (current.value() != cmpval) {
        failure = Errno::kEAGAIN;
        return;
      }
      // futex_proxy_trylock_atomic: uaddr2 must be readable even with nobody to requeue; then
      // take it for the oldest waiter if it is free.
      const ErrorOr<std::uint32_t> pi_word = memory.load_u32(uaddr2);
      if (!pi_word) {
        failure = pi_word.error();
        return;
      }
      const Table::WaitRecord* top = slots.first(key1);
      if (top != nullptr) {
        const auto* info = reinterpret_cast<const PiWaiter*>(top->data);
        if (info == nullptr || !info->requeue_pi || !(info->target == key2)) {
          failure = Errno::kEINVAL;
          return;
        }
        Errno why = Errno::kEINVAL;
        // FUTEX_WAITERS is forced onto a word taken this way only when more waiters may follow
        // (nr_requeue > 0), as the host kernel does.
        switch (lock_pi_word(memory, uaddr2, info->tid, /*set_waiters=*/nr_requeue > 0,
                             task_exists, why)) {
          case PiWord::kAcquired:
            slots.wake_first(key1, handover_token(task));
            acquired_for_top = true;
            task_count = 1;
            break;
          case PiWord::kHeld:
            break;
          case PiWord::kRetry:
            retry = true;
            return;
          case PiWord::kFailed:
            failure = why;
            return;
        }
      }
      // Requeue onto the PI lock: nr_requeue more, or nr_requeue + 1 if nobody got the lock.
      slots.requeue(key1, key2, [&](Table::WaitRecord& r) {
        if (task_count - 1 >= nr_requeue) return sync::FilterOp::kStop;
        auto* info = reinterpret_cast<PiWaiter*>(r.data);
        if (info == nullptr || !info->requeue_pi || !(info->target == key2)) {
          failure = Errno::kEINVAL;
          return sync::FilterOp::kStop;
        }
        info->requeued = true;
        ++task_count;
        return sync::FilterOp::kUnpark;
      });
    });
    if (retry) continue;
    if (failure) return *failure;
    report_wake(task, uaddr, acquired_for_top ? 1 : 0);
    if (Tracer* t = tracer(); t != nullptr && task_count > (acquired_for_top ? 1 : 0)) [[unlikely]] {
      t->futex_requeue(task, uaddr, uaddr2, acquired_for_top ? 1 : 0,
                       static_cast<std::size_t>(task_count - (acquired_for_top ? 1 : 0)));
    }
    return task_count;
  }
}

// The one way every op sleeps (wait, waitv, lock_pi, wait_requeue_pi): the task is marked as in a
// futex wait while it is queued (for thread-exit and signal bookkeeping), and an attached tracer
// hears of the wait before the thread sleeps (under no lock: from the lot's before_sleep hook,
// after the bucket lock is released) and of the wake-up after it, with the waker's tid from the
// unpark token.
sync::WaitResult FutexTable::sleep(Task& task, const SleepOn& on, const FutexKey& key,
                                   std::uint32_t bitset, sync::FunctionRef<bool()> still_blocked,
                                   const sync::Deadline& deadline, std::uintptr_t data) noexcept {
  const sync::WaitResult r = table_.wait(
      key, bitset, still_blocked, deadline, /*interruptible=*/true,
      [&] {
        task.set_in_futex_wait(true);
        if (Tracer* t = tracer()) [[unlikely]] t->futex_wait(task, on.uaddr);
      },
      data);
  task.set_in_futex_wait(false);
  if (r.status == WaitStatus::kWoken) {
    if (Tracer* t = tracer()) [[unlikely]] {
      const bool requeued = on.requeued != nullptr && *on.requeued;
      t->futex_woken(task, requeued ? on.requeue_target : on.uaddr, waker_of(r.token));
    }
  }
  return r;
}

sync::WaitResult FutexTable::sleep_multiple(Task& task, std::span<const FutexWaitvEntry> entries,
                                            std::span<const FutexKey> keys,
                                            std::span<const std::uint32_t> bitsets,
                                            sync::FunctionRef<bool(std::size_t)> still_blocked,
                                            const sync::Deadline& deadline) noexcept {
  const sync::WaitResult r = table_.wait_multiple(
      keys, bitsets, still_blocked, task.waitv_storage(), deadline, /*interruptible=*/true, [&] {
        task.set_in_futex_wait(true);
        if (Tracer* t = tracer()) [[unlikely]] {
          for (const FutexWaitvEntry& e : entries) t->futex_wait(task, e.uaddr);
        }
      });
  task.set_in_futex_wait(false);
  if (r.status == WaitStatus::kWoken) {
    if (Tracer* t = tracer()) [[unlikely]] {
      t->futex_woken(task, entries[r.index].uaddr, waker_of(r.token));
    }
  }
  return r;
}

}  // namespace futexbox::kernel
