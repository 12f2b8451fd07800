// Implementation of the parking lot. See parking_lot.h for the contract; this file-top note is
// about why the concurrency is safe.
//
// Locks. Each bucket's WordLock guards its queue and every field of the nodes queued in it (next,
// queued, woken, tokens, and writes to key). Two buckets are only ever held together through
// lock_bucket_pair / lock_all_buckets, which take them in increasing index order of the same table,
// so bucket locks cannot deadlock among themselves. Callbacks run under bucket locks and may not
// call back into the lot.
//
// Table replacement. The table pointer is read without a lock. Growth takes every bucket lock of
// the old table, moves every node into a new table, publishes it (release) and only then unlocks.
// So a thread that locks a bucket and then still sees the same table pointer holds the only valid
// lock for its key; otherwise it unlocks and retries on the new table. Old tables are never freed
// (a reader may still be looking at one); they are chained from the new one.
//
// Requeue. A node's key changes only under both bucket locks. A thread looking for its own node
// (after a timeout or poke) reads the key, locks that key's bucket and re-checks the key; a
// requeue in between makes it retry. A key never changes back to a bucket it already left under
// our feet without the lock, so the loop ends.
//
// Waking. An unparker, holding the bucket lock, unlinks the node, writes the token, then calls
// parker.unpark_lock(), after which it must not touch the node again (its thread may return and
// reuse it at once). The FUTEX_WAKE (handle.unpark()) comes after the bucket lock is released;
// handles wait in a fixed-size WakeList, flushed under the lock only if more than kCapacity
// threads are woken at once, so no path allocates.
//
// Timeouts, pokes and unparks race; the bucket lock decides. A thread whose parker returned
// anything but kUnparked locks its node's bucket: if the node is still queued, nobody unparked it
// and it removes itself; otherwise an unparker dequeued it first and its token is honoured, so a
// handoff is never dropped.
//
// Multi-key parks. Each key gets its own node; the thread has one parker. An unparker dequeues the
// one node it found and marks the parker; other unparkers may dequeue other nodes of the same
// thread meanwhile (each is counted, as Linux counts each futex_q of a futex_waitv). After waking
// for any reason the thread visits every node under its bucket lock, removes those still queued,
// and reports the highest-numbered one that was dequeued by an unparker. All marks on its parker
// happen under bucket locks it then takes, so none is still pending once it returns.
#include "sync/parking_lot.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <utility>

#include "sync/parking_lot_internal.h"

namespace futexbox::sync {

namespace internal {

struct WakeList {
  static constexpr std::size_t kCapacity = 16;
  ThreadParker::UnparkHandle handles[kCapacity];
  std::size_t count = 0;

  void add(ThreadParker::UnparkHandle handle) noexcept {
    if (count == kCapacity) flush();
    handles[count++] = handle;
  }
  void flush() noexcept {
    for (std::size_t i = 0; i < count; ++i) handles[i].unpark();
    count = 0;
  }
};

bool FairTimeout::should_timeout() noexcept {
  const std::int64_t now = Deadline::now_ns(ClockKind::kMonotonic);
  if (now <= timeout_ns) return false;
  seed ^= seed << 13;
  seed ^= seed >> 17;
  seed ^= seed << 5;
  timeout_ns = now + static_cast<std::int64_t>(seed % 1'000'000);  // uniform in [0, 1 ms)
  return true;
}

namespace {

#if defined(__linux__) && !defined(FUTEXBOX_PORTABLE_PARKER)
static_assert(std::is_trivially_destructible_v<ThreadData>,
              "ThreadData lives in TLS that must not need a destructor (no allocation at exit)");
#endif

std::atomic<HashTable*> g_table{nullptr};
std::atomic<std::size_t> g_num_threads{0};
WordLock g_registry_lock;
ThreadData* g_registry_head = nullptr;  // guarded by g_registry_lock
thread_local ThreadData t_data;

[[noreturn]] void fatal(const char* what) noexcept {
  // No allocation, no stdio locks: this may run inside a signal handler.
  (void)!write(2, "futexbox parking lot: ", 22);
  std::size_t n = 0;
  while (what[n] != '\0') ++n;
  (void)!write(2, what, n);
  (void)!write(2, "\n", 1);
  std::abort();
}

std::size_t hash_key(ParkKey key, unsigned bits) noexcept {
  return static_cast<std::size_t>((static_cast<std::uint64_t>(key) * 0x9E3779B97F4A7C15ull) >>
                                  (64 - bits));
}

// Tables are mmap'ed, not new'ed: growth happens on a thread's first park, which may run inside a
// signal handler (the in-process agent), where malloc is off limits.
HashTable* new_table(std::size_t num_threads, HashTable* prev) noexcept {
  const std::size_t size = std::bit_ceil(std::max<std::size_t>(num_threads * kLoadFactor, 1));
  const std::size_t header = (sizeof(HashTable) + alignof(Bucket) - 1) / alignof(Bucket) *
                             alignof(Bucket);
  const std::size_t bytes = header + size * sizeof(Bucket);
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) fatal("cannot map the bucket table");
  auto* table = new (mem) HashTable;
  table->buckets = reinterpret_cast<Bucket*>(static_cast<char*>(mem) + header);
  for (std::size_t i = 0; i < size; ++i) {
    auto* bucket = new (&table->buckets[i]) Bucket;
    bucket->fair.seed = static_cast<std::uint32_t>(i + 1);
  }
  table->size = size;
  table->hash_bits = static_cast<unsigned>(std::countr_zero(size));
  table->prev = prev;
  table->mapped_bytes = bytes;
  return table;
}

HashTable* get_table() noexcept {
  HashTable* table = g_table.load(std::memory_order_acquire);
  if (table != nullptr) return table;
  HashTable* fresh = new_table(kLoadFactor, nullptr);
  if (g_table.compare_exchange_strong(table, fresh, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
    return fresh;
  }
  munmap(fresh, fresh->mapped_bytes);
  return table;
}

Bucket& bucket_in(HashTable* table, ParkKey key) noexcept {
  return table->buckets[hash_key(key, table->hash_bits)];
}

Bucket& lock_bucket(ParkKey key) noexcept {
  for (;;) {
    HashTable* table = get_table();
    Bucket& bucket = bucket_in(table, key);
    bucket.lock.lock();
    if (g_table.load(std::memory_order_relaxed) == table) return bucket;
    bucket.lock.unlock();
  }
}

// Locks the bucket `node` is queued in, following requeues. Returns it and the node's key then.
std::pair<Bucket*, ParkKey> lock_bucket_checked(const WaitNode& node) noexcept {
  for (;;) {
    const ParkKey key = node.key.load(std::memory_order_relaxed);
    HashTable* table = get_table();
    Bucket& bucket = bucket_in(table, key);
    bucket.lock.lock();
    if (g_table.load(std::memory_order_relaxed) == table &&
        node.key.load(std::memory_order_relaxed) == key) {
      return {&bucket, key};
    }
    bucket.lock.unlock();
  }
}

// Locks the buckets of two keys in index order; both results are the same bucket when they share.
std::pair<Bucket*, Bucket*> lock_bucket_pair(ParkKey a, ParkKey b) noexcept {
  for (;;) {
    HashTable* table = get_table();
    const std::size_t ia = hash_key(a, table->hash_bits);
    const std::size_t ib = hash_key(b, table->hash_bits);
    Bucket& first = table->buckets[std::min(ia, ib)];
    first.lock.lock();
    if (g_table.load(std::memory_order_relaxed) != table) {
      first.lock.unlock();
      continue;
    }
    if (ia == ib) return {&first, &first};
    Bucket& second = table->buckets[std::max(ia, ib)];
    second.lock.lock();
    return ia < ib ? std::pair{&first, &second} : std::pair{&second, &first};
  }
}

void unlock_bucket_pair(Bucket* a, Bucket* b) noexcept {
  a->lock.unlock();
  if (b != a) b->lock.unlock();
}

void grow_hashtable(std::size_t num_threads) noexcept {
  HashTable* old;
  for (;;) {
    old = get_table();
    if (old->size >= kLoadFactor * num_threads) return;
    for (std::size_t i = 0; i < old->size; ++i) old->buckets[i].lock.lock();
    if (g_table.load(std::memory_order_relaxed) == old) break;
    for (std::size_t i = 0; i < old->size; ++i) old->buckets[i].lock.unlock();
  }
  HashTable* table = new_table(num_threads, old);
  // Walking old buckets in order keeps every key's queue in FIFO order in its new bucket.
  for (std::size_t i = 0; i < old->size; ++i) {
    WaitNode* node = old->buckets[i].head;
    while (node != nullptr) {
      WaitNode* next = node->next;
      Bucket& to = bucket_in(table, node->key.load(std::memory_order_relaxed));
      node->next = nullptr;
      if (to.tail != nullptr) {
        to.tail->next = node;
      } else {
        to.head = node;
      }
      to.tail = node;
      node = next;
    }
    old->buckets[i].head = old->buckets[i].tail = nullptr;
  }
  g_table.store(table, std::memory_order_release);
  for (std::size_t i = 0; i < old->size; ++i) old->buckets[i].lock.unlock();
}

// --- queue operations; the bucket lock is held ---

void enqueue(Bucket& bucket, WaitNode* node) noexcept {
  node->next = nullptr;
  node->queued = true;
  node->woken = false;
  if (bucket.tail != nullptr) {
    bucket.tail->next = node;
  } else {
    bucket.head = node;
  }
  bucket.tail = node;
}

void unlink(Bucket& bucket, WaitNode* prev, WaitNode* node) noexcept {
  WaitNode* next = node->next;
  if (prev != nullptr) {
    prev->next = next;
  } else {
    bucket.head = next;
  }
  if (bucket.tail == node) bucket.tail = prev;
  node->next = nullptr;
  node->queued = false;
}

// Removes `node` if it is still queued in `bucket`; returns whether it was.
bool remove_if_queued(Bucket& bucket, WaitNode* node) noexcept {
  if (!node->queued) return false;
  WaitNode* prev = nullptr;
  for (WaitNode* cur = bucket.head; cur != nullptr; prev = cur, cur = cur->next) {
    if (cur == node) {
      unlink(bucket, prev, node);
      return true;
    }
  }
  fatal("a queued node is missing from its bucket");
}

bool has_key(const WaitNode* from, ParkKey key) noexcept {
  for (const WaitNode* cur = from; cur != nullptr; cur = cur->next) {
    if (cur->key.load(std::memory_order_relaxed) == key) return true;
  }
  return false;
}

// Marks a dequeued node unparked with `token`; after this the node belongs to its thread again.
void wake_node(WaitNode* node, UnparkToken token, WakeList& wakes) noexcept {
  node->woken = true;
  node->unpark_token = token;
  wakes.add(node->thread->parker.unpark_lock());
}

pthread_key_t g_exit_key;

void unregister_thread(void* data) noexcept {
  auto* d = static_cast<ThreadData*>(data);
  g_registry_lock.lock();
  if (d->registry_prev != nullptr) {
    d->registry_prev->registry_next = d->registry_next;
  } else {
    g_registry_head = d->registry_next;
  }
  if (d->registry_next != nullptr) d->registry_next->registry_prev = d->registry_prev;
  d->registry_prev = d->registry_next = nullptr;
  g_registry_lock.unlock();
  d->registered = false;
  g_num_threads.fetch_sub(1, std::memory_order_relaxed);
}

void register_thread(ThreadData& d) noexcept {
  d.tid = static_cast<pid_t>(gettid());
  d.registered = true;
  g_registry_lock.lock();
  d.registry_prev = nullptr;
  d.registry_next = g_registry_head;
  if (g_registry_head != nullptr) g_registry_head->registry_prev = &d;
  g_registry_head = &d;
  g_registry_lock.unlock();
  // The key's destructor undoes this at thread exit. A thread that parks again from a later TLS
  // destructor simply registers again (glibc re-runs destructors for keys set during teardown).
  pthread_setspecific(g_exit_key, &d);
  grow_hashtable(g_num_threads.fetch_add(1, std::memory_order_relaxed) + 1);
}

// --- fork: hold every lock across fork(), hand the child an empty table ---

HashTable* g_forking_table = nullptr;

void before_fork() noexcept {
  g_registry_lock.lock();
  g_forking_table = lock_all_buckets();
}

void after_fork_in_parent() noexcept {
  unlock_all_buckets(g_forking_table);
  g_registry_lock.unlock();
}

void after_fork_in_child() noexcept {
  // Only the forking thread exists here, and it was not parked. Everything queued belonged to
  // threads that do not exist in this process: forget it, and the locks that were held for fork.
  HashTable* table = g_forking_table;
  // Written only where something is set, so that a raw fork's child (whose buckets are not held
  // for it) copies no page it does not have to.
  for (std::size_t i = 0; i < table->size; ++i) {
    Bucket& b = table->buckets[i];
    if (b.head != nullptr || b.tail != nullptr) b.head = b.tail = nullptr;
    if (b.lock.is_locked_or_queued()) b.lock.reset_after_fork();
  }
  ThreadData& me = t_data;
  g_registry_head = nullptr;
  if (me.registered) {
    me.registry_prev = me.registry_next = nullptr;
    g_registry_head = &me;
  }
  g_num_threads.store(me.registered ? 1 : 0, std::memory_order_relaxed);
  g_registry_lock.reset_after_fork();
}

struct LoadTimeSetup {
  LoadTimeSetup() noexcept {
    if (pthread_key_create(&g_exit_key, &unregister_thread) != 0) fatal("pthread_key_create");
    if (pthread_atfork(&before_fork, &after_fork_in_parent, &after_fork_in_child) != 0) {
      fatal("pthread_atfork");
    }
  }
} g_load_time_setup;

}  // namespace

HashTable* current_table() noexcept { return get_table(); }

void reset_lot_after_fork_without_handlers() noexcept {
  g_forking_table = get_table();
  after_fork_in_child();
}


HashTable* lock_all_buckets() noexcept {
  for (;;) {
    HashTable* table = get_table();
    for (std::size_t i = 0; i < table->size; ++i) table->buckets[i].lock.lock();
    if (g_table.load(std::memory_order_relaxed) == table) return table;
    for (std::size_t i = 0; i < table->size; ++i) table->buckets[i].lock.unlock();
  }
}

void unlock_all_buckets(HashTable* table) noexcept {
  for (std::size_t i = 0; i < table->size; ++i) table->buckets[i].lock.unlock();
}

WordLock& registry_lock() noexcept { return g_registry_lock; }
ThreadData* registry_head() noexcept { return g_registry_head; }

ThreadData& this_thread_data() noexcept {
  ThreadData& d = t_data;
  if (!d.registered) register_thread(d);
  return d;
}

}  // namespace internal

using internal::Bucket;
using internal::ThreadData;
using internal::WaitNode;
using internal::WakeList;

ThreadHandle current_thread() noexcept { return ThreadHandle(&internal::this_thread_data()); }

bool poke(ThreadHandle thread) noexcept {
  return thread.data_ != nullptr && thread.data_->parker.poke();
}

namespace parking_lot {

void reset_after_fork_without_handlers() noexcept {
  internal::reset_lot_after_fork_without_handlers();
}

void forget_exiting_thread() noexcept {
  ThreadData& me = internal::t_data;
  if (me.registered) internal::unregister_thread(&me);
}

ParkResult park(ParkKey key, FunctionRef<bool()> validate, FunctionRef<void()> before_sleep,
                FunctionRef<void(ParkKey, bool)> timed_out, ParkToken park_token,
                const Deadline& deadline, bool interruptible) noexcept {
  ThreadData& me = internal::this_thread_data();
  WaitNode& node = me.node;
  // Prepared before validation so that a poke() issued after the caller's interruption flag was
  // set (and so before validate could see it) finds the thread in the parked state.
  me.parker.prepare_park();
  Bucket& bucket = internal::lock_bucket(key);
  if (!validate()) {
    bucket.lock.unlock();
    return ParkResult{ParkStatus::kInvalid, {}, key, 0};
  }
  node.key.store(key, std::memory_order_relaxed);
  node.thread = &me;
  node.park_token = park_token;
  me.parked_with_timeout = !deadline.is_never();
  me.parked_on_many = false;
  internal::enqueue(bucket, &node);
  bucket.lock.unlock();

  before_sleep();

  const ParkerWake wake = me.parker.park(deadline, interruptible);
  if (wake == ParkerWake::kUnparked) {
    return ParkResult{ParkStatus::kUnparked, node.unpark_token,
                      node.key.load(std::memory_order_relaxed), 0};
  }
  auto [current, current_key] = internal::lock_bucket_checked(node);
  if (!internal::remove_if_queued(*current, &node)) {
    // An unparker dequeued us before we got the lock: that wins over the timeout or poke.
    const UnparkToken token = node.unpark_token;
    current->lock.unlock();
    return ParkResult{ParkStatus::kUnparked, token, current_key, 0};
  }
  timed_out(current_key, !internal::has_key(current->head, current_key));
  current->lock.unlock();
  return ParkResult{
      wake == ParkerWake::kTimedOut ? ParkStatus::kTimedOut : ParkStatus::kInterrupted, {},
      current_key, 0};
}

ParkResult park(ParkKey key, FunctionRef<bool()> validate) noexcept {
  return park(key, validate, [] {}, [](ParkKey, bool) {});
}

namespace {

// Dequeues every node of a multi-key park that is still queued. Returns the highest index an
// unparker dequeued, or requests.size() if none was.
std::size_t dequeue_all(std::span<ParkRequest> requests) noexcept {
  std::size_t woken = requests.size();
  for (std::size_t i = 0; i < requests.size(); ++i) {
    WaitNode& node = requests[i].node;
    auto [bucket, key] = internal::lock_bucket_checked(node);
    if (!internal::remove_if_queued(*bucket, &node) && node.woken) woken = i;
    bucket->lock.unlock();
  }
  return woken;
}

}  // namespace

ParkResult park_multiple(std::span<ParkRequest> requests, FunctionRef<bool(std::size_t)> validate,
                         FunctionRef<void()> before_sleep, const Deadline& deadline,
                         bool interruptible) noexcept {
  if (requests.empty() || requests.size() > kMaxParkKeys) {
    internal::fatal("park_multiple needs 1..128 keys");
  }
  ThreadData& me = internal::this_thread_data();
  me.parker.prepare_park();
  me.parked_with_timeout = !deadline.is_never();
  me.parked_on_many = requests.size() > 1;
  for (ParkRequest& request : requests) {
    request.node.key.store(request.key, std::memory_order_relaxed);
    request.node.thread = &me;
    request.node.park_token = request.token;
    request.node.queued = false;
    request.node.woken = false;
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    Bucket& bucket = internal::lock_bucket(requests[i].key);
    if (!validate(i)) {
      bucket.lock.unlock();
      const std::size_t woken = dequeue_all(requests.first(i));
      if (woken < i) {
        return ParkResult{ParkStatus::kUnparked, requests[woken].node.unpark_token,
                          requests[woken].node.key.load(std::memory_order_relaxed), woken};
      }
      return ParkResult{ParkStatus::kInvalid, {}, requests[i].key, i};
    }
    internal::enqueue(bucket, &requests[i].node);
    bucket.lock.unlock();
  }

  before_sleep();

  const ParkerWake wake = me.parker.park(deadline, interruptible);
  const std::size_t woken = dequeue_all(requests);
  if (woken < requests.size()) {
    return ParkResult{ParkStatus::kUnparked, requests[woken].node.unpark_token,
                      requests[woken].node.key.load(std::memory_order_relaxed), woken};
  }
  if (wake == ParkerWake::kUnparked) internal::fatal("unparked without a dequeued node");
  return ParkResult{
      wake == ParkerWake::kTimedOut ? ParkStatus::kTimedOut : ParkStatus::kInterrupted, {}, 0, 0};
}

UnparkResult unpark_one(ParkKey key, FunctionRef<UnparkToken(UnparkResult)> callback) noexcept {
  Bucket& bucket = internal::lock_bucket(key);
  WakeList wakes;
  UnparkResult result;
  WaitNode* prev = nullptr;
  WaitNode* found = nullptr;
  for (WaitNode* cur = bucket.head; cur != nullptr; prev = cur, cur = cur->next) {
    if (cur->key.load(std::memory_order_relaxed) == key) {
      found = cur;
      break;
    }
  }
  if (found == nullptr) {
    (void)callback(result);
    bucket.lock.unlock();
    return result;
  }
  WaitNode* rest = found->next;
  internal::unlink(bucket, prev, found);
  result.unparked_threads = 1;
  result.have_more_threads = internal::has_key(rest, key);
  result.be_fair = bucket.fair.should_timeout();
  internal::wake_node(found, callback(result), wakes);
  bucket.lock.unlock();
  wakes.flush();
  return result;
}

UnparkResult unpark_one(ParkKey key) noexcept {
  return unpark_one(key, [](UnparkResult) { return kDefaultUnparkToken; });
}

std::size_t unpark_all(ParkKey key, UnparkToken token) noexcept {
  Bucket& bucket = internal::lock_bucket(key);
  WakeList wakes;
  std::size_t count = 0;
  WaitNode* prev = nullptr;
  for (WaitNode* cur = bucket.head; cur != nullptr;) {
    WaitNode* next = cur->next;
    if (cur->key.load(std::memory_order_relaxed) == key) {
      internal::unlink(bucket, prev, cur);
      internal::wake_node(cur, token, wakes);
      ++count;
    } else {
      prev = cur;
    }
    cur = next;
  }
  bucket.lock.unlock();
  wakes.flush();
  return count;
}

UnparkResult unpark_filter(ParkKey key, FunctionRef<FilterOp(ParkToken)> filter,
                           FunctionRef<UnparkToken(UnparkResult)> callback) noexcept {
  Bucket& bucket = internal::lock_bucket(key);
  UnparkResult result;
  // Selected nodes are unlinked at once and chained through `next` until the callback has chosen
  // their token.
  WaitNode* selected_head = nullptr;
  WaitNode* selected_tail = nullptr;
  WaitNode* prev = nullptr;
  for (WaitNode* cur = bucket.head; cur != nullptr;) {
    WaitNode* next = cur->next;
    if (cur->key.load(std::memory_order_relaxed) != key) {
      prev = cur;
      cur = next;
      continue;
    }
    const FilterOp op = filter(cur->park_token);
    if (op == FilterOp::kUnpark) {
      internal::unlink(bucket, prev, cur);
      if (selected_tail != nullptr) {
        selected_tail->next = cur;
      } else {
        selected_head = cur;
      }
      selected_tail = cur;
      ++result.unparked_threads;
    } else {
      result.have_more_threads = true;
      if (op == FilterOp::kStop) break;
      prev = cur;
    }
    cur = next;
  }
  if (result.unparked_threads != 0) result.be_fair = bucket.fair.should_timeout();
  const UnparkToken token = callback(result);
  WakeList wakes;
  for (WaitNode* cur = selected_head; cur != nullptr;) {
    WaitNode* next = cur->next;
    cur->next = nullptr;
    internal::wake_node(cur, token, wakes);
    cur = next;
  }
  bucket.lock.unlock();
  wakes.flush();
  return result;
}

UnparkResult unpark_requeue(ParkKey key_from, ParkKey key_to, FunctionRef<RequeueOp()> validate,
                            FunctionRef<UnparkToken(RequeueOp, UnparkResult)> callback) noexcept {
  auto [from, to] = internal::lock_bucket_pair(key_from, key_to);
  UnparkResult result;
  const RequeueOp op = validate();
  if (op == RequeueOp::kAbort) {
    internal::unlock_bucket_pair(from, to);
    return result;
  }
  WaitNode* wakeup = nullptr;
  WaitNode* moved_head = nullptr;
  WaitNode* moved_tail = nullptr;
  WaitNode* prev = nullptr;
  for (WaitNode* cur = from->head; cur != nullptr;) {
    WaitNode* next = cur->next;
    if (cur->key.load(std::memory_order_relaxed) != key_from) {
      prev = cur;
      cur = next;
      continue;
    }
    internal::unlink(*from, prev, cur);
    const bool unpark_this = wakeup == nullptr && (op == RequeueOp::kUnparkOneRequeueRest ||
                                                   op == RequeueOp::kUnparkOne);
    if (unpark_this) {
      wakeup = cur;
      result.unparked_threads = 1;
    } else {
      cur->key.store(key_to, std::memory_order_relaxed);
      if (moved_tail != nullptr) {
        moved_tail->next = cur;
      } else {
        moved_head = cur;
      }
      moved_tail = cur;
      ++result.requeued_threads;
    }
    if (op == RequeueOp::kUnparkOne || op == RequeueOp::kRequeueOne) {
      result.have_more_threads = internal::has_key(next, key_from);
      break;
    }
    cur = next;
  }
  for (WaitNode* cur = moved_head; cur != nullptr;) {
    WaitNode* next = cur->next;
    internal::enqueue(*to, cur);
    cur = next;
  }
  if (wakeup != nullptr) result.be_fair = from->fair.should_timeout();
  const UnparkToken token = callback(op, result);
  WakeList wakes;
  if (wakeup != nullptr) internal::wake_node(wakeup, token, wakes);
  internal::unlock_bucket_pair(from, to);
  wakes.flush();
  return result;
}

void with_locked_pair(ParkKey a, ParkKey b, FunctionRef<void(LockedBucketPair&)> body) noexcept {
  auto [bucket_a, bucket_b] = internal::lock_bucket_pair(a, b);
  WakeList wakes;
  LockedBucketPair pair(a, bucket_a, b, bucket_b, wakes);
  body(pair);
  internal::unlock_bucket_pair(bucket_a, bucket_b);
  wakes.flush();
}

std::size_t parked_count(ParkKey key) noexcept {
  Bucket& bucket = internal::lock_bucket(key);
  std::size_t count = 0;
  for (WaitNode* cur = bucket.head; cur != nullptr; cur = cur->next) {
    if (cur->key.load(std::memory_order_relaxed) == key) ++count;
  }
  bucket.lock.unlock();
  return count;
}

std::size_t bucket_count() noexcept { return internal::get_table()->size; }

}  // namespace parking_lot

Bucket* LockedBucketPair::bucket_for(ParkKey key) const noexcept {
  if (key == key_a_) return bucket_a_;
  if (key == key_b_) return bucket_b_;
  internal::fatal("LockedBucketPair used with a key it does not hold");
}

std::size_t LockedBucketPair::unpark_filter(ParkKey key, FunctionRef<FilterOp(ParkToken)> filter,
                                            UnparkToken token) noexcept {
  Bucket& bucket = *bucket_for(key);
  std::size_t count = 0;
  WaitNode* prev = nullptr;
  for (WaitNode* cur = bucket.head; cur != nullptr;) {
    WaitNode* next = cur->next;
    if (cur->key.load(std::memory_order_relaxed) == key) {
      const FilterOp op = filter(cur->park_token);
      if (op == FilterOp::kStop) break;
      if (op == FilterOp::kUnpark) {
        internal::unlink(bucket, prev, cur);
        internal::wake_node(cur, token, wakes_);
        ++count;
        cur = next;
        continue;
      }
    }
    prev = cur;
    cur = next;
  }
  return count;
}

std::size_t LockedBucketPair::requeue_filter(ParkKey from, ParkKey to,
                                             FunctionRef<FilterOp(ParkToken)> filter) noexcept {
  Bucket& source = *bucket_for(from);
  Bucket& target = *bucket_for(to);
  std::size_t count = 0;
  WaitNode* moved_head = nullptr;
  WaitNode* moved_tail = nullptr;
  WaitNode* prev = nullptr;
  for (WaitNode* cur = source.head; cur != nullptr;) {
    WaitNode* next = cur->next;
    if (cur->key.load(std::memory_order_relaxed) == from) {
      const FilterOp op = filter(cur->park_token);
      if (op == FilterOp::kStop) break;
      if (op == FilterOp::kUnpark) {
        ++count;
        if (from != to) {
          internal::unlink(source, prev, cur);
          cur->key.store(to, std::memory_order_relaxed);
          if (moved_tail != nullptr) {
            moved_tail->next = cur;
          } else {
            moved_head = cur;
          }
          moved_tail = cur;
          cur = next;
          continue;
        }
      }
    }
    prev = cur;
    cur = next;
  }
  for (WaitNode* cur = moved_head; cur != nullptr;) {
    WaitNode* next = cur->next;
    internal::enqueue(target, cur);
    cur = next;
  }
  return count;
}

bool LockedBucketPair::has_parked(ParkKey key) const noexcept {
  return internal::has_key(bucket_for(key)->head, key);
}

void LockedBucketPair::for_each_parked(ParkKey key,
                                       FunctionRef<void(ParkToken)> visit) const noexcept {
  for (const WaitNode* cur = bucket_for(key)->head; cur != nullptr; cur = cur->next) {
    if (cur->key.load(std::memory_order_relaxed) == key) visit(cur->park_token);
  }
}

}  // namespace futexbox::sync
