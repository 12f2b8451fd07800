// Helpers for the guest programs that tests/runner runs natively and under `futexbox run`. Every
// guest prints only what must be identical in both runs (no timings, no addresses, no TIDs).
#pragma once
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline long futex(void* uaddr, int op, uint32_t val, const struct timespec* ts,
                         void* uaddr2, uint32_t val3) {
  return syscall(SYS_futex, uaddr, op, val, ts, uaddr2, val3);
}

// struct futex_waitv and the futex2 flags (Debian 12's headers lack them).
struct waitv {
  uint64_t val;
  uint64_t uaddr;
  uint32_t flags;
  uint32_t reserved;
};
#define FUTEX2_SIZE_U32 0x02
#define FUTEX2_PRIVATE 128

// The result of a syscall wrapper: "0", or the errno's name.
static inline const char* outcome(long r) {
  static __thread char buf[32];
  if (r >= 0) {
    snprintf(buf, sizeof buf, "%ld", r);
    return buf;
  }
  return strerrorname_np(errno);
}

// Waits until thread `tid` sleeps (state S in /proc), i.e. is blocked in a wait.
static inline void wait_until_blocked(pid_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
  for (int i = 0; i < 20000; ++i) {
    FILE* f = fopen(path, "r");
    if (f != NULL) {
      char buf[512];
      size_t n = fread(buf, 1, sizeof buf - 1, f);
      fclose(f);
      buf[n] = '\0';
      const char* close_paren = strrchr(buf, ')');
      if (close_paren != NULL && close_paren[1] == ' ' && close_paren[2] == 'S') {
        usleep(2000);  // let it settle in the wait proper
        return;
      }
    }
    usleep(500);
  }
  fprintf(stderr, "thread %d never blocked\n", (int)tid);
  exit(99);
}

// count_with_contention(n): n threads bump a counter 20,000 times each under one mutex, holding
// it across a short sleep now and then so they contend (and make futex calls) even on one CPU;
// returns the total.
struct contended_counter {
  pthread_mutex_t mutex;
  long value;
};

static inline void* contended_counter_bump(void* arg) {
  struct contended_counter* c = (struct contended_counter*)arg;
  for (int i = 0; i < 20000; ++i) {
    pthread_mutex_lock(&c->mutex);
    ++c->value;
    if (i % 5000 == 0) usleep(1000);
    pthread_mutex_unlock(&c->mutex);
  }
  return NULL;
}

static inline long count_with_contention(int threads) {
  struct contended_counter c = {PTHREAD_MUTEX_INITIALIZER, 0};
  pthread_t t[8];
  for (int i = 0; i < threads && i < 8; ++i) pthread_create(&t[i], NULL, contended_counter_bump, &c);
  for (int i = 0; i < threads && i < 8; ++i) pthread_join(t[i], NULL);
  return c.value;
}

static inline void check(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "check failed: %s\n", what);
    exit(98);
  }
}
