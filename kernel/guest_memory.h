// GuestMemory: the only way the kernel touches guest memory. Every access is fallible: an
// unmapped or inaccessible guest address is EFAULT, never a host crash (SerenityOS's
// copy_from_user, gVisor's usermem). The futex core depends on this interface only, so it is
// testable over a byte array (FlatGuestMemory) and usable in-process later (guest address == host
// address).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <atomic>
#include <vector>

#include "kernel/error_or.h"
#include "sync/mutex.h"

namespace futexbox::kernel {

using GuestAddr = std::uint64_t;

enum class Prot : std::uint8_t { kNone = 0, kRead = 1, kWrite = 2, kReadWrite = 3 };

// FUTEX_OP_SET, _ADD, _OR, _ANDN, _XOR, in the ABI's numbering.
enum class FetchOp : std::uint8_t { kSet = 0, kAdd = 1, kOr = 2, kAndNot = 3, kXor = 4 };

// What backs a guest address: for a shared futex key. object == 0 means the private anonymous
// memory of this address space (then offset is the address itself).
struct MemoryIdentity {
  std::uint64_t object = 0;
  std::uint64_t offset = 0;
  bool writable = false;
};

class GuestMemory {
 public:
  GuestMemory() = default;
  virtual ~GuestMemory() = default;
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  // Identifies the address space (a process after fork has a new one).
  [[nodiscard]] virtual std::uint64_t address_space_id() const noexcept = 0;

  // 32-bit accesses are atomic at 4-byte-aligned addresses. A misaligned load is allowed (not
  // atomic, like Linux's get_user); a misaligned store or compare-exchange is EINVAL (the futex
  // layer checks alignment before any of them).
  virtual ErrorOr<std::uint32_t> load_u32(GuestAddr addr) noexcept = 0;
  virtual ErrorOr<void> store_u32(GuestAddr addr, std::uint32_t value) noexcept = 0;
  // If *addr == expected, stores desired. Returns the value found (== expected on success).
  virtual ErrorOr<std::uint32_t> compare_exchange_u32(GuestAddr addr, std::uint32_t expected,
                                                      std::uint32_t desired) noexcept = 0;
  virtual ErrorOr<void> copy_in(GuestAddr addr, void* dst, std::size_t size) noexcept = 0;
  virtual ErrorOr<void> copy_out(GuestAddr addr, const void* src, std::size_t size) noexcept = 0;
  // The object behind `addr` (EFAULT if nothing readable is mapped there).
  virtual ErrorOr<MemoryIdentity> identity(GuestAddr addr) noexcept = 0;

  // Atomic read-modify-write (FUTEX_WAKE_OP), built on compare_exchange_u32; returns the old value.
  ErrorOr<std::uint32_t> fetch_op_u32(GuestAddr addr, FetchOp op, std::uint32_t operand) noexcept;

  template <class T>
  ErrorOr<T> read(GuestAddr addr) noexcept {
    T value;
    FUTEXBOX_TRY(copy_in(addr, &value, sizeof(T)));
    return value;
  }
};

// A shareable block of guest memory (MAP_SHARED): mapping it into two FlatGuestMemory instances
// makes both see the same bytes and the same shared futex keys.
class MemoryObject {
 public:
  explicit MemoryObject(std::size_t size);
  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::byte* data() noexcept { return reinterpret_cast<std::byte*>(words_.get()); }

 private:
  std::uint64_t id_;
  std::size_t size_;
  std::unique_ptr<std::uint32_t[]> words_;  // 4-byte aligned storage, zero-filled
};

// Guest addresses translated into host buffers through a table of regions, each read-write,
// read-only or inaccessible, private or backed by a shared MemoryObject.
class FlatGuestMemory final : public GuestMemory {
 public:
  static constexpr std::uint64_t kPageSize = 4096;

  FlatGuestMemory();

  // Maps [base, base + size) (page-aligned, not overlapping an existing region). Without `object`
  // the region gets fresh zeroed private memory.
  ErrorOr<void> map(GuestAddr base, std::size_t size, Prot prot,
                    std::shared_ptr<MemoryObject> object = {}, std::size_t object_offset = 0);
  ErrorOr<void> protect(GuestAddr base, Prot prot);
  ErrorOr<void> unmap(GuestAddr base);

  [[nodiscard]] std::uint64_t address_space_id() const noexcept override { return space_id_; }
  ErrorOr<std::uint32_t> load_u32(GuestAddr addr) noexcept override;
  ErrorOr<void> store_u32(GuestAddr addr, std::uint32_t value) noexcept override;
  ErrorOr<std::uint32_t> compare_exchange_u32(GuestAddr addr, std::uint32_t expected,
                                              std::uint32_t desired) noexcept override;
  ErrorOr<void> copy_in(GuestAddr addr, void* dst, std::size_t size) noexcept override;
  ErrorOr<void> copy_out(GuestAddr addr, const void* src, std::size_t size) noexcept override;
  ErrorOr<MemoryIdentity> identity(GuestAddr addr) noexcept override;

 private:
  struct Region {
    GuestAddr base;
    std::size_t size;
    Prot prot;
    std::shared_ptr<MemoryObject> object;
    std::size_t object_offset;
    bool shared;
  };
  using RegionTable = std::vector<Region>;  // sorted by base

  const Region* find(const RegionTable& table, GuestAddr addr, std::size_t size) const noexcept;
  ErrorOr<std::byte*> translate(GuestAddr addr, std::size_t size, Prot need) const noexcept;
  // Publishes a new immutable table.
  void publish(RegionTable table) FUTEXBOX_REQUIRES(writer_mutex_);

  // Readers (every access) load the current table without a lock; writers (map, protect, unmap)
  // copy it, change the copy and publish it. Old tables are kept until the memory is destroyed:
  // a reader may still be looking at one, and the MemoryObjects they hold keep the bytes of a
  // region unmapped mid-access alive (a guest racing its own munmap gets the old bytes or EFAULT,
  // never a host crash).
  std::uint64_t space_id_;
  std::atomic<const RegionTable*> regions_{nullptr};
  sync::Mutex writer_mutex_;
  std::vector<std::unique_ptr<RegionTable>> tables_ FUTEXBOX_GUARDED_BY(writer_mutex_);
};

// Fresh identifiers for address spaces and memory objects (never 0).
std::uint64_t next_object_id() noexcept;

}  // namespace futexbox::kernel
