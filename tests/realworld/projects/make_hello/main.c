#include <pthread.h>
#include <stdio.h>

int part_a(int), part_b(int), part_c(int), part_d(int);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int total;

static void* work(void* arg) {
  const int x = *(const int*)arg;
  pthread_mutex_lock(&lock);
  total += part_a(x) + part_b(x) + part_c(x) + part_d(x);
  pthread_mutex_unlock(&lock);
  return NULL;
}

int main(void) {
  pthread_t t[4];
  int args[4] = {1, 2, 3, 4};
  for (int i = 0; i < 4; ++i) pthread_create(&t[i], NULL, work, &args[i]);
  for (int i = 0; i < 4; ++i) pthread_join(t[i], NULL);
  printf("total %d\n", total);
  return 0;
}
