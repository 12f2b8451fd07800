// Exits as told: `exit N`, `signal SIG` (raised on itself), `abort`, or `segv`.
#include <signal.h>
#include "guest_util.h"

int main(int argc, char** argv) {
  check(argc == 3 || (argc == 2 && (!strcmp(argv[1], "abort") || !strcmp(argv[1], "segv"))),
        "usage: exit N | signal SIG | abort | segv");
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&m);
  pthread_mutex_unlock(&m);
  // One futex call a tracer must still have after the guest dies (futexbox trace's crash test).
  static uint32_t word;
  futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  fflush(stdout);
  if (!strcmp(argv[1], "exit")) return atoi(argv[2]);
  if (!strcmp(argv[1], "signal")) raise(atoi(argv[2]));
  if (!strcmp(argv[1], "abort")) abort();
  if (!strcmp(argv[1], "segv")) {
    volatile int* volatile nowhere = NULL;
    *nowhere = 1;
  }
  return 100;
}
