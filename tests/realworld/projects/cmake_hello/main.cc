#include <mutex>
#include <thread>
#include <vector>

void greet(int);

int main() {
  std::mutex m;
  int done = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      std::lock_guard<std::mutex> lock(m);
      ++done;
    });
  }
  for (auto& t : threads) t.join();
  greet(done);
}
