// Deadlocks on purpose: two threads take two mutexes in opposite orders (a barrier makes sure each
// holds its first before it asks for the second), and main joins them. Every thread then sleeps
// in a futex wait with no timeout that nothing can end: futexbox trace's deadlock detector's test.
#include "guest_util.h"

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold_one;

static void* first_a_then_b(void* arg) {
  (void)arg;
  pthread_mutex_lock(&lock_a);
  pthread_barrier_wait(&both_hold_one);
  pthread_mutex_lock(&lock_b);
  return NULL;
}

static void* first_b_then_a(void* arg) {
  (void)arg;
  pthread_mutex_lock(&lock_b);
  pthread_barrier_wait(&both_hold_one);
  pthread_mutex_lock(&lock_a);
  return NULL;
}

int main(void) {
  pthread_barrier_init(&both_hold_one, NULL, 2);
  pthread_t t[2];
  pthread_create(&t[0], NULL, first_a_then_b, NULL);
  pthread_create(&t[1], NULL, first_b_then_a, NULL);
  pthread_join(t[0], NULL);
  pthread_join(t[1], NULL);
  puts("unreachable");
  return 0;
}
