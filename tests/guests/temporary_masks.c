// Temporary signal masks that block (nearly) everything, SIGSYS included: sigsuspend, ppoll and
// pselect with glibc's sigfillset (which leaves only its two internal signals open). A handler
// that runs inside them and makes calls futexbox traps (rt_sigprocmask, a futex wake) killed the
// process with "Bad system call" under the old agent, and so did a thread cancelled inside
// sigsuspend (its cleanup takes locks). Also: a thread cancelled inside system(), and select()
// interrupted by SIGCHLD (issue 13, item 5).
#include <poll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/wait.h>
#include "guest_util.h"

static _Atomic int g_handled;
static uint32_t g_word;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_usr1(int sig) {
  (void)sig;
  sigset_t none, old;
  sigemptyset(&none);
  pthread_sigmask(SIG_BLOCK, &none, &old);               // a trapped rt_sigprocmask
  futex(&g_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);  // a trapped futex call
  ++g_handled;
}

enum Kind { kSigsuspend, kPpoll, kPselect };

struct waiter {
  enum Kind kind;
  _Atomic int ready;
  _Atomic pid_t tid;
  int result;
  int error;
};

static void* wait_with_everything_blocked(void* arg) {
  struct waiter* w = arg;
  sigset_t all_but_usr1;
  sigfillset(&all_but_usr1);
  sigdelset(&all_but_usr1, SIGUSR1);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);  // delivered only inside the call
  w->tid = gettid();
  w->ready = 1;
  switch (w->kind) {
    case kSigsuspend: w->result = sigsuspend(&all_but_usr1); break;
    case kPpoll: w->result = ppoll(NULL, 0, NULL, &all_but_usr1); break;
    case kPselect: w->result = pselect(0, NULL, NULL, NULL, NULL, &all_but_usr1); break;
  }
  w->error = errno;
  return NULL;
}

static const char* kNames[] = {"sigsuspend", "ppoll", "pselect"};

static _Atomic int g_children;
static void on_chld(int sig) {
  (void)sig;
  ++g_children;
}

// select() without a mask of its own (glibc issues pselect6 with none): it runs with the thread's
// mask, under which SIGCHLD must interrupt it (cmake waited forever when it did not).
static void select_until_a_child_exits(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_chld;
  sigemptyset(&sa.sa_mask);
  check(sigaction(SIGCHLD, &sa, NULL) == 0, "sigaction SIGCHLD");
  const pid_t child = fork();
  if (child == 0) {
    usleep(50 * 1000);
    _exit(0);
  }
  struct timeval five_seconds = {5, 0};
  const int r = select(0, NULL, NULL, NULL, &five_seconds);
  const int error = errno;
  waitpid(child, NULL, 0);
  printf("select: %d (%s), SIGCHLD handled %d time(s)\n", r, r < 0 ? strerrorname_np(error) : "timed out",
         (int)g_children);
}

static void cleanup(void* arg) {
  // What a cancelled thread's cleanup does: take a lock (contended or not, a futex call maybe).
  pthread_mutex_lock(&g_lock);
  ++*(int*)arg;
  pthread_mutex_unlock(&g_lock);
}

static int g_cleanups;

static void* cancelled_in_sigsuspend(void* arg) {
  (void)arg;
  pthread_cleanup_push(cleanup, &g_cleanups);
  sigset_t all;
  sigfillset(&all);
  for (;;) sigsuspend(&all);
  pthread_cleanup_pop(0);
  return NULL;
}

static void* cancelled_in_system(void* arg) {
  (void)arg;
  pthread_cleanup_push(cleanup, &g_cleanups);
  system("exec sleep 30 >/dev/null 2>&1");  // exec: the process system() kills is sleep
  pthread_cleanup_pop(0);
  return NULL;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  check(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
  for (int k = kSigsuspend; k <= kPselect; ++k) {
    struct waiter w = {(enum Kind)k, 0, 0, 0, 0};
    pthread_t t;
    check(pthread_create(&t, NULL, wait_with_everything_blocked, &w) == 0, "pthread_create");
    while (!w.ready) usleep(100);
    wait_until_blocked(w.tid);
    pthread_kill(t, SIGUSR1);
    check(pthread_join(t, NULL) == 0, "pthread_join");
    printf("%s: %d (%s), handler ran %d time(s)\n", kNames[k], w.result,
           w.result < 0 ? strerrorname_np(w.error) : "-", (int)g_handled);
  }
  select_until_a_child_exits();
  void* (*bodies[])(void*) = {cancelled_in_sigsuspend, cancelled_in_system};
  const char* where[] = {"sigsuspend with a full mask", "system()"};
  for (int i = 0; i < 2; ++i) {
    pthread_t t;
    check(pthread_create(&t, NULL, bodies[i], NULL) == 0, "pthread_create");
    usleep(100 * 1000);
    check(pthread_cancel(t) == 0, "pthread_cancel");
    void* result;
    check(pthread_join(t, &result) == 0, "pthread_join");
    printf("cancelled in %s: %s, cleanups %d\n", where[i],
           result == PTHREAD_CANCELED ? "PTHREAD_CANCELED" : "not cancelled", g_cleanups);
  }
  return 0;
}
