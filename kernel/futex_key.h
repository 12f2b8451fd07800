// FutexKey: what two futex operations must agree on to meet.
//
// Linux (kernel/futex/core.c get_futex_key) has three kinds, and a private key never matches a
// shared one even for the same address (FUT_OFF_MMSHARED):
// - private: (address space, address), for FUTEX_PRIVATE_FLAG; no lookup of the memory at all;
// - shared on private memory: (address space, address, shared), when the word is in memory only
//   this address space maps;
// - shared object: (object, offset), when the word is in a MAP_SHARED object, so two processes
//   mapping it at different addresses still meet.
#pragma once

#include <cstddef>
#include <cstdint>

#include "abi/memory.h"
#include "kernel/error_or.h"
#include "kernel/guest_memory.h"

namespace futexbox::kernel {

struct FutexKey {
  enum class Kind : std::uint8_t { kPrivate, kSharedPrivate, kSharedObject };
  Kind kind = Kind::kPrivate;
  std::uint64_t scope = 0;   // address space id, or memory object id
  std::uint64_t offset = 0;  // guest address, or offset in the object
  // PI waiters (FUTEX_LOCK_PI) queue apart from plain waiters on the same word; see
  // docs/futex.md for the one place this differs from Linux.
  bool pi = false;

  friend bool operator==(const FutexKey&, const FutexKey&) = default;

  // Fills `out` with the key of `addr`. EINVAL if `addr` is not 4-byte aligned; EFAULT if it is
  // not a user address (get_futex_key's access_ok, checked for every op, private ones included);
  // for shared keys, EFAULT if nothing readable is mapped there, or if it is read-only private
  // memory.
  // (An out-parameter, not ErrorOr<FutexKey>: copying that union through the stack made GCC emit
  // reloads that defeat store forwarding, a third of a no-waiter FUTEX_WAKE.)
  static ErrorOr<void> resolve(GuestMemory& memory, GuestAddr addr, bool shared,
                               FutexKey& out) noexcept {
    if (addr % 4 != 0) return Errno::kEINVAL;
    if (addr > abi::kUserPtrMax) return Errno::kEFAULT;
    if (!shared) {
      out = FutexKey{Kind::kPrivate, memory.address_space_id(), addr};
      return {};
    }
    const MemoryIdentity id = FUTEXBOX_TRY(memory.identity(addr));
    if (id.object == 0) {
      // "A RO anonymous page will never change and thus doesn't make sense for futex
      // operations" (get_futex_key): EFAULT, even for a wait.
      if (!id.writable) return Errno::kEFAULT;
      out = FutexKey{Kind::kSharedPrivate, memory.address_space_id(), addr};
      return {};
    }
    out = FutexKey{Kind::kSharedObject, id.object, id.offset};
    return {};
  }

  static ErrorOr<FutexKey> for_address(GuestMemory& memory, GuestAddr addr, bool shared) noexcept {
    FutexKey key;
    FUTEXBOX_TRY(resolve(memory, addr, shared, key));
    return key;
  }
};

struct FutexKeyHash {
  std::size_t operator()(const FutexKey& key) const noexcept {
    // Word addresses are 4-aligned and scopes small integers: mix both before the table's own
    // Fibonacci step (which keeps the high bits).
    std::uint64_t h = key.offset >> 2;
    h ^= (key.scope + static_cast<std::uint64_t>(key.kind) + (key.pi ? 8 : 0)) *
         0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return static_cast<std::size_t>(h);
  }
};

}  // namespace futexbox::kernel
