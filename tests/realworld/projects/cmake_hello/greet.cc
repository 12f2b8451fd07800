// A shared library with a static constructor that goes through std::call_once (pthread_once,
// whose slow path always issues FUTEX_WAKE_PRIVATE) and <iostream>'s own initialiser.
#include <iostream>
#include <mutex>

namespace {
std::once_flag once;
struct Greeter {
  Greeter() {
    std::call_once(once, [] { std::cout << "greeter ready\n"; });
  }
} greeter;
}  // namespace

void greet(int n) { std::cout << "hello from " << n << " threads\n"; }
