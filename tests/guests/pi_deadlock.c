// Two threads take two priority-inheritance mutexes in opposite orders (a barrier makes sure each
// holds its first before it asks for the second) while the main thread goes on working, in
// nanosleep rather than a futex: the process as a whole is not stuck, but the two PI owners wait
// for each other forever. futexbox's deadlock watch must find the cycle from the owners' tids in
// the lock words. The main thread gives up after `argv[1]` seconds (default 10) and exits 0.
#include "guest_util.h"

static pthread_mutex_t pi_a, pi_b;
static pthread_barrier_t both_hold_one;

static void* first_a_then_b(void* arg) {
  (void)arg;
  pthread_mutex_lock(&pi_a);
  pthread_barrier_wait(&both_hold_one);
  pthread_mutex_lock(&pi_b);
  return NULL;
}

static void* first_b_then_a(void* arg) {
  (void)arg;
  pthread_mutex_lock(&pi_b);
  pthread_barrier_wait(&both_hold_one);
  pthread_mutex_lock(&pi_a);
  return NULL;
}

int main(int argc, char** argv) {
  const int seconds = argc > 1 ? atoi(argv[1]) : 10;
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
  pthread_mutex_init(&pi_a, &attr);
  pthread_mutex_init(&pi_b, &attr);
  pthread_barrier_init(&both_hold_one, NULL, 2);
  pthread_t t[2];
  pthread_create(&t[0], NULL, first_a_then_b, NULL);
  pthread_create(&t[1], NULL, first_b_then_a, NULL);
  for (int i = 0; i < seconds * 10; ++i) usleep(100000);  // busy elsewhere, never in a futex
  puts("main gave up waiting");
  return 0;
}
