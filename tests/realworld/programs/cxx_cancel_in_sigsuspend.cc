// A C++ thread cancelled while it sits in sigsuspend with a full mask: the forced unwind must run
// the destructors of its frames, as natively. Under futexbox run the call is issued from a stub
// that unwinders take for a signal trampoline (tools/agent/temporary_masks.h).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>

namespace {

struct Guard {
  ~Guard() { std::printf("destructor ran\n"); }
};

void* body(void*) {
  Guard guard;
  sigset_t all;
  sigfillset(&all);
  for (;;) sigsuspend(&all);
  return nullptr;
}

}  // namespace

int main() {
  pthread_t t;
  pthread_create(&t, nullptr, body, nullptr);
  usleep(100 * 1000);
  pthread_cancel(t);
  void* result = nullptr;
  pthread_join(t, &result);
  std::printf("%s\n", result == PTHREAD_CANCELED ? "cancelled" : "not cancelled");
  return 0;
}
