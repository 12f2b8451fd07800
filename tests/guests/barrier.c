// pthread barriers for many rounds: every thread sees every round's writes.
#include "guest_util.h"

#define N 4
#define ROUNDS 2000
static pthread_barrier_t barrier;
static long slots[N];
static int serial_count;

static void* runner(void* arg) {
  const int me = (int)(intptr_t)arg;
  for (int r = 0; r < ROUNDS; ++r) {
    slots[me] = r;
    if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD) ++serial_count;
    for (int i = 0; i < N; ++i) check(slots[i] == r, "barrier round");
    pthread_barrier_wait(&barrier);
  }
  return NULL;
}

int main(void) {
  pthread_barrier_init(&barrier, NULL, N);
  pthread_t t[N];
  for (int i = 0; i < N; ++i) pthread_create(&t[i], NULL, runner, (void*)(intptr_t)i);
  for (int i = 0; i < N; ++i) pthread_join(t[i], NULL);
  printf("rounds %d serial %d\n", ROUNDS, serial_count);
  return 0;
}
