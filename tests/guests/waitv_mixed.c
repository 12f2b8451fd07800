// futex_waitv over a private and a shared word: a wake on either side ends the wait with that
// entry's index (the agent serves the private entry and sleeps on the shared one in the host).
#include "guest_util.h"

static uint32_t private_word, shared_word;
static volatile pid_t tid;
static long result;

static void* waiter(void* arg) {
  (void)arg;
  struct waitv w[2] = {
      {0, (uint64_t)(uintptr_t)&private_word, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, 0},
      {0, (uint64_t)(uintptr_t)&shared_word, FUTEX2_SIZE_U32, 0},
  };
  tid = gettid();
  result = syscall(SYS_futex_waitv, w, 2, 0, NULL, 0);
  if (result < 0) result = -errno;
  return NULL;
}

static long round_trip(uint32_t* word, int op) {
  tid = 0;
  private_word = shared_word = 0;
  pthread_t t;
  pthread_create(&t, NULL, waiter, NULL);
  while (tid == 0) usleep(100);
  wait_until_blocked(tid);
  long woken = futex(word, op, 1, NULL, NULL, 0);
  pthread_join(t, NULL);
  printf("woken %ld, waitv returned %ld\n", woken, result);
  return result;
}

int main(void) {
  round_trip(&shared_word, FUTEX_WAKE);
  round_trip(&private_word, FUTEX_WAKE_PRIVATE);
  // A value mismatch on either side: EAGAIN at once.
  shared_word = 5;
  struct waitv w[2] = {
      {0, (uint64_t)(uintptr_t)&private_word, FUTEX2_SIZE_U32 | FUTEX2_PRIVATE, 0},
      {0, (uint64_t)(uintptr_t)&shared_word, FUTEX2_SIZE_U32, 0},
  };
  private_word = 0;
  printf("mismatch: %s\n", outcome(syscall(SYS_futex_waitv, w, 2, 0, NULL, 0)));
  return 0;
}
