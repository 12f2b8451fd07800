// Threads whose last futex calls happen during glibc's thread teardown, after their thread-specific
// data destructors ran: 100 threads exiting at once while they fight over malloc's arena lock, and
// threads exiting while another thread pthread_kill()s them (since glibc 2.34 an exiting thread
// takes its exit_lock after its TLS destructors). Each round joins every thread; a thread whose
// agent or lot state outlived it would be written to later, in memory reused by a new thread.
#include <signal.h>

#include "guest_util.h"

enum { kThreads = 100, kRounds = 20 };

static void* churn(void* arg) {
  const int n = (int)(intptr_t)arg;
  void* blocks[64];
  for (int i = 0; i < 64; ++i) blocks[i] = malloc((size_t)(16 + (i + n) % 512));
  for (int i = 0; i < 64; ++i) free(blocks[i]);
  return NULL;
}

static void on_usr1(int sig) { (void)sig; }

static void* short_lived(void* arg) {
  (void)arg;
  return NULL;
}

int main(void) {
  signal(SIGUSR1, on_usr1);
  for (int round = 0; round < kRounds; ++round) {
    pthread_t t[kThreads];
    for (int i = 0; i < kThreads; ++i) {
      if (pthread_create(&t[i], NULL, churn, (void*)(intptr_t)i) != 0) return 2;
    }
    for (int i = 0; i < kThreads; ++i) pthread_join(t[i], NULL);
    // Exiting while being signalled: pthread_kill takes the target's exit_lock too.
    pthread_t s[16];
    for (int i = 0; i < 16; ++i) {
      if (pthread_create(&s[i], NULL, short_lived, NULL) != 0) return 2;
    }
    for (int i = 0; i < 16; ++i) pthread_kill(s[i], SIGUSR1);
    for (int i = 0; i < 16; ++i) pthread_join(s[i], NULL);
  }
  puts("all rounds done");
  return 0;
}
