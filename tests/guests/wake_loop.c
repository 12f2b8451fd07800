// Benchmark guest: N FUTEX_WAKE_PRIVATE calls on a word nobody waits on; prints ns per call.
#include "guest_util.h"

int main(int argc, char** argv) {
  const long n = argc > 1 ? atol(argv[1]) : 1000000;
  uint32_t word = 0;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; ++i) futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  const double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
  printf("ns_per_call %.1f\n", ns / (double)n);
  return 0;
}
