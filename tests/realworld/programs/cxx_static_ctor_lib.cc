#include <iostream>
#include <mutex>
#include <thread>

namespace {
std::once_flag once;
int greeted = 0;
// A static constructor that goes through pthread_once (FUTEX_WAKE_PRIVATE on its slow path) and
// starts and joins a thread (a futex wait on the thread's exit), before main and before the
// agent's own constructor in an exec'd image.
struct Greeter {
  Greeter() {
    std::call_once(once, [] { ++greeted; });
    std::thread([] { std::cout << "constructor thread\n"; }).join();
  }
} greeter;
}  // namespace

int greeted_by_library() { return greeted; }
