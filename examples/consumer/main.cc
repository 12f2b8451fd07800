// Waits on a word through futexbox's wait table and wakes it from another thread.
#include <futexbox/sync/sharded_wait.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <thread>

int main() {
  futexbox::sync::ShardedWait<std::uintptr_t> table;
  std::atomic<std::uint32_t> word{0};
  const auto key = reinterpret_cast<std::uintptr_t>(&word);
  std::thread waker([&] {
    word.store(1);
    table.wake(key, 1);
  });
  while (word.load() == 0) {
    (void)table.wait(key, futexbox::sync::kAnyBitset, [&] { return word.load() == 0; });
  }
  waker.join();
  std::puts("consumer: woken through futexbox");
  return 0;
}
