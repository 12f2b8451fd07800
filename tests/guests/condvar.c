// Producers and consumers through a bounded queue with two condition variables; broadcast too.
#include "guest_util.h"

#define CAP 8
#define ITEMS 20000
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static int queue[CAP], head, tail, size, produced_done;
static long sum;

static void* producer(void* arg) {
  const int base = (int)(intptr_t)arg;
  for (int i = 0; i < ITEMS; ++i) {
    pthread_mutex_lock(&m);
    while (size == CAP) pthread_cond_wait(&not_full, &m);
    queue[tail] = base + i;
    tail = (tail + 1) % CAP;
    ++size;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&m);
  }
  return NULL;
}

static void* consumer(void* arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&m);
    while (size == 0 && produced_done < 2) pthread_cond_wait(&not_empty, &m);
    if (size == 0) {
      pthread_mutex_unlock(&m);
      return NULL;
    }
    sum += queue[head];
    head = (head + 1) % CAP;
    --size;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&m);
  }
}

int main(void) {
  pthread_t p[2], c[3];
  for (int i = 0; i < 3; ++i) pthread_create(&c[i], NULL, consumer, NULL);
  for (int i = 0; i < 2; ++i) pthread_create(&p[i], NULL, producer, (void*)(intptr_t)(i * 1000000));
  for (int i = 0; i < 2; ++i) pthread_join(p[i], NULL);
  pthread_mutex_lock(&m);
  produced_done = 2;
  pthread_cond_broadcast(&not_empty);
  pthread_mutex_unlock(&m);
  for (int i = 0; i < 3; ++i) pthread_join(c[i], NULL);
  printf("sum %ld\n", sum);
  return 0;
}
