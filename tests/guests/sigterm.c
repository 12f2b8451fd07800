// Waits in a futex until SIGTERM (or SIGINT) arrives, then reports which and how many times
// (after lingering, so a duplicate would be counted) and exits 0. Says
// "ready" once the handlers are in place and the wait is about to begin.
#include <signal.h>
#include "guest_util.h"

static volatile sig_atomic_t got;
static volatile sig_atomic_t times;
static uint32_t word;
// Changing the word too closes the race with a signal that lands just before the wait begins.
static void on_signal(int sig) {
  got = sig;
  ++times;
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
  // Linger: a second copy of the signal (sent twice by mistake) would arrive now.
  for (int i = 0; i < 20; ++i) usleep(10000);
  printf("got %s %d time%s\n", sigabbrev_np(got), (int)times, times == 1 ? "" : "s");
  return 0;
}
