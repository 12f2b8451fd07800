// libearly's constructor starts a thread that blocks in a condition wait before the agent's
// constructor installs the filter (the thread's wait is in the host kernel). Waking it from main
// must still work.
#include "guest_util.h"

extern void early_release(void);
extern long early_result(void);

int main(void) {
  early_release();
  printf("early thread result %ld\n", early_result());
  return 0;
}
