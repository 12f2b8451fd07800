// Benchmark guest, futex-heavy: two threads hand a token back and forth through a mutex and two
// condition variables (every hand-off is a FUTEX_WAKE and a FUTEX_WAIT), and four threads share
// a contended mutex. Prints what it did, deterministically.
#include "guest_util.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn[2] = {PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER};
static int whose;
static long rounds, contended;
static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;

static void* player(void* arg) {
  const int me = (int)(intptr_t)arg;
  for (long i = 0; i < rounds; ++i) {
    pthread_mutex_lock(&m);
    while (whose != me) pthread_cond_wait(&turn[me], &m);
    whose = 1 - me;
    pthread_cond_signal(&turn[1 - me]);
    pthread_mutex_unlock(&m);
  }
  return NULL;
}

static void* grinder(void* arg) {
  (void)arg;
  for (long i = 0; i < rounds * 5; ++i) {
    pthread_mutex_lock(&shared);
    ++contended;
    pthread_mutex_unlock(&shared);
  }
  return NULL;
}

int main(int argc, char** argv) {
  rounds = argc > 1 ? atol(argv[1]) : 20000;
  pthread_t p[2], g[4];
  for (int i = 0; i < 2; ++i) pthread_create(&p[i], NULL, player, (void*)(intptr_t)i);
  for (int i = 0; i < 4; ++i) pthread_create(&g[i], NULL, grinder, NULL);
  for (int i = 0; i < 2; ++i) pthread_join(p[i], NULL);
  for (int i = 0; i < 4; ++i) pthread_join(g[i], NULL);
  printf("rounds %ld contended %ld\n", rounds, contended);
  return 0;
}
