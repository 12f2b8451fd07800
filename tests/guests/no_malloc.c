// The agent's SIGSYS handler must never allocate (a guest thread may hold malloc's lock, which
// is a futex the guest itself uses). This program interposes malloc and friends, counting every
// call from any thread, then runs contended futex traffic — waits, wakes, timed waits, a waitv,
// requeues through condvar broadcasts, signals during waits — in threads that allocate nothing
// themselves, and reports how many allocations those threads made meanwhile (the agent's handler
// runs on them). Natively and served: 0.
#include <dlfcn.h>
#include <signal.h>
#include "guest_util.h"

static long allocations;
static int counting;
// Only the traffic threads count: the main thread polls /proc with stdio, which allocates.
static __thread int traffic_thread;

static void* (*real_malloc)(size_t);
static void* (*real_calloc)(size_t, size_t);
static void* (*real_realloc)(void*, size_t);

// dlsym itself may call calloc before real_calloc is known: serve that from a static buffer.
static char bootstrap[4096];
static size_t bootstrap_used;

static void count(void) {
  if (traffic_thread && __atomic_load_n(&counting, __ATOMIC_RELAXED)) {
    __atomic_add_fetch(&allocations, 1, __ATOMIC_RELAXED);
  }
}

void* malloc(size_t n) {
  if (!real_malloc) real_malloc = (void* (*)(size_t))dlsym(RTLD_NEXT, "malloc");
  count();
  return real_malloc(n);
}
void* calloc(size_t a, size_t b) {
  if (!real_calloc) {
    if (bootstrap_used + a * b <= sizeof bootstrap) {
      void* p = bootstrap + bootstrap_used;
      bootstrap_used += (a * b + 15) & ~(size_t)15;
      return p;
    }
    real_calloc = (void* (*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
  }
  count();
  return real_calloc(a, b);
}
void* realloc(void* p, size_t n) {
  if (!real_realloc) real_realloc = (void* (*)(void*, size_t))dlsym(RTLD_NEXT, "realloc");
  count();
  return real_realloc(p, n);
}

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t start, stop;
static long shared_counter;
static volatile int handled;
static void on_usr1(int sig) { (void)sig; ++handled; }

static void* traffic(void* arg) {
  const int me = (int)(intptr_t)arg;
  traffic_thread = 1;
  pthread_barrier_wait(&start);
  for (int i = 0; i < 5000; ++i) {
    pthread_mutex_lock(&m);
    ++shared_counter;
    if (i % 500 == 0) usleep(500);
    if (i % 100 == 0) pthread_cond_broadcast(&c);
    pthread_mutex_unlock(&m);
  }
  if (me == 0) {
    uint32_t w = 0;
    struct timespec ts = {0, 1000000};
    for (int i = 0; i < 20; ++i) futex(&w, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
  }
  pthread_barrier_wait(&stop);
  return NULL;
}

static uint32_t word;
static volatile pid_t sleeper_tid;
static void* sleeper(void* arg) {
  (void)arg;
  traffic_thread = 1;
  sleeper_tid = gettid();
  pthread_barrier_wait(&start);
  while (__atomic_load_n(&word, __ATOMIC_SEQ_CST) == 0) futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
  pthread_barrier_wait(&stop);
  return NULL;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  pthread_barrier_init(&start, NULL, 5);
  pthread_barrier_init(&stop, NULL, 5);
  pthread_t t[4];
  for (int i = 0; i < 3; ++i) pthread_create(&t[i], NULL, traffic, (void*)(intptr_t)i);
  pthread_create(&t[3], NULL, sleeper, NULL);
  // Warm up: every thread traps once before counting starts (the first trap of a thread sets up
  // its task, which allocates nothing either, but thread start-up in libc might).
  while (sleeper_tid == 0) usleep(100);
  __atomic_store_n(&counting, 1, __ATOMIC_SEQ_CST);
  pthread_barrier_wait(&start);
  for (int i = 0; i < 20; ++i) {
    wait_until_blocked(sleeper_tid);
    pthread_kill(t[3], SIGUSR1);
  }
  __atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
  futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  pthread_barrier_wait(&stop);
  __atomic_store_n(&counting, 0, __ATOMIC_SEQ_CST);
  for (int i = 0; i < 4; ++i) pthread_join(t[i], NULL);
  printf("counter %ld, signals handled %d, allocations during futex traffic: %ld\n", shared_counter,
         handled, allocations);
  return 0;
}
