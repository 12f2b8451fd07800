// Readers and writers on a pthread rwlock (reader- and writer-preferring kinds).
#include "guest_util.h"

static pthread_rwlock_t lock;
static long a, b;
static long reads;
static pthread_mutex_t reads_mutex = PTHREAD_MUTEX_INITIALIZER;

static void* writer(void* arg) {
  (void)arg;
  for (int i = 0; i < 20000; ++i) {
    pthread_rwlock_wrlock(&lock);
    ++a;
    ++b;
    if (i % 5000 == 0) usleep(1000);  // readers block: contention even on one CPU
    pthread_rwlock_unlock(&lock);
  }
  return NULL;
}

static void* reader(void* arg) {
  (void)arg;
  long n = 0;
  for (int i = 0; i < 20000; ++i) {
    pthread_rwlock_rdlock(&lock);
    check(a == b, "rwlock torn read");
    ++n;
    pthread_rwlock_unlock(&lock);
  }
  pthread_mutex_lock(&reads_mutex);
  reads += n;
  pthread_mutex_unlock(&reads_mutex);
  return NULL;
}

static void round_with(int kind) {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, kind);
  pthread_rwlock_init(&lock, &attr);
  a = b = reads = 0;
  pthread_t t[5];
  for (int i = 0; i < 2; ++i) pthread_create(&t[i], NULL, writer, NULL);
  for (int i = 2; i < 5; ++i) pthread_create(&t[i], NULL, reader, NULL);
  for (int i = 0; i < 5; ++i) pthread_join(t[i], NULL);
  pthread_rwlock_destroy(&lock);
  printf("kind %d writes %ld reads %ld\n", kind, a, reads);
}

int main(void) {
  round_with(PTHREAD_RWLOCK_PREFER_READER_NP);
  round_with(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  return 0;
}
