// Waits in a futex until SIGTERM (or SIGINT) arrives, then reports which and exits 0. Says
// "ready" once the handlers are in place and the wait is about to begin.
#include <signal.h>
#include "guest_util.h"

static volatile sig_atomic_t got;
static uint32_t word;
// Changing the word too closes the race with a signal that lands just before the wait begins.
static void on_signal(int sig) {
  got = sig;
  __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ready\n");
  fflush(stdout);
  while (!got) futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
  printf("got %s\n", sigabbrev_np(got));
  return 0;
}
