// Makes a fixed list of futex(2) calls on a word at a fixed address (so strace prints the same
// addresses every run) and prints, per call, what a tracer records: the six arguments, the
// timespec the timeout pointed at, and the result. tests/runner/strace_format_test.cc formats
// these with futexbox's strace formatter and compares them with the host strace's own lines.
#include <sys/mman.h>
#include "guest_util.h"

static void call(int op, uint64_t val, const struct timespec* ts, uint64_t uaddr2_off, uint64_t val3,
                 uint64_t uaddr_override) {
  static uint32_t* base;
  if (base == NULL) {
    base = mmap((void*)0x10000000, 4096, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    check(base == (uint32_t*)0x10000000, "mmap at 0x10000000");
  }
  const uint64_t a[6] = {uaddr_override ? uaddr_override : (uint64_t)(uintptr_t)base, (uint64_t)(uint32_t)op,
                         val, (uint64_t)(uintptr_t)ts,
                         uaddr2_off == 1 ? 0 : (uint64_t)(uintptr_t)base + uaddr2_off, val3};
  const long r = syscall(SYS_futex, a[0], a[1], a[2], a[3], a[4], a[5]);
  const long result = r < 0 ? -errno : r;
  const int readable = ts != NULL && (uintptr_t)ts > 4096;
  printf("%lu %lu %lu %lu %lu %lu %d %lld %lld %ld\n", a[0], a[1], a[2], a[3], a[4], a[5], readable,
         readable ? (long long)ts->tv_sec : 0LL, readable ? (long long)ts->tv_nsec : 0LL, result);
}

int main(void) {
  const struct timespec rel = {0, 1000};
  const struct timespec* bad = (const struct timespec*)8;
  // op, val, timeout, uaddr2 offset (1 = NULL), val3, uaddr override
  call(FUTEX_WAIT_PRIVATE, 1, NULL, 1, 0, 0);
  call(FUTEX_WAIT_PRIVATE, 0, &rel, 1, 0, 0);
  call(FUTEX_WAIT, 0xffffffff, NULL, 1, 0, 0);
  call(FUTEX_WAIT_PRIVATE, 0, bad, 1, 0, 0);
  call(FUTEX_WAKE_PRIVATE, 1, NULL, 1, 0, 0);
  call(FUTEX_WAKE, 0xfffffffb, NULL, 1, 0, 0);
  call(FUTEX_WAKE_PRIVATE, 1, NULL, 1, 0, 1);  // EINVAL: misaligned
  call(FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 3, NULL, 1, FUTEX_BITSET_MATCH_ANY, 0);
  call(FUTEX_WAIT_BITSET_PRIVATE, 3, NULL, 1, 0x5, 0);
  call(FUTEX_WAIT_BITSET, 0, NULL, 0x1230, 0, 0);
  call(FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, 1, FUTEX_BITSET_MATCH_ANY, 0);
  call(FUTEX_REQUEUE_PRIVATE, 1, (const struct timespec*)5, 4, 0, 0);
  call(FUTEX_CMP_REQUEUE_PRIVATE, 1, (const struct timespec*)5, 4, 0, 0);
  call(FUTEX_CMP_REQUEUE_PRIVATE, 1, (const struct timespec*)5, 4, 7, 0);
  call(FUTEX_WAKE_OP_PRIVATE, 1, (const struct timespec*)1, 4,
       FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_GT, 1), 0);
  call(FUTEX_WAKE_OP_PRIVATE, 1, (const struct timespec*)1, 4,
       (8u << 28) | (1u << 24) | (3u << 12), 0);
  call(FUTEX_WAKE_OP_PRIVATE, 1, (const struct timespec*)1, 4,
       (7u << 28) | (9u << 24) | (0xfffu << 12) | 0xabc, 0);
  call(FUTEX_LOCK_PI_PRIVATE, 0, NULL, 1, 0, 0);
  call(FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, 1, 0, 0);
  call(FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, 1, 0, 0);
  call(FUTEX_LOCK_PI2_PRIVATE, 0, NULL, 1, 0, 0);
  call(FUTEX_LOCK_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 0, NULL, 1, 0, 0);
  call(FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, 1, 0, 0);
  call(FUTEX_WAIT_REQUEUE_PI_PRIVATE, 7, NULL, 4, 0, 0);
  call(FUTEX_WAIT_REQUEUE_PI_PRIVATE | FUTEX_CLOCK_REALTIME, 7, NULL, 4, 0, 0);
  call(FUTEX_CMP_REQUEUE_PI_PRIVATE, 1, (const struct timespec*)5, 4, 7, 0);
  call(FUTEX_FD, 1, NULL, 1, 0, 0);
  call(99, 0, NULL, 1, 0, 0);
  call(99 | FUTEX_PRIVATE_FLAG, 0, NULL, 1, 0, 0);
  call(FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, NULL, 1, 0, 0);
  return 0;
}
