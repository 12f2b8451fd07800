#include "kernel/guest_memory.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>

namespace futexbox::kernel {

std::uint64_t next_object_id() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

ErrorOr<std::uint32_t> GuestMemory::fetch_op_u32(GuestAddr addr, FetchOp op,
                                                 std::uint32_t operand) noexcept {
  std::uint32_t old = FUTEXBOX_TRY(load_u32(addr));
  for (;;) {
    std::uint32_t desired = 0;
    switch (op) {
      case FetchOp::kSet:
        desired = operand;
        break;
      case FetchOp::kAdd:
        desired = old + operand;
        break;
      case FetchOp::kOr:
        desired = old | operand;
        break;
      case FetchOp::kAndNot:
        desired = old & ~operand;
        break;
      case FetchOp::kXor:
        desired = old ^ operand;
        break;
    }
    const std::uint32_t seen = FUTEXBOX_TRY(compare_exchange_u32(addr, old, desired));
    if (seen == old) return old;
    old = seen;
  }
}

MemoryObject::MemoryObject(std::size_t size)
    : id_(next_object_id()), size_(size), words_(new std::uint32_t[(size + 3) / 4]()) {}

FlatGuestMemory::FlatGuestMemory() : space_id_(next_object_id()) { publish({}); }

void FlatGuestMemory::publish(RegionTable table) {
  std::sort(table.begin(), table.end(),
            [](const Region& a, const Region& b) { return a.base < b.base; });
  tables_.push_back(std::make_unique<RegionTable>(std::move(table)));
  regions_.store(tables_.back().get(), std::memory_order_release);
}

ErrorOr<void> FlatGuestMemory::map(GuestAddr base, std::size_t size, Prot prot,
                                   std::shared_ptr<MemoryObject> object,
                                   std::size_t object_offset) {
  if (base % kPageSize != 0 || size == 0 || size % kPageSize != 0 || base + size < base) {
    return Errno::kEINVAL;
  }
  const bool shared = object != nullptr;
  if (!shared) {
    object = std::make_shared<MemoryObject>(size);
    object_offset = 0;
  }
  if (object_offset + size > object->size()) return Errno::kEINVAL;
  sync::MutexLock lock(writer_mutex_);
  RegionTable table = *regions_.load(std::memory_order_relaxed);
  for (const Region& r : table) {
    if (base < r.base + r.size && r.base < base + size) return Errno::kEINVAL;
  }
  table.push_back(Region{base, size, prot, std::move(object), object_offset, shared});
  publish(std::move(table));
  return {};
}

ErrorOr<void> FlatGuestMemory::protect(GuestAddr base, Prot prot) {
  sync::MutexLock lock(writer_mutex_);
  RegionTable table = *regions_.load(std::memory_order_relaxed);
  for (Region& r : table) {
    if (r.base == base) {
      r.prot = prot;
      publish(std::move(table));
      return {};
    }
  }
  return Errno::kEINVAL;
}

ErrorOr<void> FlatGuestMemory::unmap(GuestAddr base) {
  sync::MutexLock lock(writer_mutex_);
  RegionTable table = *regions_.load(std::memory_order_relaxed);
  auto it = std::find_if(table.begin(), table.end(),
                         [&](const Region& r) { return r.base == base; });
  if (it == table.end()) return Errno::kEINVAL;
  table.erase(it);
  publish(std::move(table));
  return {};
}

const FlatGuestMemory::Region* FlatGuestMemory::find(const RegionTable& table, GuestAddr addr,
                                                     std::size_t size) const noexcept {
  auto it = std::upper_bound(table.begin(), table.end(), addr,
                             [](GuestAddr a, const Region& r) { return a < r.base; });
  if (it == table.begin()) return nullptr;
  --it;
  if (addr - it->base >= it->size || size > it->size - (addr - it->base)) return nullptr;
  return &*it;
}

ErrorOr<std::byte*> FlatGuestMemory::translate(GuestAddr addr, std::size_t size,
                                               Prot need) const noexcept {
  const Region* r = find(*regions_.load(std::memory_order_acquire), addr, size);
  if (r == nullptr) return Errno::kEFAULT;
  const auto have = static_cast<unsigned>(r->prot);
  if ((have & static_cast<unsigned>(need)) != static_cast<unsigned>(need)) return Errno::kEFAULT;
  return r->object->data() + r->object_offset + (addr - r->base);
}

namespace {
std::atomic_ref<std::uint32_t> word_at(std::byte* p) noexcept {
  return std::atomic_ref<std::uint32_t>(*reinterpret_cast<std::uint32_t*>(p));
}
}  // namespace

ErrorOr<std::uint32_t> FlatGuestMemory::load_u32(GuestAddr addr) noexcept {
  std::byte* p = FUTEXBOX_TRY(translate(addr, 4, Prot::kRead));
  if (addr % 4 != 0) {
    // Linux's get_user() reads a misaligned word too (FUTEX_UNLOCK_PI checks ownership before
    // alignment); like it, such a read is not atomic.
    std::uint32_t v;
    std::memcpy(&v, p, sizeof(v));
    return v;
  }
  return word_at(p).load(std::memory_order_seq_cst);
}

ErrorOr<void> FlatGuestMemory::store_u32(GuestAddr addr, std::uint32_t value) noexcept {
  if (addr % 4 != 0) return Errno::kEINVAL;  // atomic stores need alignment
  std::byte* p = FUTEXBOX_TRY(translate(addr, 4, Prot::kWrite));
  word_at(p).store(value, std::memory_order_seq_cst);
  return {};
}

ErrorOr<std::uint32_t> FlatGuestMemory::compare_exchange_u32(GuestAddr addr,
                                                             std::uint32_t expected,
                                                             std::uint32_t desired) noexcept {
  if (addr % 4 != 0) return Errno::kEINVAL;  // the futex layer checks alignment before any RMW
  // Linux faults a read-modify-write in for writing: a read-only word is EFAULT too.
  std::byte* p = FUTEXBOX_TRY(translate(addr, 4, Prot::kReadWrite));
  word_at(p).compare_exchange_strong(expected, desired, std::memory_order_seq_cst);
  return expected;
}

ErrorOr<void> FlatGuestMemory::copy_in(GuestAddr addr, void* dst, std::size_t size) noexcept {
  std::byte* p = FUTEXBOX_TRY(translate(addr, size, Prot::kRead));
  std::memcpy(dst, p, size);
  return {};
}

ErrorOr<void> FlatGuestMemory::copy_out(GuestAddr addr, const void* src,
                                        std::size_t size) noexcept {
  std::byte* p = FUTEXBOX_TRY(translate(addr, size, Prot::kWrite));
  std::memcpy(p, src, size);
  return {};
}

ErrorOr<MemoryIdentity> FlatGuestMemory::identity(GuestAddr addr) noexcept {
  const Region* r = find(*regions_.load(std::memory_order_acquire), addr, 1);
  if (r == nullptr || (static_cast<unsigned>(r->prot) & static_cast<unsigned>(Prot::kRead)) == 0) {
    return Errno::kEFAULT;
  }
  const bool writable =
      (static_cast<unsigned>(r->prot) & static_cast<unsigned>(Prot::kWrite)) != 0;
  if (!r->shared) return MemoryIdentity{0, addr, writable};
  return MemoryIdentity{r->object->id(), r->object_offset + (addr - r->base), writable};
}

}  // namespace futexbox::kernel
