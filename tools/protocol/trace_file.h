// TraceFile: the memory futexbox trace shares with every guest process's agent. A header, then
// one slot per guest thread (its owner's ids and a sync::SpscRing header), then each slot's
// records. A guest thread claims a free slot the first time it records, appends TraceEvents to
// its ring with no lock and no allocation, and the futexbox process drains all rings while the
// guest runs and once more after it has exited. The file is MAP_SHARED and sparse (pages appear
// as threads write), and because every record lives in it the moment it is pushed, a guest that
// crashes or is killed loses nothing it recorded. A full ring or a thread with no slot left is
// counted (TraceFile::dropped), never silent.
//
// The same create()/attach() split as RunStatsFile (tools/run_stats.h): futexbox creates, agents
// attach by path with async-signal-safe calls only.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "sync/function_ref.h"
#include "sync/spsc_ring.h"
#include "tools/protocol/shared_file.h"

namespace futexbox::tools {

enum class TraceKind : std::uint16_t {
  kEntry = 1,  // v[0..5] the arguments; v[6], v[7] the timeout's sec and nsec (kTimeoutRead)
  kExit,       // v[0] the result (a value, -errno or a restart code)
  kWait,       // v[0] the futex address: a served wait queued and is about to sleep
  kWoken,      // v[0] the address, v[1] the waker's tid (0: unknown)
  kWake,       // v[0] the address, v[1] how many it woke
  kRequeue,    // v[0] from, v[1] to, v[2] woken, v[3] requeued
  // Right after a kEntry (or kExitGroup) on the same thread: 64 more bytes, v[0..7]. For
  // futex_waitv, its waiters array as read at entry (up to kTraceWaitvShown, kTraceArrayRead);
  // for exit_group, the tids of the process's threads then.
  kEntryData,
  kThreadExit,  // exit(2): v[0] the status
  kExitGroup,   // exit_group(2): v[0] the status, v[1] how many tids follow in kEntryData records
};

// Flags of a record.
inline constexpr std::uint16_t kTraceServed = 1;       // served by futexbox (else forwarded)
inline constexpr std::uint16_t kTraceTimeoutRead = 2;  // kEntry: v[6], v[7] hold the timespec
inline constexpr std::uint16_t kTraceArrayRead = 8;  // kEntry: kEntryData records follow
inline constexpr std::uint16_t kTraceNotRun = 4;        // kExit: a signal came first; the call is issued again

// How many futex_waitv waiters an entry carries: strace shows 32 and then "...".
inline constexpr std::size_t kTraceWaitvShown = 32;

// TraceFileHeader::record bits.
inline constexpr std::uint32_t kTraceWaits = 1;
// No events at all: each thread only keeps the call it is in in its slot's CallState (futexbox
// run's deadlock watch, which needs no history and must cost the guest next to nothing).
inline constexpr std::uint32_t kTraceCallState = 2;

struct TraceEvent {
  std::uint64_t ts_ns = 0;  // CLOCK_MONOTONIC
  std::int32_t pid = 0;
  std::int32_t tid = 0;
  TraceKind kind = TraceKind::kEntry;
  std::uint16_t flags = 0;
  std::uint32_t nr = 0;  // the syscall number
  std::uint64_t v[8] = {};
};
static_assert(sizeof(TraceEvent) == 88);

// The futex call a thread is in, as a seqlock with the parity turned round: the owner writes the
// entry (release stores) while `seq` is even (between calls), then makes it odd (release); at the
// call's end it makes it even again. A reader takes `seq` (acquire), the entry (acquire loads) and
// `seq` again: the entry is the call in progress only if both reads agree and are odd. An even
// value, or a changed one, means the thread moved; it is counted, so the watch also sees calls
// that began and ended between two looks.
struct CallState {
  static constexpr std::size_t kWords = sizeof(TraceEvent) / sizeof(std::uint64_t);
  std::atomic<std::uint32_t> seq{0};
  std::atomic<std::uint64_t> entry[kWords] = {};
  std::atomic<std::uint64_t> last_wake{0};  // the word of the thread's latest wake call
};

struct alignas(64) TraceSlot {
  std::atomic<std::int32_t> tid{0};  // 0: free
  std::atomic<std::int32_t> pid{0};
  sync::SpscRingHeader ring;
  CallState call;  // kTraceCallState only
};

// One look at a slot's CallState (TraceFile::look).
struct CallLook {
  pid_t pid = 0;
  pid_t tid = 0;
  std::uint32_t seq = 0;
  bool in_call = false;  // `entry` is the call in progress
  TraceEvent entry;
  std::uint64_t last_wake = 0;
};

struct TraceFileHeader {
  static constexpr std::uint64_t kMagic = 0x66787472'61636531ull;  // "fxtrace1"
  std::uint64_t magic = kMagic;
  std::uint64_t size = 0;  // of the whole file
  std::uint32_t slots = 0;
  std::uint32_t capacity = 0;  // records per slot
  // What the agent records besides calls' entries and exits (kTraceWaits: the kernel's wait,
  // wake-up, wake and requeue events, which the strace view does not need).
  std::uint32_t record = 0;
  std::uint32_t reserved = 0;
  std::atomic<std::uint64_t> unslotted{0};  // events of threads that found no free slot
};

class TraceFile {
 public:
  static constexpr std::uint32_t kDefaultSlots = 512;
  static constexpr std::uint32_t kDefaultCapacity = 32768;

  // A fresh file under $TMPDIR (or /tmp). Throws std::system_error on failure.
  static TraceFile create(std::uint32_t record = 0, std::uint32_t slots = kDefaultSlots,
                          std::uint32_t capacity = kDefaultCapacity);
  // Maps an existing file; invalid() if `path` does not hold one. Async-signal-safe.
  static TraceFile attach(const char* path) noexcept;

  TraceFile() = default;

  [[nodiscard]] bool valid() const noexcept { return header_ != nullptr; }
  [[nodiscard]] std::uint32_t record() const noexcept { return header_->record; }
  [[nodiscard]] const std::string& path() const noexcept { return file_.path(); }
  // Never unmaps (the agent: its threads may record until the very end).
  void keep_mapped() noexcept { file_.keep_mapped(); }

  // Producer side, on the guest thread `tid` of process `pid`: the slot it owns, claimed on first
  // use (a slot whose owner no longer exists and whose ring is drained is reused), or -1.
  int claim(pid_t pid, pid_t tid, sync::FunctionRef<bool(pid_t, pid_t)> alive) noexcept;
  bool push(int slot, const TraceEvent& event) noexcept;
  void count_unslotted() noexcept {
    header_->unslotted.fetch_add(1, std::memory_order_relaxed);
  }

  // kTraceCallState, producer side (the slot's owner only).
  void enter_call(int slot, const TraceEvent& entry) noexcept;
  void leave_call(int slot) noexcept;
  void note_wake(int slot, std::uint64_t uaddr) noexcept;
  // Consumer side: slot `i`'s owner and call; false if the slot is free or the owner was caught
  // between writes (look again later).
  bool look(std::uint32_t i, CallLook& out) const noexcept;
  [[nodiscard]] std::uint32_t slots() const noexcept { return header_->slots; }

  // Consumer side: every record published since the last drain, slot by slot.
  std::uint64_t drain(sync::FunctionRef<void(const TraceEvent&)> sink) noexcept;
  // Events lost: full rings plus threads without a slot.
  [[nodiscard]] std::uint64_t dropped() const noexcept;

 private:
  [[nodiscard]] TraceSlot& slot(std::uint32_t i) const noexcept;
  [[nodiscard]] sync::SpscRing<TraceEvent> ring(std::uint32_t i) const noexcept;
  static std::uint64_t file_size(std::uint32_t slots, std::uint32_t capacity) noexcept;

  SharedFile file_;  // unmapped, and removed if created here, when this goes away
  TraceFileHeader* header_ = nullptr;
};

}  // namespace futexbox::tools
