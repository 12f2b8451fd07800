#include "tools/agent/agent_stack.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cstdint>

#include "sync/host_syscall.h"

extern "C" void futexbox_call_on_stack(void* arg, void (*fn)(void*), char* top);

// rdi = arg, rsi = fn, rdx = top. The frame pointer keeps the way back; the CFI lets a debugger's
// or profiler's unwinder walk from the agent's frames back into the guest's signal frame.
asm(R"(
    .text
    .globl futexbox_call_on_stack
    .hidden futexbox_call_on_stack
    .type futexbox_call_on_stack, @function
futexbox_call_on_stack:
    .cfi_startproc
    pushq %rbp
    .cfi_def_cfa_offset 16
    .cfi_offset %rbp, -16
    movq %rsp, %rbp
    .cfi_def_cfa_register %rbp
    movq %rdx, %rsp
    call *%rsi
    movq %rbp, %rsp
    .cfi_def_cfa %rsp, 16
    popq %rbp
    .cfi_def_cfa %rsp, 8
    ret
    .cfi_endproc
    .size futexbox_call_on_stack, . - futexbox_call_on_stack
)");

namespace futexbox::tools::agent {

void run_on_agent_stack(char* top, void (*fn)(void*), void* arg) noexcept {
  const auto here = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  const auto high = reinterpret_cast<std::uintptr_t>(top);
  if (here < high && here >= high - kAgentStackBytes) {
    fn(arg);  // already on it: a nested trap continues below the outer one's frames
    return;
  }
  futexbox_call_on_stack(arg, fn, top);
}

void use_as_sigaltstack(char* top) noexcept {
  const stack_t stack{top - kAgentStackBytes, 0, kAgentStackBytes};
  sync::host_syscall(SYS_sigaltstack, &stack, nullptr);
}

char* map_agent_stack(std::size_t extra_bytes) noexcept {
  const std::size_t extra = (extra_bytes + 4095) & ~std::size_t{4095};
  const std::size_t total = kAgentStackGuardBytes + kAgentStackBytes + extra;
  const long r = sync::host_syscall(SYS_mmap, nullptr, total, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (r < 0 && r > -4096) return nullptr;
  char* base = reinterpret_cast<char*>(r);
  if (sync::host_syscall(SYS_mprotect, base, kAgentStackGuardBytes, PROT_NONE) != 0) {
    sync::host_syscall(SYS_munmap, base, total);
    return nullptr;
  }
  return base + kAgentStackGuardBytes + kAgentStackBytes;
}

}  // namespace futexbox::tools::agent
