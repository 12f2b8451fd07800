// What Go does: code running on a 2 KiB stack (a goroutine's; below it, here, an inaccessible
// page) makes futex calls itself, and the thread has a 32 KiB sigaltstack for every signal
// handler (Go requires SA_ONSTACK of them all). Natively a syscall needs none of the small stack.
// Under futexbox run the SIGSYS frame must go to the sigaltstack: on the 2 KiB stack it would
// overflow into the page below (issue 13, item 1: cgo Go programs crashed in about half the runs
// with "bad g status" and "unexpected signal during runtime execution").
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include "guest_util.h"

enum { kTinyStack = 2048, kAltStack = 32 * 1024, kRounds = 1000 };

static ucontext_t g_main_context, g_tiny_context;
static uint32_t g_word;
static long g_results[3];

// The `syscall` instruction itself, as Go's runtime issues it: no libc wrapper, and no lazy PLT
// binding (ld.so's resolver saves the vector registers on the stack, which 2 KiB cannot hold).
static long raw_futex(uint32_t* word, long op, long val, const struct timespec* timeout) {
  register long r10 __asm__("r10") = (long)timeout;
  long rax = SYS_futex;
  __asm__ volatile("syscall" : "+a"(rax) : "D"(word), "S"(op), "d"(val), "r"(r10) : "rcx", "r11", "memory");
  return rax;
}

static void on_tiny_stack(void) {
  for (int i = 0; i < kRounds; ++i) {
    // A wake with no waiter, a wait whose value differs (EAGAIN), a timed-out wait.
    if (raw_futex(&g_word, FUTEX_WAKE_PRIVATE, 1, NULL) == 0) ++g_results[0];
    if (raw_futex(&g_word, FUTEX_WAIT_PRIVATE, 1, NULL) == -EAGAIN) ++g_results[1];
  }
  static const struct timespec zero = {0, 0};
  if (raw_futex(&g_word, FUTEX_WAIT_PRIVATE, 0, &zero) == -ETIMEDOUT) ++g_results[2];
}

int main(void) {
  const long page = sysconf(_SC_PAGESIZE);
  char* region = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  check(region != MAP_FAILED, "mmap");
  check(mprotect(region, page, PROT_NONE) == 0, "guard page");
  stack_t alt = {.ss_sp = malloc(kAltStack), .ss_size = kAltStack, .ss_flags = 0};
  check(sigaltstack(&alt, NULL) == 0, "sigaltstack");

  check(getcontext(&g_tiny_context) == 0, "getcontext");
  g_tiny_context.uc_stack.ss_sp = region + page;  // 2 KiB, right above the guard page
  g_tiny_context.uc_stack.ss_size = kTinyStack;
  g_tiny_context.uc_link = &g_main_context;
  makecontext(&g_tiny_context, on_tiny_stack, 0);
  check(swapcontext(&g_main_context, &g_tiny_context) == 0, "swapcontext");
  printf("on a %d-byte stack: %ld wakes, %ld EAGAIN, %ld ETIMEDOUT\n", kTinyStack, g_results[0],
         g_results[1], g_results[2]);
  return 0;
}
