// Timed waits: they time out (ETIMEDOUT, not early), or end when woken in time.
#include <semaphore.h>
#include "guest_util.h"

static double now(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timespec in(clockid_t clock, long ms) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  ts.tv_nsec += (ms % 1000) * 1000000L;
  ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
  ts.tv_nsec %= 1000000000L;
  return ts;
}

// `t0` is when the wait began; the time is taken here, after the call has returned.
static void report(const char* what, int err, double t0, double at_least) {
  const double waited = now(CLOCK_MONOTONIC) - t0;
  printf("%s: %s%s\n", what, err == 0 ? "0" : strerrorname_np(err),
         waited + 0.001 >= at_least ? "" : " (too early)");
}

static uint32_t word;

static void* waker(void* arg) {
  (void)arg;
  usleep(20000);
  __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
  futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  return NULL;
}

int main(void) {
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t c = PTHREAD_COND_INITIALIZER;
  pthread_mutex_lock(&m);
  double t0 = now(CLOCK_MONOTONIC);
  struct timespec until = in(CLOCK_REALTIME, 30);
  report("cond_timedwait", pthread_cond_timedwait(&c, &m, &until), t0, 0.03);
  pthread_mutex_unlock(&m);

  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_t cm;
  pthread_cond_init(&cm, &ca);
  pthread_mutex_lock(&m);
  t0 = now(CLOCK_MONOTONIC);
  until = in(CLOCK_MONOTONIC, 30);
  report("cond_timedwait monotonic", pthread_cond_timedwait(&cm, &m, &until),
         t0, 0.03);
  pthread_mutex_unlock(&m);

  sem_t s;
  sem_init(&s, 0, 0);
  t0 = now(CLOCK_MONOTONIC);
  until = in(CLOCK_REALTIME, 30);
  report("sem_timedwait", sem_timedwait(&s, &until) == 0 ? 0 : errno, t0,
         0.03);

  pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&held);
  t0 = now(CLOCK_MONOTONIC);
  until = in(CLOCK_REALTIME, 30);
  // The owner relocking with a timeout: a normal mutex waits out the timeout.
  report("mutex_timedlock", pthread_mutex_timedlock(&held, &until), t0,
         0.03);

  // Raw futex calls: relative FUTEX_WAIT and absolute WAIT_BITSET on both clocks.
  struct timespec rel = {0, 30000000};
  t0 = now(CLOCK_MONOTONIC);
  long r = futex(&word, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0);
  report("FUTEX_WAIT 30ms", r == 0 ? 0 : errno, t0, 0.03);
  t0 = now(CLOCK_MONOTONIC);
  until = in(CLOCK_REALTIME, 30);
  r = futex(&word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &until, NULL,
            FUTEX_BITSET_MATCH_ANY);
  report("WAIT_BITSET realtime", r == 0 ? 0 : errno, t0, 0.03);
  t0 = now(CLOCK_MONOTONIC);
  until = in(CLOCK_MONOTONIC, 30);
  r = futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 0, &until, NULL, FUTEX_BITSET_MATCH_ANY);
  report("WAIT_BITSET monotonic", r == 0 ? 0 : errno, t0, 0.03);

  // Woken before the timeout: 0.
  pthread_t t;
  pthread_create(&t, NULL, waker, NULL);
  rel.tv_sec = 5;
  rel.tv_nsec = 0;
  do {
    r = futex(&word, FUTEX_WAIT_PRIVATE, 0, &rel, NULL, 0);
  } while (r != 0 && errno == EINTR);
  pthread_join(t, NULL);
  printf("woken in time: %s word %u\n", r == 0 || errno == EAGAIN ? "yes" : strerrorname_np(errno),
         word);
  // An invalid timeout.
  struct timespec bad = {0, 1000000000L};
  printf("bad timeout: %s\n", outcome(futex(&word, FUTEX_WAIT_PRIVATE, 1, &bad, NULL, 0)));
  return 0;
}
