// N threads (default 5000, more than the agent's first 4096 task slots) block in FUTEX_WAIT on
// one private word, then the main thread wakes them all. Each thread's stack is 64 KiB. An alarm
// turns a lost thread into a failure instead of a hang.
#include <limits.h>
#include <signal.h>

#include "guest_util.h"

static uint32_t word;
static int started, finished;

static void* waiter(void* arg) {
  (void)arg;
  __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&word, __ATOMIC_SEQ_CST) == 0) {
    futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
  }
  __atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 5000;
  alarm(60);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t* threads = calloc((size_t)n, sizeof(pthread_t));
  for (int i = 0; i < n; ++i) {
    if (pthread_create(&threads[i], &attr, waiter, NULL) != 0) {
      printf("pthread_create failed at %d\n", i);
      return 2;
    }
  }
  while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < n) usleep(1000);
  usleep(100 * 1000);  // most of them asleep by now; the others see the word change
  __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) < n) {
    const long r = futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
    if (r < 0) {
      printf("FUTEX_WAKE failed: %s\n", outcome(r));
      return 1;
    }
    usleep(1000);
  }
  for (int i = 0; i < n; ++i) pthread_join(threads[i], NULL);
  printf("%d threads woken\n", n);
  return 0;
}
