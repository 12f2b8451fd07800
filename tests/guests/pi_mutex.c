// Priority-inheritance mutexes (FUTEX_LOCK_PI / UNLOCK_PI / TRYLOCK_PI), contended.
#include "guest_util.h"

static pthread_mutex_t pi;
static long counter;

static void* worker(void* arg) {
  (void)arg;
  for (int i = 0; i < 20000; ++i) {
    pthread_mutex_lock(&pi);
    ++counter;
    if (i % 1000 == 0) usleep(100);  // hold it a while: others must block in the kernel
    pthread_mutex_unlock(&pi);
  }
  return NULL;
}

int main(void) {
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
  pthread_mutex_init(&pi, &a);
  pthread_t t[3];
  for (int i = 0; i < 3; ++i) pthread_create(&t[i], NULL, worker, NULL);
  for (int i = 0; i < 3; ++i) pthread_join(t[i], NULL);
  printf("counter %ld\n", counter);
  pthread_mutex_lock(&pi);
  printf("trylock by owner %s\n", strerrorname_np(pthread_mutex_trylock(&pi)));
  pthread_mutex_unlock(&pi);
  // Raw: unlocking a PI futex we do not own is EPERM.
  uint32_t word = 12345;
  printf("UNLOCK_PI not owner: %s\n", outcome(futex(&word, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0)));
  return 0;
}
