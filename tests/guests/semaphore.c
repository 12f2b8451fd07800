// Unnamed semaphores as a token ring between threads, plus trywait.
#include <semaphore.h>
#include "guest_util.h"

#define N 4
#define ROUNDS 5000
static sem_t sems[N];
static long turns[N];

static void* runner(void* arg) {
  const int me = (int)(intptr_t)arg;
  for (int r = 0; r < ROUNDS; ++r) {
    sem_wait(&sems[me]);
    ++turns[me];
    sem_post(&sems[(me + 1) % N]);
  }
  return NULL;
}

int main(void) {
  for (int i = 0; i < N; ++i) sem_init(&sems[i], 0, i == 0);
  pthread_t t[N];
  for (int i = 0; i < N; ++i) pthread_create(&t[i], NULL, runner, (void*)(intptr_t)i);
  for (int i = 0; i < N; ++i) pthread_join(t[i], NULL);
  long total = 0;
  for (int i = 0; i < N; ++i) total += turns[i];
  int v;
  sem_getvalue(&sems[0], &v);
  printf("turns %ld token at 0: %d\n", total, v);
  printf("trywait on empty: %s\n", sem_trywait(&sems[1]) == 0 ? "0" : strerrorname_np(errno));
  return 0;
}
