// A fixed list of futex_waitv calls on words at a fixed address (so strace prints the same
// addresses every run): waiter arrays of 1, 3, 4 and 40 entries (strace shows 32, then "..."),
// private and shared waiters, bad flags, NULL and unreadable arrays, relative-looking absolute
// timeouts that expire at once, unknown clocks. `futexbox trace` must print exactly what
// `strace -e trace=futex_waitv` prints (tests/runner/trace_test.cc).
#include <sys/mman.h>
#include "guest_util.h"

static long waitv(struct waitv* w, unsigned n, unsigned flags, const struct timespec* ts, int clock) {
  return syscall(449, w, n, flags, ts, clock);
}

int main(void) {
  char* base = mmap((void*)0x20000000, 4096, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  check(base == (char*)0x20000000, "mmap at 0x20000000");
  uint32_t* words = (uint32_t*)base;              // 64 words, all 0
  struct waitv* w = (struct waitv*)(base + 256);  // 40 waiters
  for (int i = 0; i < 40; ++i) {
    w[i].val = i == 1 ? 0x1234 : 7;
    w[i].uaddr = (uint64_t)(uintptr_t)&words[i];
    w[i].flags = i == 2 ? 0x82 : (i == 3 ? 0x42 : 0x2);
  }
  struct timespec* past = (struct timespec*)(base + 2048);  // absolute: long gone
  past->tv_sec = 0;
  past->tv_nsec = 1000;
  waitv(w, 1, 0, NULL, CLOCK_MONOTONIC);                  // EAGAIN: 0 != 7
  waitv(w, 3, 0, past, CLOCK_MONOTONIC);                  // EAGAIN
  waitv(w, 4, 0, past, CLOCK_REALTIME);                   // EINVAL: flag 0x40
  waitv(w, 40, 0, NULL, CLOCK_MONOTONIC);                 // EINVAL: flag 0x40 (waiter 3)
  waitv(NULL, 1, 0, NULL, CLOCK_MONOTONIC);               // EINVAL
  waitv((struct waitv*)8, 1, 0, NULL, CLOCK_MONOTONIC);   // EFAULT
  waitv(w, 0, 5, (const struct timespec*)8, 77);          // EINVAL
  w[0].val = 0;
  waitv(w, 1, 0, past, CLOCK_MONOTONIC);                  // ETIMEDOUT: 0 == 0, deadline passed
  w[0].flags = 0x82;
  waitv(w, 1, 0, past, CLOCK_REALTIME);                   // ETIMEDOUT, private
  w[0].flags = 0;
  waitv(w, 1, 0, NULL, CLOCK_MONOTONIC);                  // EINVAL: no size
  w[0].flags = 0xf;
  waitv(w, 1, 0, NULL, CLOCK_MONOTONIC);                  // EINVAL
  return 0;
}
