// Internals of the parking lot shared by parking_lot.cc and deadlock.cc. Not part of the API.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "sync/parking_lot.h"
#include "sync/thread_parker.h"
#include "sync/word_lock.h"

namespace futexbox::sync::internal {

inline constexpr std::size_t kLoadFactor = 3;
inline constexpr std::size_t kMaxHeldResources = 32;

struct ThreadData {
  ThreadParker parker;
  WaitNode node;               // the node of single-key parks
  bool registered = false;     // counted in the thread total, listed in the registry
  bool parked_with_timeout = false;
  pid_t tid = 0;
  // Registry of live threads (for deadlock detection and fork), guarded by the registry lock.
  ThreadData* registry_prev = nullptr;
  ThreadData* registry_next = nullptr;
  // Deadlock detection: resources this thread holds. Written only by the thread itself; read by
  // check_deadlock() with every bucket locked, which is racy only for threads that are running and
  // therefore not part of any cycle.
  std::atomic<std::size_t> held_count{0};
  std::atomic<ParkKey> held[kMaxHeldResources] = {};
  // Set by the thread before it queues a node, read under bucket locks by deadlock detection.
  bool parked_on_many = false;
};

// Marsaglia xorshift32 plus a deadline: the per-bucket "be fair now" timer of parking_lot_core.
struct FairTimeout {
  std::int64_t timeout_ns = 0;
  std::uint32_t seed = 1;
  bool should_timeout() noexcept;
};

struct alignas(64) Bucket {
  WordLock lock;
  WaitNode* head = nullptr;
  WaitNode* tail = nullptr;
  FairTimeout fair;
};

struct HashTable {
  Bucket* buckets = nullptr;
  std::size_t size = 0;  // a power of two
  unsigned hash_bits = 0;
  HashTable* prev = nullptr;  // older tables are never freed: lock-free readers may still hold them
  std::size_t mapped_bytes = 0;
};

HashTable* current_table() noexcept;
void reset_lot_after_fork_without_handlers() noexcept;
// Locks every bucket of the current table (in index order) and returns it; the table cannot be
// replaced until unlock_all_buckets.
HashTable* lock_all_buckets() noexcept;
void unlock_all_buckets(HashTable* table) noexcept;

// The registry of threads that have used the lot (for deadlock detection).
WordLock& registry_lock() noexcept;
ThreadData* registry_head() noexcept;  // guarded by registry_lock
ThreadData& this_thread_data() noexcept;

}  // namespace futexbox::sync::internal
