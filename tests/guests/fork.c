// fork with threads blocked in futex waits in the parent: the child's table holds none of them
// (a wake there finds no ghost), the child runs threads of its own, and the parent carries on.
// Also vfork + exec, posix_spawn, and a raw fork syscall that skips pthread_atfork.
#include <spawn.h>
#include <sys/wait.h>
#include "guest_util.h"

extern char** environ;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int go;
static volatile pid_t parked_tid;

static void* parked(void* arg) {
  (void)arg;
  parked_tid = gettid();
  pthread_mutex_lock(&m);
  while (!go) pthread_cond_wait(&c, &m);
  pthread_mutex_unlock(&m);
  return NULL;
}

// In a child: a wake on the parent's condvar word wakes nobody, then threads of its own work.
static int child_work(void) {
  uint32_t* word = (uint32_t*)&c;  // any word the parent's waiter was queued on
  long woken = futex(word, FUTEX_WAKE_PRIVATE, 1 << 30, NULL, NULL, 0);
  const long counter = count_with_contention(2);
  printf("child: ghosts woken %ld counter %ld\n", woken, counter);
  fflush(stdout);
  return 0;
}

int main(void) {
  pthread_t p;
  pthread_create(&p, NULL, parked, NULL);
  while (parked_tid == 0) usleep(100);
  wait_until_blocked(parked_tid);
  fflush(stdout);

  pid_t pid = fork();
  if (pid == 0) _exit(child_work());
  int status;
  waitpid(pid, &status, 0);
  printf("fork child exit %d\n", WEXITSTATUS(status));

  pid = (pid_t)syscall(SYS_fork);  // no pthread_atfork handlers run
  if (pid == 0) _exit(child_work());
  waitpid(pid, &status, 0);
  printf("raw fork child exit %d\n", WEXITSTATUS(status));

  fflush(stdout);
  pid = vfork();
  if (pid == 0) {
    execl("/bin/echo", "echo", "vfork child says hi", (char*)NULL);
    _exit(127);
  }
  waitpid(pid, &status, 0);
  printf("vfork child exit %d\n", WEXITSTATUS(status));

  fflush(stdout);
  char* argv[] = {"echo", "posix_spawn child says hi", NULL};
  posix_spawn(&pid, "/bin/echo", NULL, NULL, argv, environ);
  waitpid(pid, &status, 0);
  printf("posix_spawn child exit %d\n", WEXITSTATUS(status));

  pthread_mutex_lock(&m);
  go = 1;
  pthread_cond_signal(&c);
  pthread_mutex_unlock(&m);
  pthread_join(p, NULL);
  printf("parent: parked thread woken\n");
  return 0;
}
