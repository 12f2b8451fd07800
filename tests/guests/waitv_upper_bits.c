// futex_waitv with garbage in the upper halves of nr_futexes and flags, which Linux ignores (both
// are unsigned ints): a wait on one shared word must be forwarded, as Linux reads it, so the
// host's FUTEX_WAKE on that word ends it. (Routed by the full registers, it was served, and the
// host's wake never reached it.)
#include "guest_util.h"

static uint32_t shared_word;
static volatile pid_t tid;
static long result;

static void* waiter(void* arg) {
  (void)arg;
  struct waitv w = {0, (uint64_t)(uintptr_t)&shared_word, FUTEX2_SIZE_U32, 0};
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += 5;  // an absolute timeout, so a lost wake fails instead of hanging
  tid = gettid();
  result = syscall(SYS_futex_waitv, &w, (1ULL << 32) | 1, 0xabcd00000000ULL, &deadline,
                   CLOCK_MONOTONIC);
  if (result < 0) result = -errno;
  return NULL;
}

int main(void) {
  pthread_t t;
  pthread_create(&t, NULL, waiter, NULL);
  while (tid == 0) usleep(100);
  wait_until_blocked(tid);
  const long woken = futex(&shared_word, FUTEX_WAKE, 1, NULL, NULL, 0);
  pthread_join(t, NULL);
  printf("woken %ld, waitv returned %s\n", woken, outcome(result));
  return result == 0 ? 0 : 1;
}
