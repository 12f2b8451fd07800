// Signals against futex waits, by Linux's rules:
// - untimed wait, handler without SA_RESTART: EINTR;
// - untimed wait, handler with SA_RESTART: restarted transparently (returns when woken);
// - timed wait, handler with SA_RESTART: EINTR all the same;
// - a signal with no handler (SIGCONT, SIGSTOP/SIGCONT): invisible;
// - wakes are never EINTR, even under a signal storm;
// - a wake racing a signal is never lost;
// and the guest's view of SIGSYS: it may block it and install a handler, and sees what it set.
#include <signal.h>
#include "guest_util.h"

static volatile int handled;
static void on_usr1(int sig) {
  (void)sig;
  ++handled;
}

static void install(int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
}

static uint32_t word;
static volatile pid_t waiter_tid;
static long wait_result;
static int wait_errno;
static const struct timespec* wait_timeout;

static void* waiter(void* arg) {
  (void)arg;
  waiter_tid = gettid();
  wait_result = futex(&word, FUTEX_WAIT_PRIVATE, 0, wait_timeout, NULL, 0);
  wait_errno = errno;
  return NULL;
}

static void scenario(const char* name, int flags, const struct timespec* timeout, int signo,
                     int then_wake) {
  word = 0;
  handled = 0;
  waiter_tid = 0;
  wait_timeout = timeout;
  install(flags);
  pthread_t t;
  pthread_create(&t, NULL, waiter, NULL);
  while (waiter_tid == 0) usleep(100);
  wait_until_blocked(waiter_tid);
  pthread_kill(t, signo);
  if (then_wake) {
    usleep(20000);
    __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
    futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  }
  pthread_join(t, NULL);
  printf("%s: %s handled %d\n", name, wait_result == 0 ? "0" : strerrorname_np(wait_errno),
         handled);
}

static volatile int storm_done;
static void* storm(void* arg) {
  pthread_t target = *(pthread_t*)arg;
  while (!storm_done) {
    pthread_kill(target, SIGUSR1);
    usleep(50);
  }
  return NULL;
}

static uint32_t race_word;
static volatile pid_t racer_tid;
static void* race_waiter(void* arg) {
  (void)arg;
  racer_tid = gettid();
  // Loop as a careful caller does: EINTR and spurious returns re-check the word.
  while (__atomic_load_n(&race_word, __ATOMIC_SEQ_CST) == 0) {
    futex(&race_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
  }
  return NULL;
}

int main(void) {
  struct timespec five = {5, 0};
  scenario("untimed, no SA_RESTART", 0, NULL, SIGUSR1, 0);
  scenario("untimed, SA_RESTART", SA_RESTART, NULL, SIGUSR1, 1);
  scenario("timed, SA_RESTART", SA_RESTART, &five, SIGUSR1, 0);
  scenario("timed, no SA_RESTART", 0, &five, SIGUSR1, 0);
  scenario("untimed, SA_RESETHAND", SA_RESETHAND, NULL, SIGUSR1, 0);
  struct sigaction after_reset;
  sigaction(SIGUSR1, NULL, &after_reset);
  printf("SA_RESETHAND left SIG_DFL: %d\n", after_reset.sa_handler == SIG_DFL);
  scenario("SIGCONT without handler", 0, NULL, SIGCONT, 1);
  scenario("SIGCONT, timed", 0, &five, SIGCONT, 1);

  // A timed wait that a handler-less signal interrupts keeps its absolute deadline: it times out
  // 300 ms after it began, not 300 ms after the signal.
  {
    word = 0;
    waiter_tid = 0;
    struct timespec three_tenths = {0, 300000000};
    wait_timeout = &three_tenths;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    while (waiter_tid == 0) usleep(100);
    wait_until_blocked(waiter_tid);
    usleep(100000);
    pthread_kill(t, SIGCONT);
    pthread_join(t, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("timed wait, SIGCONT midway: %s, deadline kept: %s\n",
           wait_result == 0 ? "0" : strerrorname_np(wait_errno), took < 0.39 ? "yes" : "no");
  }

  // Wakes under a storm: never EINTR.
  install(0);
  pthread_t self = pthread_self(), s;
  storm_done = 0;
  pthread_create(&s, NULL, storm, &self);
  int eintr = 0;
  uint32_t w = 0;
  for (int i = 0; i < 200000; ++i) {
    if (futex(&w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0) < 0 && errno == EINTR) ++eintr;
  }
  storm_done = 1;
  pthread_join(s, NULL);
  printf("wake under a signal storm: %d EINTR, handler ran: %s\n", eintr,
         handled > 0 ? "yes" : "no");

  // Wakes racing signals: the waiter always comes out.
  for (int round = 0; round < 200; ++round) {
    race_word = 0;
    racer_tid = 0;
    pthread_t r;
    pthread_create(&r, NULL, race_waiter, NULL);
    while (racer_tid == 0) sched_yield();
    if (round % 2) usleep(200);
    pthread_kill(r, SIGUSR1);
    __atomic_store_n(&race_word, 1, __ATOMIC_SEQ_CST);
    futex(&race_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    pthread_join(r, NULL);
  }
  printf("wake racing a signal: 200 rounds done\n");

  // SIGSYS as the guest sees it.
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGSYS);
  sigprocmask(SIG_BLOCK, &set, NULL);
  sigprocmask(SIG_BLOCK, NULL, &old);
  printf("SIGSYS blocked as seen by the guest: %d\n", sigismember(&old, SIGSYS));
  pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&m);  // futex calls still work
  pthread_mutex_unlock(&m);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  sigprocmask(SIG_BLOCK, NULL, &old);
  printf("SIGSYS after unblocking: %d\n", sigismember(&old, SIGSYS));
  struct sigaction sa, back;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGSYS, &sa, NULL);
  sigaction(SIGSYS, NULL, &back);
  printf("SIGSYS handler reads back: %d flags has SA_RESTART %d\n", back.sa_handler == on_usr1,
         (back.sa_flags & SA_RESTART) != 0);
  handled = 0;
  raise(SIGSYS);
  printf("guest SIGSYS handler ran: %d\n", handled);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGSYS, &sa, NULL);
  raise(SIGSYS);
  printf("ignored SIGSYS: still alive\n");
  // Invalid requests get Linux's errors.
  printf("sigaction(SIGKILL): %s\n", outcome(sigaction(SIGKILL, &sa, NULL)));
  printf("rt_sigprocmask bad how: %s\n", outcome(syscall(SYS_rt_sigprocmask, 99, &set, NULL, 8)));
  printf("rt_sigprocmask bad size: %s\n", outcome(syscall(SYS_rt_sigprocmask, SIG_BLOCK, &set, NULL, 4)));
  printf("rt_sigaction bad pointer: %s\n", outcome(syscall(SYS_rt_sigaction, SIGUSR2, (void*)8, NULL, 8)));
  return 0;
}
