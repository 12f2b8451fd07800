// Threads that exit in every way a joiner can observe: return, pthread_exit, detach + exit.
#include "guest_util.h"

static pthread_barrier_t started;

// Each thread meets the others at a barrier (private futex waits), then lingers so that its
// joiner blocks on the TID word (the shared wait the host's clear_child_tid ends).
static void* returns(void* arg) {
  pthread_barrier_wait(&started);
  usleep(200);
  return (void*)((intptr_t)arg * 2);
}
static void* exits(void* arg) {
  pthread_barrier_wait(&started);
  usleep(200);
  pthread_exit((void*)((intptr_t)arg + 100));
}

int main(void) {
  long total = 0;
  pthread_barrier_init(&started, NULL, 6);
  for (int round = 0; round < 50; ++round) {
    pthread_t t[6];
    for (int i = 0; i < 6; ++i) {
      pthread_create(&t[i], NULL, i % 2 ? exits : returns, (void*)(intptr_t)i);
    }
    for (int i = 0; i < 6; ++i) {
      void* v;
      pthread_join(t[i], &v);
      total += (intptr_t)v;
    }
  }
  pthread_barrier_destroy(&started);
  pthread_barrier_init(&started, NULL, 1);
  pthread_t d;
  pthread_create(&d, NULL, returns, NULL);
  pthread_detach(d);
  printf("total %ld\n", total);
  return 0;
}
