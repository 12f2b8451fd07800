#include "sync/sharded_wait.h"

#include <pthread.h>

#include <cstdlib>

#include "sync/word_lock.h"

namespace futexbox::sync::internal {
namespace {

// Every live ShardedWait, so a forked child can zero their counts: the parent's waiters were
// counted there but do not exist in the child (their queue entries are dropped by the lot's own
// fork handler), and a count that never comes down would send every wake down the slow path.
WordLock g_registry_lock;
ShardedWaitBase* g_registry_head = nullptr;  // guarded by g_registry_lock

void before_fork() noexcept { g_registry_lock.lock(); }
void after_fork_in_parent() noexcept { g_registry_lock.unlock(); }

}  // namespace

void reset_sharded_waits_after_fork() noexcept {
  for (ShardedWaitBase* w = g_registry_head; w != nullptr; w = w->registry_next_) {
    // Written only where non-zero: each store to a slot the parent left at 0 would copy a page
    // (copy-on-write), 8 pages per table for every fork child.
    for (std::size_t i = 0; i < ShardedWaitBase::kSlots; ++i) {
      if (w->slots_[i].waiters.load(std::memory_order_relaxed) != 0) {
        w->slots_[i].waiters.store(0, std::memory_order_relaxed);
      }
    }
  }
  g_registry_lock.reset_after_fork();
}

namespace {
void after_fork_in_child() noexcept { reset_sharded_waits_after_fork(); }

struct LoadTimeSetup {
  LoadTimeSetup() noexcept {
    if (pthread_atfork(&before_fork, &after_fork_in_parent, &after_fork_in_child) != 0) {
      std::abort();
    }
  }
} g_load_time_setup;
}  // namespace

ShardedWaitBase::ShardedWaitBase() : slots_(new WaitSlot[kSlots]) {
  g_registry_lock.lock();
  registry_next_ = g_registry_head;
  if (g_registry_head != nullptr) g_registry_head->registry_prev_ = this;
  g_registry_head = this;
  g_registry_lock.unlock();
}

ShardedWaitBase::~ShardedWaitBase() {
  g_registry_lock.lock();
  if (registry_prev_ != nullptr) {
    registry_prev_->registry_next_ = registry_next_;
  } else {
    g_registry_head = registry_next_;
  }
  if (registry_next_ != nullptr) registry_next_->registry_prev_ = registry_prev_;
  g_registry_lock.unlock();
  delete[] slots_;
}

}  // namespace futexbox::sync::internal
