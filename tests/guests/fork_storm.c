// Forks N children one after another; each makes one private futex call (so its agent notices the
// fork and resets the parent's state) and exits; prints the time per fork+exit+wait in µs.
#include <sys/wait.h>

#include "guest_util.h"

static uint32_t word;

int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 300;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; ++i) {
    const pid_t p = fork();
    if (p < 0) return 1;
    if (p == 0) {
      futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
      _exit(0);
    }
    int status;
    if (waitpid(p, &status, 0) != p || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  const double us = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / 1e3;
  printf("%.1f\n", us / n);
  return 0;
}
