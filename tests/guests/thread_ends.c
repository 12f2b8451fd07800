// Threads and processes ending every way strace reports: a thread that calls pthread_exit (the
// exit syscall), a forked child that exits 3 (exit_group in another process), and a thread still
// blocked in pause() when main exits 5 (ended by exit_group). futexbox trace must print the same
// "+++ exited with N +++" lines as strace -f (tests/runner/trace_test.cc).
#include <sys/wait.h>
#include "guest_util.h"

static void* ends_itself(void* arg) {
  (void)arg;
  pthread_exit(NULL);
}

static void* blocks_forever(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

int main(void) {
  pthread_t a, b;
  pthread_create(&a, NULL, ends_itself, NULL);
  pthread_join(a, NULL);
  const pid_t child = fork();
  check(child >= 0, "fork");
  if (child == 0) exit(3);
  int status = 0;
  check(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 3, "child");
  pthread_create(&b, NULL, blocks_forever, NULL);
  usleep(20000);  // b is in pause() by now
  exit(5);
}
