#include "tools/agent/seccomp_filter.h"

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <array>
#include <cerrno>
#include <cstddef>

#include "abi/syscall_numbers.h"
#include "sync/host_syscall.h"
#include "tools/agent/trapped_calls.h"

namespace futexbox::tools::agent {
namespace {

constexpr const auto& kTrapped = kTrappedCalls;

constexpr std::uint32_t kNrOffset = offsetof(seccomp_data, nr);
constexpr std::uint32_t kArchOffset = offsetof(seccomp_data, arch);
constexpr std::uint32_t kIpLowOffset = offsetof(seccomp_data, instruction_pointer);
constexpr std::uint32_t kIpHighOffset = kIpLowOffset + 4;

}  // namespace

long install_seccomp_filter(std::uintptr_t gadget_begin, std::uintptr_t gadget_end) noexcept {
  const auto begin_hi = static_cast<std::uint32_t>(gadget_begin >> 32);
  const auto begin_lo = static_cast<std::uint32_t>(gadget_begin);
  const auto last = gadget_end - 1;
  // The gadget is a few hundred bytes: it never straddles a 4 GiB boundary, which keeps the
  // range check to one compare of the high word.
  if (static_cast<std::uint32_t>(last >> 32) != begin_hi || gadget_end <= gadget_begin) {
    return -EINVAL;
  }
  const auto end_lo = static_cast<std::uint32_t>(gadget_end);
  constexpr auto n = static_cast<unsigned char>(kTrapped.size());

  // Layout: [0] load arch, [1] arch check, [2] load nr, [3..3+n) one jeq per trapped number,
  // [3+n] allow, then the IP check (reached by every jeq), then trap.
  std::array<sock_filter, 3 + kTrapped.size() + 1 + 7> prog{};
  std::size_t i = 0;
  prog[i++] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArchOffset);
  prog[i++] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, n + 1);  // else allow
  prog[i++] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNrOffset);
  for (std::size_t k = 0; k < kTrapped.size(); ++k) {
    // On a match, jump over the remaining jeqs and the allow to the IP check.
    const auto to_ip_check = static_cast<unsigned char>(kTrapped.size() - k);
    prog[i++] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kTrapped[k], to_ip_check, 0);
  }
  prog[i++] = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  // IP check: allow iff high == begin_hi && begin_lo <= low < end_lo.
  prog[i++] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpHighOffset);
  prog[i++] = BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, begin_hi, 0, 3);      // else trap
  prog[i++] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kIpLowOffset);
  prog[i++] = BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, begin_lo, 0, 1);      // below: trap
  prog[i++] = BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, end_lo, 0, 1);        // in range: allow
  prog[i++] = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
  prog[i++] = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  static_assert(prog.size() == 3 + kTrapped.size() + 1 + 7);

  sock_fprog fprog{static_cast<unsigned short>(i), prog.data()};
  if (const long r = sync::host_syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); r != 0) {
    return r;
  }
  return sync::host_syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                            &fprog);
}

}  // namespace futexbox::tools::agent
