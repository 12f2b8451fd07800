#include "tools/agent/temporary_masks.h"

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "abi/errno.h"
#include "abi/signal.h"
#include "abi/syscall_numbers.h"
#include "sync/host_syscall.h"

extern "C" {
[[noreturn]] void futexbox_enter_mask_call(ucontext_t* uc, const long* args, long nr,
                                           std::uintptr_t stub);
extern const char futexbox_mask_call_then_sigreturn[];
extern const char futexbox_mask_call_store_then_sigreturn[];
}

// The stubs, in the gadget section (the filter lets their calls through; see sync/host_syscall.h).
// rsp points at the SIGSYS frame's ucontext, as it would on return from a handler into a restorer;
// the call's number and arguments come in registers the kernel preserves (rbx, rbp, r12, r13, r14
// for nr, rdi, rsi, rdx, r10; r8 and r9 as they are), since the first syscall, which gives the
// thread the guest's own mask back (the handler's blocks nearly everything), uses the others.
// `movq $15, %rax; syscall` is spelled in bytes: libgcc's x86-64 fallback unwinder recognises a
// signal trampoline by exactly 48 c7 c0 0f 00 00 00 0f 05. 296 is the offset of uc_sigmask, 144
// that of gregs[REG_RAX].
#define FUTEXBOX_MASK_CALL_PROLOGUE \
  "    movl $14, %eax\n"            \
  "    movl $2, %edi\n"             \
  "    leaq 296(%rsp), %rsi\n"      \
  "    xorl %edx, %edx\n"           \
  "    movl $8, %r10d\n"            \
  "    syscall\n"                   \
  "    movq %rbx, %rdi\n"           \
  "    movq %rbp, %rsi\n"           \
  "    movq %r12, %rdx\n"           \
  "    movq %r13, %r10\n"           \
  "    movq %r14, %rax\n"           \
  "    syscall\n"
asm("    .pushsection futexbox_syscall,\"ax\",@progbits\n"
    "    .globl futexbox_mask_call_then_sigreturn, futexbox_mask_call_store_then_sigreturn\n"
    "    .hidden futexbox_mask_call_then_sigreturn, futexbox_mask_call_store_then_sigreturn\n"
    "futexbox_mask_call_then_sigreturn:\n" FUTEXBOX_MASK_CALL_PROLOGUE
    "    .byte 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00\n"
    "    syscall\n"
    "    hlt\n"
    "futexbox_mask_call_store_then_sigreturn:\n" FUTEXBOX_MASK_CALL_PROLOGUE
    "    movq %rax, 144(%rsp)\n"
    "    .byte 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00\n"
    "    syscall\n"
    "    hlt\n"
    "    .popsection\n"
    "\n"
    "    .text\n"
    "    .globl futexbox_enter_mask_call\n"
    "    .hidden futexbox_enter_mask_call\n"
    "    .type futexbox_enter_mask_call, @function\n"
    "futexbox_enter_mask_call:\n"
    "    movq %rcx, %r11\n"
    "    movq %rdx, %r14\n"
    "    movq %rdi, %rcx\n"
    "    movq 40(%rsi), %r9\n"
    "    movq 32(%rsi), %r8\n"
    "    movq 24(%rsi), %r13\n"
    "    movq 16(%rsi), %r12\n"
    "    movq 8(%rsi), %rbp\n"
    "    movq 0(%rsi), %rbx\n"
    "    movq %rcx, %rsp\n"
    "    jmp *%r11\n"
    "    .size futexbox_enter_mask_call, . - futexbox_enter_mask_call\n");
#undef FUTEXBOX_MASK_CALL_PROLOGUE

namespace futexbox::tools::agent {
namespace {

static_assert(offsetof(ucontext_t, uc_mcontext.gregs) + REG_RAX * sizeof(greg_t) == 144,
              "the stub stores the result at the frame's gregs[REG_RAX]");
static_assert(offsetof(ucontext_t, uc_sigmask) == 296, "the stub restores the frame's mask");

using SigSet = abi::sig::SigSet;

// The frame's siginfo, free once delivered: the cleaned mask, and pselect6's {mask, size} pair.
struct Scratch {
  SigSet mask;
  std::uint64_t pselect_pair[2];
};
static_assert(sizeof(Scratch) <= sizeof(siginfo_t));

// Reads the guest's mask at `addr` into `scratch.mask` with SIGSYS taken out; false if it cannot
// be read (the call is then issued as it is, and the kernel reports the fault).
bool clean_mask(kernel::GuestMemory& memory, std::uint64_t addr, Scratch& scratch) noexcept {
  SigSet mask;
  if (addr == 0 || !memory.copy_in(addr, &mask, sizeof mask)) return false;
  scratch.mask = mask & ~abi::sig::sig_bit(abi::sig::kSigSys);
  return true;
}

}  // namespace

void issue_with_sigsys_open(kernel::GuestMemory& memory, ucontext_t* uc, siginfo_t* info, long nr,
                            int saved_errno) noexcept {
  greg_t* regs = uc->uc_mcontext.gregs;
  long args[6] = {regs[REG_RDI], regs[REG_RSI], regs[REG_RDX],
                  regs[REG_R10], regs[REG_R8],  regs[REG_R9]};
  auto* scratch = new (info) Scratch{};
  const auto mask_ptr = reinterpret_cast<long>(&scratch->mask);
  bool only_eintr = false;  // the call can end only in EINTR: the stub that unwinds cleanly
  switch (nr) {
    case abi::kSysRtSigsuspend:  // (mask, size)
      if (args[1] == sizeof(SigSet) && clean_mask(memory, args[0], *scratch)) {
        args[0] = mask_ptr;
        only_eintr = true;
      }
      break;
    case abi::kSysPpoll:  // (fds, nfds, timeout, mask, size)
      if (args[4] == sizeof(SigSet) && clean_mask(memory, args[3], *scratch)) args[3] = mask_ptr;
      break;
    case abi::kSysEpollPwait:   // (epfd, events, max, timeout, mask, size)
    case abi::kSysEpollPwait2:  // (epfd, events, max, timeout, mask, size)
      if (args[5] == sizeof(SigSet) && clean_mask(memory, args[4], *scratch)) args[4] = mask_ptr;
      break;
    case abi::kSysPselect6: {  // (n, in, out, except, timeout, &{mask, size})
      std::uint64_t pair[2];
      if (args[5] != 0 && memory.copy_in(args[5], pair, sizeof pair) && pair[1] == sizeof(SigSet) &&
          clean_mask(memory, pair[0], *scratch)) {
        scratch->pselect_pair[0] = static_cast<std::uint64_t>(mask_ptr);
        scratch->pselect_pair[1] = sizeof(SigSet);
        args[5] = reinterpret_cast<long>(scratch->pselect_pair);
      }
      break;
    }
    default:
      break;
  }
  if (only_eintr) regs[REG_RAX] = abi::negated(abi::Errno::kEINTR);
  const std::uintptr_t stub = sync::gadget_address(
      only_eintr ? futexbox_mask_call_then_sigreturn : futexbox_mask_call_store_then_sigreturn);
  errno = saved_errno;
  futexbox_enter_mask_call(uc, args, nr, stub);
}

}  // namespace futexbox::tools::agent
