// A signal storm against threads that hand tokens around through condition variables and
// semaphores (served waits that are interrupted over and over, with and without SA_RESTART):
// every hand-off must still arrive — no lost wake-up, no stray error — and the totals must match.
#include <semaphore.h>
#include <signal.h>
#include "guest_util.h"

#define PLAYERS 4
#define ROUNDS 3000
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn = PTHREAD_COND_INITIALIZER;
static int whose;
static long passes;
static sem_t sems[PLAYERS];
static long sem_passes;
static volatile int handled;

static void on_signal(int sig) {
  (void)sig;
  __atomic_add_fetch(&handled, 1, __ATOMIC_RELAXED);
}

static void* player(void* arg) {
  const int me = (int)(intptr_t)arg;
  for (int r = 0; r < ROUNDS; ++r) {
    pthread_mutex_lock(&m);
    while (whose != me) pthread_cond_wait(&turn, &m);
    whose = (me + 1) % PLAYERS;
    ++passes;
    pthread_cond_broadcast(&turn);
    pthread_mutex_unlock(&m);
    // sem_wait may fail with EINTR (a handler without SA_RESTART): retry, as callers must.
    while (sem_wait(&sems[me]) != 0) check(errno == EINTR, "sem_wait error other than EINTR");
    __atomic_add_fetch(&sem_passes, 1, __ATOMIC_RELAXED);
    sem_post(&sems[(me + 1) % PLAYERS]);
  }
  return NULL;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  sa.sa_flags = 0;
  sigaction(SIGUSR2, &sa, NULL);
  for (int i = 0; i < PLAYERS; ++i) sem_init(&sems[i], 0, i == 0);
  pthread_t t[PLAYERS];
  for (int i = 0; i < PLAYERS; ++i) pthread_create(&t[i], NULL, player, (void*)(intptr_t)i);
  long sent = 0;
  while (__atomic_load_n(&passes, __ATOMIC_RELAXED) < (long)PLAYERS * ROUNDS / 2) {
    pthread_kill(t[sent % PLAYERS], sent % 2 ? SIGUSR1 : SIGUSR2);
    ++sent;
    usleep(20);
  }
  for (int i = 0; i < PLAYERS; ++i) pthread_join(t[i], NULL);
  printf("passes %ld sem passes %ld, signals handled: %s\n", passes, sem_passes,
         handled > 0 ? "some" : "none");
  return 0;
}
