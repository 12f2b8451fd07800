// Vocabulary of the parking lot: keys, tokens, results and the ops callbacks return.
// Shapes follow parking_lot_core (core/src/parking_lot.rs), with two additions futexes need:
// ParkStatus::kInterrupted and the key/index fields of ParkResult.
#pragma once

#include <cstddef>
#include <cstdint>

namespace futexbox::sync {

// What threads park on: normally an address; any value the caller owns works.
using ParkKey = std::uintptr_t;

// Passed by a parking thread, seen by filters (unpark_filter): e.g. a pointer to what it waits for.
struct ParkToken {
  std::uintptr_t value = 0;
};
// Handed by the unparker to the woken thread: e.g. "the lock is yours" (a handoff).
struct UnparkToken {
  std::uintptr_t value = 0;
};
inline constexpr ParkToken kDefaultParkToken{};
inline constexpr UnparkToken kDefaultUnparkToken{};

enum class ParkStatus : std::uint8_t {
  kUnparked,     // an unpark_* call woke us; `token` is what it handed over
  kInvalid,      // validate() returned false; we never slept
  kTimedOut,     // the deadline passed and nobody unparked us first
  kInterrupted,  // an interruptible park was poked (or a host signal handler ran) first
};

struct ParkResult {
  ParkStatus status = ParkStatus::kInvalid;
  UnparkToken token;
  // The key the thread was queued on when the park ended: differs from the key it parked on if it
  // was requeued. Its waiter accounting must be settled on this key.
  ParkKey key = 0;
  // park_multiple: the entry that was unparked (Linux futex_waitv's rule: the highest-numbered one
  // when several were), or the entry whose validation failed. 0 for single-key parks.
  std::size_t index = 0;

  [[nodiscard]] bool unparked() const noexcept { return status == ParkStatus::kUnparked; }
};

struct UnparkResult {
  std::size_t unparked_threads = 0;
  std::size_t requeued_threads = 0;
  // Whether threads remain parked on the key; only computed when a thread was unparked.
  bool have_more_threads = false;
  // The bucket's fairness timer fired (about once every 0.5 ms): hand the resource over this time.
  bool be_fair = false;
};

enum class RequeueOp : std::uint8_t {
  kAbort,                 // do nothing
  kUnparkOneRequeueRest,  // unpark the first thread, move the rest to key_to
  kRequeueAll,            // move every thread to key_to
  kUnparkOne,             // unpark the first thread, leave the rest
  kRequeueOne,            // move the first thread to key_to
};

enum class FilterOp : std::uint8_t {
  kUnpark,  // select this thread (unpark it, or move it in a requeue filter)
  kSkip,    // leave it and look at the next one
  kStop,    // leave it and every thread after it
};

}  // namespace futexbox::sync
