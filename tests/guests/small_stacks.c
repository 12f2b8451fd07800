// Threads on the smallest stacks pthread allows (PTHREAD_STACK_MIN, 16 KiB), each already using
// 8 KiB of it, ping-pong with the main thread through a private FUTEX_WAIT/FUTEX_WAKE pair and a
// futex_waitv on 8 private words. Natively a syscall needs none of the user stack; under futexbox
// run a served call may need no more of it than the kernel's own signal frame (issue 13, item 2:
// every futex_waitv here used to die of SIGSEGV, and so did a FUTEX_WAIT from 8 KiB deep).
#include <limits.h>
#include <signal.h>
#include "guest_util.h"

enum { kThreads = 8, kRounds = 200, kWords = 8 };

struct pair {
  _Atomic uint32_t turn;  // 0: main's turn, 1: the thread's
  uint32_t words[kWords];
};

static struct pair pairs[kThreads];
// Bytes of stack each thread uses before it plays: with what glibc keeps at the stack's top, about
// half of the 16 KiB, leaving room for one signal frame (the thread takes a signal there natively).
static int g_depth = 4 * 1024;
static _Atomic int g_signals;
static void on_usr1(int sig) { (void)sig; ++g_signals; }

static long waitv(struct waitv* w, unsigned n) { return syscall(449, w, n, 0, NULL, CLOCK_MONOTONIC); }

// Uses `depth` bytes of stack, then plays its rounds from there.
static __attribute__((noinline)) long play(struct pair* p, int depth) {
  volatile char pad[1024];
  memset((char*)pad, depth & 0xff, sizeof pad);
  if (depth > 1024) return play(p, depth - 1024) + pad[7];
  raise(SIGUSR1);  // natively, one signal frame fits here
  long served = 0;
  for (int round = 0; round < kRounds; ++round) {
    while (p->turn != 1) {
      if (round % 2 == 0) {
        futex(&p->turn, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
      } else {
        struct waitv w[kWords + 1];
        w[0] = (struct waitv){0, (uint64_t)(uintptr_t)&p->turn, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, 0};
        for (int i = 0; i < kWords; ++i) {
          w[i + 1] = (struct waitv){0, (uint64_t)(uintptr_t)&p->words[i],
                                    FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, 0};
        }
        const long r = waitv(w, kWords + 1);
        check(r >= 0 || errno == EAGAIN, "futex_waitv");
      }
    }
    p->turn = 0;
    futex(&p->turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    ++served;
  }
  return served + pad[3] - pad[3];
}

static void* thread_main(void* arg) {
  struct pair* p = arg;
  return (void*)play(p, g_depth);
}

int main(int argc, char** argv) {
  if (argc > 1) g_depth = atoi(argv[1]);
  signal(SIGUSR1, on_usr1);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  check(pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN) == 0, "setstacksize");
  pthread_t threads[kThreads];
  for (int t = 0; t < kThreads; ++t) {
    check(pthread_create(&threads[t], &attr, thread_main, &pairs[t]) == 0, "pthread_create");
  }
  for (int round = 0; round < kRounds; ++round) {
    for (int t = 0; t < kThreads; ++t) {
      struct pair* p = &pairs[t];
      p->turn = 1;
      futex(&p->turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
      for (int i = 0; i < kWords; ++i) futex(&p->words[i], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    }
    for (int t = 0; t < kThreads; ++t) {
      struct pair* p = &pairs[t];
      while (p->turn != 0) futex(&p->turn, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
    }
  }
  long total = 0;
  for (int t = 0; t < kThreads; ++t) {
    void* served;
    check(pthread_join(threads[t], &served) == 0, "pthread_join");
    total += (long)served;
  }
  printf("%d threads on %d-byte stacks played %ld rounds, took %d signals\n", kThreads,
         (int)PTHREAD_STACK_MIN, total, (int)g_signals);
  return 0;
}
