// Mutex and MutexLock: std::mutex and its RAII holder with Clang's thread-safety annotations
// (sync/thread_annotations.h), so that the fields a mutex owns can say FUTEXBOX_GUARDED_BY(it)
// and the compiler checks every access. libstdc++'s std::mutex carries no annotations.
#pragma once

#include <mutex>

#include "sync/thread_annotations.h"

namespace futexbox::sync {

class FUTEXBOX_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() FUTEXBOX_ACQUIRE() { mutex_.lock(); }
  void unlock() FUTEXBOX_RELEASE() { mutex_.unlock(); }
  bool try_lock() FUTEXBOX_TRY_ACQUIRE(true) { return mutex_.try_lock(); }

 private:
  std::mutex mutex_;
};

// Holds `mutex` for its scope; unlock() and lock() let a holder step out and back in (a pipe's
// reader releases it to sleep, then takes it again).
class FUTEXBOX_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) FUTEXBOX_ACQUIRE(mutex) : mutex_(mutex) { mutex_.lock(); }
  ~MutexLock() FUTEXBOX_RELEASE() {
    if (held_) mutex_.unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void unlock() FUTEXBOX_RELEASE() {
    mutex_.unlock();
    held_ = false;
  }
  void lock() FUTEXBOX_ACQUIRE() {
    mutex_.lock();
    held_ = true;
  }

 private:
  Mutex& mutex_;
  bool held_ = true;
};

}  // namespace futexbox::sync
