// Cancellation of threads blocked in futex waits: a condition wait (private futex), a join (the
// shared wait on the joinee's TID) and a semaphore wait. Cleanup handlers must run.
#include <semaphore.h>
#include "guest_util.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static volatile pid_t tids[3];
static int cleanups;

static void cleanup(void* arg) {
  (void)arg;
  ++cleanups;
}
static void cleanup_unlock(void* arg) {
  ++cleanups;
  pthread_mutex_unlock((pthread_mutex_t*)arg);
}

static void* cond_waiter(void* arg) {
  (void)arg;
  tids[0] = gettid();
  pthread_mutex_lock(&m);
  pthread_cleanup_push(cleanup_unlock, &m);
  for (;;) pthread_cond_wait(&c, &m);
  pthread_cleanup_pop(0);
  return NULL;
}

static void* forever(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

static void* joiner(void* arg) {
  tids[1] = gettid();
  pthread_cleanup_push(cleanup, NULL);
  pthread_join(*(pthread_t*)arg, NULL);
  pthread_cleanup_pop(0);
  return NULL;
}

static void* sem_waiter(void* arg) {
  (void)arg;
  tids[2] = gettid();
  pthread_cleanup_push(cleanup, NULL);
  sem_wait(&sem);
  pthread_cleanup_pop(0);
  return NULL;
}

int main(void) {
  sem_init(&sem, 0, 0);
  pthread_t w, f, j, s;
  pthread_create(&f, NULL, forever, NULL);
  pthread_create(&w, NULL, cond_waiter, NULL);
  pthread_create(&j, NULL, joiner, &f);
  pthread_create(&s, NULL, sem_waiter, NULL);
  for (int i = 0; i < 3; ++i) {
    while (tids[i] == 0) usleep(100);
    wait_until_blocked(tids[i]);
  }
  void* r[3];
  pthread_cancel(w);
  pthread_join(w, &r[0]);
  pthread_cancel(j);
  pthread_join(j, &r[1]);
  pthread_cancel(s);
  pthread_join(s, &r[2]);
  printf("canceled %d %d %d cleanups %d\n", r[0] == PTHREAD_CANCELED, r[1] == PTHREAD_CANCELED,
         r[2] == PTHREAD_CANCELED, cleanups);
  // The mutex came back through the cleanup handler.
  printf("mutex free %d\n", pthread_mutex_trylock(&m) == 0);
  return 0;
}
