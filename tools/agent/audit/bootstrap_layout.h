// Where the agent and its audit module (libfutexbox-audit.so) meet in a guest's address space.
// Both are in every image of a guest; this is the only thing they share, since the audit module
// lives in a link namespace of its own and links nothing (not even libc).
//
//   kGadgetAddress  page 0: the agent's syscall gadget (sync/host_syscall.h), relocated here by
//                   each image's agent constructor
//   kStubAddress    page 1: the audit module's own syscall stub, which serves the image's calls
//                   from the first instruction ld.so runs until the agent's constructor
//   kStateAddress   page 2 (read-write): BootstrapState
//
// The seccomp filter lets calls from [kGadgetAddress, kTrustedEnd) through: pages 0 and 1. Each
// page is mapped with MAP_FIXED_NOREPLACE into a fresh image, so the address must be free in
// every image and usable by every runtime that lays out the address space itself:
// - Linux puts PIE programs at 0x5555'5555'4000 plus up to 1 TiB of randomisation, their brk heap
//   just above, and the mmap area near the top of the 47-bit space growing down: nothing reaches
//   0x567f'ff00'0000, 170 GiB above the highest PIE base;
// - ThreadSanitizer reserves everything outside its application ranges and dies on a mapping
//   elsewhere ("unexpected memory mapping"); 0x5500'0000'0000-0x5680'0000'0000 is one of them
//   (its PIE range). The MemorySanitizer's 0x5100'0000'0000-0x6000'0000'0000 and
//   AddressSanitizer's high memory (above 0x1000'7fff'8000) hold it too. (The old address,
//   0x6fff'ff00'0000, was in a range ThreadSanitizer reserves.)
#pragma once

#include <cstdint>

#include "abi/signal.h"

namespace futexbox::tools::agent::bootstrap {

inline constexpr std::uintptr_t kPage = 4096;
inline constexpr std::uintptr_t kGadgetAddress = 0x567f'ff00'0000;
inline constexpr std::uintptr_t kStubAddress = kGadgetAddress + kPage;
inline constexpr std::uintptr_t kStateAddress = kGadgetAddress + 2 * kPage;
inline constexpr std::uintptr_t kTrustedEnd = kStubAddress + kPage;

inline constexpr std::uint64_t kMagic = 0x66'78'62'6f'6f'74'31'00;  // "fxboot1"

// What the audit module leaves for the agent's constructor.
struct BootstrapState {
  std::uint64_t magic;        // kMagic once the module's SIGSYS handler is in place
  std::uint64_t handler;      // that handler: what the agent finds installed for SIGSYS
  abi::sig::SigAction guest_sigsys;  // the guest's own SIGSYS action, set before the agent ran
  std::uint64_t calls;        // trapped calls the module served
};

}  // namespace futexbox::tools::agent::bootstrap
