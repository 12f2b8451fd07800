// Futex calls on bad addresses get Linux's errors, never a crash.
#include <sys/mman.h>
#include "guest_util.h"

int main(void) {
  char* none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint32_t w = 0;
  printf("WAIT null: %s\n", outcome(futex(NULL, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0)));
  printf("WAIT unmapped: %s\n", outcome(futex((void*)0x10, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0)));
  printf("WAIT PROT_NONE: %s\n", outcome(futex(none, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0)));
  printf("WAIT read-only, value differs: %s\n", outcome(futex(ro, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0)));
  printf("WAIT misaligned: %s\n", outcome(futex((char*)&w + 1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0)));
  printf("WAKE PROT_NONE: %s\n", outcome(futex(none, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0)));
  printf("WAKE_OP on read-only: %s\n",
         outcome(futex(&w, FUTEX_WAKE_OP_PRIVATE, 1, (void*)1, ro, FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0))));
  printf("LOCK_PI PROT_NONE: %s\n", outcome(futex(none, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
  printf("WAIT bad timeout pointer: %s\n", outcome(futex(&w, FUTEX_WAIT_PRIVATE, 0, (void*)8, NULL, 0)));
  printf("unknown op: %s\n", outcome(futex(&w, 99 | FUTEX_PRIVATE_FLAG, 0, NULL, NULL, 0)));
  printf("waitv bad pointer: %s\n", outcome(syscall(SYS_futex_waitv, (void*)8, 1, 0, NULL, 0)));
  printf("still here\n");
  return 0;
}
