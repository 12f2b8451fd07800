// pthread mutexes (normal, recursive, error-checking) under contention.
#include "guest_util.h"

static pthread_mutex_t normal = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t recursive;
static long counter;

static void* worker(void* arg) {
  (void)arg;
  for (int i = 0; i < 50000; ++i) {
    pthread_mutex_lock(&normal);
    pthread_mutex_lock(&recursive);
    pthread_mutex_lock(&recursive);
    ++counter;
    if (i % 10000 == 0) usleep(1000);  // others block: contention even on one CPU
    pthread_mutex_unlock(&recursive);
    pthread_mutex_unlock(&recursive);
    pthread_mutex_unlock(&normal);
  }
  return NULL;
}

int main(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&recursive, &a);
  pthread_t t[4];
  for (int i = 0; i < 4; ++i) pthread_create(&t[i], NULL, worker, NULL);
  for (int i = 0; i < 4; ++i) pthread_join(t[i], NULL);
  printf("counter %ld\n", counter);

  pthread_mutex_t checked;
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
  pthread_mutex_init(&checked, &a);
  pthread_mutex_lock(&checked);
  printf("relock %s\n", strerrorname_np(pthread_mutex_lock(&checked)));
  pthread_mutex_lock(&normal);
  const int busy = pthread_mutex_trylock(&normal);
  printf("trylock held %s\n", busy == 0 ? "0" : strerrorname_np(busy));
  pthread_mutex_unlock(&normal);
  return 0;
}
