// Threads with a sigaltstack of their own (as Go, Rust and stress-ng give every thread) wait in
// served futex calls while the main thread sends them signals whose handler has SA_ONSTACK. The
// SIGSYS frame of the wait is on that sigaltstack (the agent's action has SA_ONSTACK too); a
// signal landing mid-wait must neither overwrite it (the agent served the call on a stack of its
// own, which the kernel did not take for the sigaltstack: stress-ng spun forever in its teardown)
// nor run anywhere but on the guest's sigaltstack, and every thread must see its own sigaltstack
// settings afterwards, untouched.
#include <signal.h>
#include "guest_util.h"

enum { kThreads = 4, kRounds = 300, kAltSize = 64 * 1024 };

static _Atomic uint32_t g_turn[kThreads];
static _Atomic int g_off_stack;  // handler runs not on the thread's own sigaltstack
static __thread char* t_alt;
static pthread_barrier_t g_ready;  // every thread has its sigaltstack

static void on_usr1(int sig) {
  (void)sig;
  char here;
  if (t_alt == NULL || &here < t_alt || &here >= t_alt + kAltSize) ++g_off_stack;
  stack_t now;
  if (sigaltstack(NULL, &now) != 0 || !(now.ss_flags & SS_ONSTACK) || now.ss_sp != t_alt) ++g_off_stack;
}

static void* waiter(void* arg) {
  const int me = (int)(intptr_t)arg;
  t_alt = malloc(kAltSize);
  const stack_t alt = {.ss_sp = t_alt, .ss_size = kAltSize, .ss_flags = 0};
  check(sigaltstack(&alt, NULL) == 0, "sigaltstack");
  pthread_barrier_wait(&g_ready);
  for (int round = 1; round <= kRounds; ++round) {
    uint32_t now;
    while ((now = g_turn[me]) < (uint32_t)round) {
      futex(&g_turn[me], FUTEX_WAIT_PRIVATE, now, NULL, NULL, 0);
    }
  }
  stack_t after;
  check(sigaltstack(NULL, &after) == 0, "sigaltstack query");
  check(after.ss_sp == t_alt && after.ss_size == kAltSize && after.ss_flags == 0,
        "the thread's sigaltstack is its own after served calls");
  return NULL;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_ONSTACK | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  check(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
  pthread_t threads[kThreads];
  pthread_barrier_init(&g_ready, NULL, kThreads + 1);
  for (int t = 0; t < kThreads; ++t) {
    check(pthread_create(&threads[t], NULL, waiter, (void*)(intptr_t)t) == 0, "pthread_create");
  }
  pthread_barrier_wait(&g_ready);
  int sent = 0;
  for (int round = 1; round <= kRounds; ++round) {
    for (int t = 0; t < kThreads; ++t) {
      if (round % 3 == 0) {
        pthread_kill(threads[t], SIGUSR1);  // often lands while the thread sleeps in the wait
        ++sent;
      }
      if (round % 7 == 0) usleep(200);
      g_turn[t] = (uint32_t)round;
      futex(&g_turn[t], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
  }
  for (int t = 0; t < kThreads; ++t) check(pthread_join(threads[t], NULL) == 0, "pthread_join");
  printf("%d signals sent to threads on their sigaltstacks; %d handled off their stack\n", sent,
         (int)g_off_stack);
  return 0;
}
