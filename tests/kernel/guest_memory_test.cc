#include "kernel/guest_memory.h"

#include <gtest/gtest.h>

#include "kernel/futex_key.h"
#include "kernel/host_guest_memory.h"

#include <sys/mman.h>

namespace futexbox::kernel {
namespace {

constexpr GuestAddr kBase = 0x400000;
constexpr std::size_t kPage = FlatGuestMemory::kPageSize;

TEST(FlatGuestMemory, AccessesWithinRegionsAndEfaultOutside) {
  FlatGuestMemory m;
  ASSERT_TRUE(m.map(kBase, 2 * kPage, Prot::kReadWrite));
  EXPECT_TRUE(m.store_u32(kBase + 8, 42));
  EXPECT_EQ(m.load_u32(kBase + 8).value(), 42u);
  EXPECT_EQ(m.load_u32(kBase - 4).error(), Errno::kEFAULT);
  EXPECT_EQ(m.load_u32(kBase + 2 * kPage).error(), Errno::kEFAULT);
  // A copy that runs off the end of the region faults as a whole.
  char buf[16];
  EXPECT_EQ(m.copy_in(kBase + 2 * kPage - 8, buf, sizeof(buf)).error(), Errno::kEFAULT);
  EXPECT_TRUE(m.copy_in(kBase + 2 * kPage - 16, buf, sizeof(buf)));
}

TEST(FlatGuestMemory, ProtectionsAreEnforced) {
  FlatGuestMemory m;
  ASSERT_TRUE(m.map(kBase, kPage, Prot::kRead));
  EXPECT_EQ(m.load_u32(kBase).value(), 0u);
  EXPECT_EQ(m.store_u32(kBase, 1).error(), Errno::kEFAULT);
  EXPECT_EQ(m.compare_exchange_u32(kBase, 0, 1).error(), Errno::kEFAULT);
  ASSERT_TRUE(m.protect(kBase, Prot::kNone));
  EXPECT_EQ(m.load_u32(kBase).error(), Errno::kEFAULT);
  EXPECT_EQ(m.identity(kBase).error(), Errno::kEFAULT);
  ASSERT_TRUE(m.protect(kBase, Prot::kReadWrite));
  EXPECT_TRUE(m.store_u32(kBase, 1));
  ASSERT_TRUE(m.unmap(kBase));
  EXPECT_EQ(m.load_u32(kBase).error(), Errno::kEFAULT);
}

TEST(FlatGuestMemory, MapRejectsBadRanges) {
  FlatGuestMemory m;
  EXPECT_EQ(m.map(kBase + 1, kPage, Prot::kRead).error(), Errno::kEINVAL);
  EXPECT_EQ(m.map(kBase, 0, Prot::kRead).error(), Errno::kEINVAL);
  ASSERT_TRUE(m.map(kBase, 2 * kPage, Prot::kRead));
  EXPECT_EQ(m.map(kBase + kPage, kPage, Prot::kRead).error(), Errno::kEINVAL);  // overlap
}

TEST(FlatGuestMemory, MisalignedLoadsWorkAndAtomicWritesAreRefused) {
  FlatGuestMemory m;
  ASSERT_TRUE(m.map(kBase, kPage, Prot::kReadWrite));
  const std::uint8_t bytes[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE(m.copy_out(kBase, bytes, sizeof(bytes)));
  EXPECT_EQ(m.load_u32(kBase + 1).value(), 0x05040302u);
  EXPECT_EQ(m.store_u32(kBase + 1, 0).error(), Errno::kEINVAL);
  EXPECT_EQ(m.compare_exchange_u32(kBase + 2, 0, 1).error(), Errno::kEINVAL);
  EXPECT_EQ(m.load_u32(kBase + kPage - 2).error(), Errno::kEFAULT);  // runs off the region
}

TEST(FlatGuestMemory, FetchOpsReturnTheOldValue) {
  FlatGuestMemory m;
  ASSERT_TRUE(m.map(kBase, kPage, Prot::kReadWrite));
  ASSERT_TRUE(m.store_u32(kBase, 0b1100));
  EXPECT_EQ(m.fetch_op_u32(kBase, FetchOp::kOr, 0b0011).value(), 0b1100u);
  EXPECT_EQ(m.fetch_op_u32(kBase, FetchOp::kAndNot, 0b0101).value(), 0b1111u);
  EXPECT_EQ(m.fetch_op_u32(kBase, FetchOp::kXor, 0b1111).value(), 0b1010u);
  EXPECT_EQ(m.fetch_op_u32(kBase, FetchOp::kAdd, 0xffffffff).value(), 0b0101u);
  EXPECT_EQ(m.fetch_op_u32(kBase, FetchOp::kSet, 9).value(), 0b0100u);
  EXPECT_EQ(m.load_u32(kBase).value(), 9u);
}

TEST(FlatGuestMemory, SharedObjectIsSeenByTwoAddressSpaces) {
  auto object = std::make_shared<MemoryObject>(kPage);
  FlatGuestMemory a;
  FlatGuestMemory b;
  ASSERT_TRUE(a.map(kBase, kPage, Prot::kReadWrite, object));
  ASSERT_TRUE(b.map(2 * kBase, kPage, Prot::kReadWrite, object));
  ASSERT_TRUE(a.store_u32(kBase + 12, 77));
  EXPECT_EQ(b.load_u32(2 * kBase + 12).value(), 77u);
  EXPECT_NE(a.address_space_id(), b.address_space_id());
  // Shared keys meet across address spaces; private keys never do.
  const FutexKey ka = FutexKey::for_address(a, kBase + 12, true).value();
  const FutexKey kb = FutexKey::for_address(b, 2 * kBase + 12, true).value();
  EXPECT_EQ(ka, kb);
  EXPECT_EQ(ka.kind, FutexKey::Kind::kSharedObject);
  EXPECT_NE(FutexKey::for_address(a, kBase + 12, false).value(),
            FutexKey::for_address(b, 2 * kBase + 12, false).value());
}

TEST(FutexKey, KindsNeverMatchEachOther) {
  FlatGuestMemory m;
  ASSERT_TRUE(m.map(kBase, kPage, Prot::kReadWrite));
  const FutexKey priv = FutexKey::for_address(m, kBase, false).value();
  const FutexKey shared = FutexKey::for_address(m, kBase, true).value();
  EXPECT_EQ(priv.kind, FutexKey::Kind::kPrivate);
  EXPECT_EQ(shared.kind, FutexKey::Kind::kSharedPrivate);
  EXPECT_NE(priv, shared);
  EXPECT_EQ(FutexKey::for_address(m, kBase + 2, false).error(), Errno::kEINVAL);
  // A private key needs no memory behind it; a shared one does.
  EXPECT_TRUE(FutexKey::for_address(m, 0x1000, false));
  EXPECT_EQ(FutexKey::for_address(m, 0x1000, true).error(), Errno::kEFAULT);
}

TEST(HostGuestMemory, BadAddressesAreEfaultNeverACrash) {
  HostGuestMemory m;
  void* rw = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void* ro = mmap(nullptr, kPage, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  void* none = mmap(nullptr, kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(rw, MAP_FAILED);
  const auto a_rw = reinterpret_cast<GuestAddr>(rw);
  const auto a_ro = reinterpret_cast<GuestAddr>(ro);
  const auto a_none = reinterpret_cast<GuestAddr>(none);

  EXPECT_TRUE(m.store_u32(a_rw, 7));
  EXPECT_EQ(m.load_u32(a_rw).value(), 7u);
  EXPECT_EQ(m.compare_exchange_u32(a_rw, 7, 9).value(), 7u);
  EXPECT_EQ(m.compare_exchange_u32(a_rw, 7, 11).value(), 9u);
  EXPECT_EQ(m.fetch_op_u32(a_rw, FetchOp::kAdd, 1).value(), 9u);
  EXPECT_TRUE(m.identity(a_rw).value().writable);

  EXPECT_EQ(m.load_u32(a_ro).value(), 0u);
  EXPECT_EQ(m.store_u32(a_ro, 1).error(), Errno::kEFAULT);
  EXPECT_EQ(m.compare_exchange_u32(a_ro, 0, 0).error(), Errno::kEFAULT);
  EXPECT_FALSE(m.identity(a_ro).value().writable);

  char buf[8];
  EXPECT_EQ(m.load_u32(a_none).error(), Errno::kEFAULT);
  EXPECT_EQ(m.copy_in(a_none, buf, sizeof(buf)).error(), Errno::kEFAULT);
  EXPECT_EQ(m.copy_out(a_ro, buf, sizeof(buf)).error(), Errno::kEFAULT);
  EXPECT_EQ(m.identity(a_none).error(), Errno::kEFAULT);
  EXPECT_EQ(m.load_u32(0).error(), Errno::kEFAULT);
  // A copy that runs from a good page into a bad one faults as a whole.
  void* pair = mmap(nullptr, 2 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_EQ(mprotect(static_cast<char*>(pair) + kPage, kPage, PROT_NONE), 0);
  EXPECT_EQ(m.copy_in(reinterpret_cast<GuestAddr>(pair) + kPage - 4, buf, sizeof(buf)).error(),
            Errno::kEFAULT);
  for (void* p : {rw, ro, none}) munmap(p, kPage);
  munmap(pair, 2 * kPage);
}

// A fault that is not one of the accessors' still reaches the default action.
TEST(HostGuestMemoryDeathTest, OtherFaultsStillKill) {
  HostGuestMemory m;
  EXPECT_DEATH(
      {
        volatile int* p = nullptr;
        *p = 1;
      },
      "");
}

}  // namespace
}  // namespace futexbox::kernel
