#include "sync/word_lock.h"

#include "sync/spin_wait.h"
#include "sync/thread_parker.h"

namespace futexbox::sync {
namespace {

// A thread's node in a WordLock queue. Separate from the parking lot's per-thread data (and with its
// own parker) because a thread tidying up after a multi-key park takes bucket locks while wakers may
// still be marking its lot parker.
struct QueueNode {
  ThreadParker parker;
  QueueNode* queue_tail = nullptr;  // valid on the head node once the queue has been scanned
  QueueNode* prev = nullptr;
  QueueNode* next = nullptr;
};

// The two low bits of the lock word hold flags, so nodes must be at least 4-byte aligned.
static_assert(alignof(QueueNode) >= 4);

QueueNode& this_thread_node() noexcept {
  thread_local QueueNode node;
  return node;
}

QueueNode* queue_head(std::uintptr_t state) noexcept {
  return reinterpret_cast<QueueNode*>(state & ~std::uintptr_t{3});
}

}  // namespace

void WordLock::lock_slow() noexcept {
  SpinWait spin;
  std::uintptr_t state = state_.load(std::memory_order_relaxed);
  for (;;) {
    // Take the lock whenever it is free, even with threads queued: barging keeps throughput up,
    // and the bucket critical sections are short.
    if ((state & kLocked) == 0) {
      if (state_.compare_exchange_weak(state, state | kLocked, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return;
      }
      continue;
    }
    if (queue_head(state) == nullptr && spin.spin()) {
      state = state_.load(std::memory_order_relaxed);
      continue;
    }
    QueueNode& me = this_thread_node();
    me.parker.prepare_park();
    QueueNode* head = queue_head(state);
    me.prev = nullptr;
    if (head == nullptr) {
      me.queue_tail = &me;
    } else {
      me.queue_tail = nullptr;
      me.next = head;
    }
    const std::uintptr_t with_me = (state & std::uintptr_t{3}) | reinterpret_cast<std::uintptr_t>(&me);
    if (!state_.compare_exchange_weak(state, with_me, std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
      continue;
    }
    (void)me.parker.park(Deadline::never(), /*interruptible=*/false);
    spin.reset();
    state = state_.load(std::memory_order_relaxed);
  }
}

void WordLock::unlock_slow() noexcept {
  std::uintptr_t state = state_.load(std::memory_order_relaxed);
  for (;;) {
    // Someone else is already waking a thread, or there is nobody to wake.
    if ((state & kQueueLocked) != 0 || queue_head(state) == nullptr) return;
    if (state_.compare_exchange_weak(state, state | kQueueLocked, std::memory_order_acquire,
                                     std::memory_order_relaxed)) {
      break;
    }
  }
  state |= kQueueLocked;

  for (;;) {
    // Link `prev` pointers of nodes pushed since the last scan, up to a node that knows the tail.
    QueueNode* head = queue_head(state);
    QueueNode* current = head;
    QueueNode* tail;
    for (;;) {
      tail = current->queue_tail;
      if (tail != nullptr) break;
      QueueNode* next = current->next;
      next->prev = current;
      current = next;
    }
    head->queue_tail = tail;

    // Locked again already: its unlocker will wake somebody, no point doing it now.
    if ((state & kLocked) != 0) {
      if (state_.compare_exchange_weak(state, state & ~kQueueLocked, std::memory_order_release,
                                       std::memory_order_acquire)) {
        return;
      }
      continue;
    }

    QueueNode* new_tail = tail->prev;
    if (new_tail == nullptr) {
      // The tail is the only node: empty the queue (keeping LOCKED if someone took it).
      bool rescan = false;
      for (;;) {
        if (state_.compare_exchange_weak(state, state & kLocked, std::memory_order_release,
                                         std::memory_order_acquire)) {
          break;
        }
        // A new node was pushed: rescan so it gets its prev link.
        if (queue_head(state) != nullptr) {
          rescan = true;
          break;
        }
      }
      if (rescan) continue;
    } else {
      head->queue_tail = new_tail;
      state_.fetch_and(~kQueueLocked, std::memory_order_release);
    }
    // The node we removed is asleep (or about to be) and nobody else can wake it.
    tail->parker.unpark_lock().unpark();
    return;
  }
}

}  // namespace futexbox::sync
