#include "guest_util.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int released;
static volatile pid_t tid;
static pthread_t thread;
static long result;

static void* sleeper(void* arg) {
  (void)arg;
  tid = gettid();
  pthread_mutex_lock(&m);
  while (!released) pthread_cond_wait(&c, &m);
  pthread_mutex_unlock(&m);
  return (void*)42;
}

__attribute__((constructor)) static void start_early(void) {
  pthread_create(&thread, NULL, sleeper, NULL);
  while (tid == 0) usleep(100);
  wait_until_blocked(tid);
}

void early_release(void) {
  pthread_mutex_lock(&m);
  released = 1;
  pthread_cond_signal(&c);
  pthread_mutex_unlock(&m);
}

long early_result(void) {
  void* v;
  pthread_join(thread, &v);
  result = (long)v;
  return result;
}
