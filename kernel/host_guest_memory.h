// HostGuestMemory: guest address == host address, for a guest running in futexbox's own process
// (the in-process agent). A bad address must still be EFAULT, never a crash of the host: every
// access goes through a few instructions whose faults a SIGSEGV/SIGBUS handler turns into an
// EFAULT return (the kernel's exception-table technique, as gVisor's safecopy does). Faults
// anywhere else are passed on to whatever handler was installed before.
//
// Limits: every mapping counts as private to the process (shared keys are (address space,
// address)); telling MAP_SHARED objects apart would need /proc/self/maps. The agent forwards
// shared futex ops to the host kernel, so it does not need them.
#pragma once

#include <signal.h>

#include "kernel/guest_memory.h"

namespace futexbox::kernel {

class HostGuestMemory final : public GuestMemory {
 public:
  // Installs the fault handler on first use (process-wide, once), unless the embedder owns
  // SIGSEGV and SIGBUS itself and calls fix_up_fault() from its own handler (the agent does: the
  // guest's handlers for those signals are dispatched from the same entry).
  enum class FaultHandler : bool { kInstall, kEmbedderCalls };
  explicit HostGuestMemory(FaultHandler handler = FaultHandler::kInstall);

  // For a SIGSEGV/SIGBUS handler: if the signal is a fault (the kernel's, si_code > 0) of one of
  // the accessors' instructions, moves the context to the accessor's EFAULT return and says true;
  // otherwise (another fault, or a SIGSEGV someone sent with kill, tgkill or raise, whatever the
  // thread was executing) leaves it alone and says false.
  static bool fix_up_fault(const siginfo_t& info, void* ucontext) noexcept;

  [[nodiscard]] std::uint64_t address_space_id() const noexcept override { return space_id_; }
  ErrorOr<std::uint32_t> load_u32(GuestAddr addr) noexcept override;
  ErrorOr<void> store_u32(GuestAddr addr, std::uint32_t value) noexcept override;
  ErrorOr<std::uint32_t> compare_exchange_u32(GuestAddr addr, std::uint32_t expected,
                                              std::uint32_t desired) noexcept override;
  ErrorOr<void> copy_in(GuestAddr addr, void* dst, std::size_t size) noexcept override;
  ErrorOr<void> copy_out(GuestAddr addr, const void* src, std::size_t size) noexcept override;
  ErrorOr<MemoryIdentity> identity(GuestAddr addr) noexcept override;

 private:
  std::uint64_t space_id_;
};

}  // namespace futexbox::kernel
