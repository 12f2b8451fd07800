#include "sync/deadlock.h"

#include <algorithm>
#include <unordered_map>

#include "sync/parking_lot_internal.h"

namespace futexbox::sync::deadlock {

namespace internal {

std::atomic<bool> g_enabled{false};

void acquire_slow(ParkKey key) noexcept {
  sync::internal::ThreadData& me = sync::internal::this_thread_data();
  const std::size_t n = me.held_count.load(std::memory_order_relaxed);
  if (n < sync::internal::kMaxHeldResources) me.held[n].store(key, std::memory_order_relaxed);
  me.held_count.store(n + 1, std::memory_order_release);
}

void release_slow(ParkKey key) noexcept {
  sync::internal::ThreadData& me = sync::internal::this_thread_data();
  std::size_t n = me.held_count.load(std::memory_order_relaxed);
  if (n == 0) return;
  const std::size_t recorded = std::min(n, sync::internal::kMaxHeldResources);
  // Release order is usually LIFO: search from the most recent.
  for (std::size_t i = recorded; i-- > 0;) {
    if (me.held[i].load(std::memory_order_relaxed) == key) {
      for (std::size_t j = i; j + 1 < recorded; ++j) {
        me.held[j].store(me.held[j + 1].load(std::memory_order_relaxed),
                         std::memory_order_relaxed);
      }
      break;
    }
  }
  me.held_count.store(n - 1, std::memory_order_release);
}

}  // namespace internal

void set_enabled(bool enabled) noexcept {
  internal::g_enabled.store(enabled, std::memory_order_relaxed);
}

std::vector<std::vector<DeadlockedThread>> check_deadlock() {
  using sync::internal::ThreadData;
  struct Node {
    pid_t tid;
    ParkKey waiting_on;
    std::vector<ParkKey> holding;
  };
  std::vector<Node> threads;                        // parked, untimed, single-key threads
  std::unordered_map<ParkKey, std::vector<std::size_t>> holders;  // key -> indexes in threads
  std::unordered_map<const ThreadData*, std::size_t> index_of;

  // Snapshot the graph with every bucket and the registry locked, so no edge changes meanwhile.
  sync::internal::registry_lock().lock();
  sync::internal::HashTable* table = sync::internal::lock_all_buckets();
  for (std::size_t b = 0; b < table->size; ++b) {
    for (const sync::internal::WaitNode* node = table->buckets[b].head; node != nullptr;
         node = node->next) {
      const ThreadData* t = node->thread;
      if (t->parked_with_timeout || t->parked_on_many) continue;
      index_of.emplace(t, threads.size());
      threads.push_back(Node{t->tid, node->key.load(std::memory_order_relaxed), {}});
    }
  }
  for (ThreadData* t = sync::internal::registry_head(); t != nullptr; t = t->registry_next) {
    auto it = index_of.find(t);
    if (it == index_of.end()) continue;  // running threads cannot be in a cycle
    const std::size_t n = std::min(t->held_count.load(std::memory_order_acquire),
                                   sync::internal::kMaxHeldResources);
    for (std::size_t i = 0; i < n; ++i) {
      const ParkKey key = t->held[i].load(std::memory_order_relaxed);
      threads[it->second].holding.push_back(key);
      holders[key].push_back(it->second);
    }
  }
  sync::internal::unlock_all_buckets(table);
  sync::internal::registry_lock().unlock();

  // Each parked thread waits for the holders of its key; a cycle is a path back to itself.
  // Colour-marking DFS; every cycle found is reported once, from its first thread on the stack.
  std::vector<std::vector<DeadlockedThread>> cycles;
  enum class Mark : unsigned char { kWhite, kOnStack, kDone };
  std::vector<Mark> mark(threads.size(), Mark::kWhite);
  std::vector<std::size_t> stack;
  auto dfs = [&](auto&& self, std::size_t v) -> void {
    mark[v] = Mark::kOnStack;
    stack.push_back(v);
    auto it = holders.find(threads[v].waiting_on);
    if (it != holders.end()) {
      for (std::size_t w : it->second) {
        if (mark[w] == Mark::kOnStack) {
          std::vector<DeadlockedThread> cycle;
          auto start = std::find(stack.begin(), stack.end(), w);
          for (auto s = start; s != stack.end(); ++s) {
            cycle.push_back({threads[*s].tid, threads[*s].waiting_on, threads[*s].holding});
          }
          cycles.push_back(std::move(cycle));
        } else if (mark[w] == Mark::kWhite) {
          self(self, w);
        }
      }
    }
    stack.pop_back();
    mark[v] = Mark::kDone;
  };
  for (std::size_t v = 0; v < threads.size(); ++v) {
    if (mark[v] == Mark::kWhite) dfs(dfs, v);
  }
  return cycles;
}

}  // namespace futexbox::sync::deadlock
