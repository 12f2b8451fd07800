// RunStats: the counters `futexbox run` shows with --stats, kept in one shared-memory page that
// the futexbox process creates and every guest process's agent maps (fork children inherit the
// mapping; exec'd images map it again from the path in FUTEXBOX_AGENT_STATS). Counters are
// lock-free 64-bit atomics incremented with relaxed fetch_add: each is an independent tally, read
// only after every guest process is gone, so no ordering between them is needed. A guest killed
// mid-call loses nothing already counted.
//
// Ops are counted per slot of the call description (syscalls/futex_call.h: each futex(2) command
// x {shared, private} x {monotonic, realtime}, one slot for an unknown command, one per futex2
// syscall); syscalls::futex_slot_name() names them in strace's spelling.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "syscalls/futex_call.h"
#include "tools/protocol/shared_file.h"

namespace futexbox::tools {

// One set of counters per slot of syscalls/futex_call.h (an op of the family x its flags).
inline constexpr std::size_t kOpSlots = syscalls::kFutexCallSlots;

struct alignas(64) OpCounters {
  std::atomic<std::uint64_t> served{0};     // answered by futexbox's kernel
  std::atomic<std::uint64_t> forwarded{0};  // passed to the host kernel unchanged
  std::atomic<std::uint64_t> waits{0};      // wait-type calls that queued (woken, timed out or EINTR)
  std::atomic<std::uint64_t> woken{0};      // threads woken (sum of wake-type results)
  std::atomic<std::uint64_t> timeouts{0};   // ETIMEDOUT results
  std::atomic<std::uint64_t> eintr{0};      // EINTR results
};

struct RunStatsPage {
  static constexpr std::uint64_t kMagic = 0x66787374'61747331ull;  // "fxstats1"
  std::uint64_t magic = kMagic;
  std::uint64_t size = sizeof(RunStatsPage);
  std::atomic<std::uint64_t> processes{0};   // agents that started, plus fork children that trapped
  std::atomic<std::uint64_t> threads{0};     // threads that had at least one call served
  std::atomic<std::uint64_t> exec_refused{0};
  OpCounters ops[kOpSlots];

  static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};
static_assert(std::atomic<std::uint64_t>::is_always_lock_free,
              "counters are shared between processes and must not hide a lock");

// The file behind the page. The run command creates it (and deletes it when done); agents open
// it by path. Both map it MAP_SHARED.
class RunStatsFile {
 public:
  // Creates a fresh, zeroed page under $TMPDIR (or /tmp). Throws std::system_error on failure.
  static RunStatsFile create();
  // Maps an existing page; null page() if `path` does not hold one. Uses only async-signal-safe
  // calls, so the agent may call it anywhere.
  static RunStatsFile attach(const char* path) noexcept;

  RunStatsFile() = default;

  [[nodiscard]] RunStatsPage* page() const noexcept { return page_; }
  [[nodiscard]] const std::string& path() const noexcept { return file_.path(); }
  // Keeps the mapping but forgets the page (the agent never unmaps: threads may still count).
  RunStatsPage* release() noexcept;

 private:
  SharedFile file_;  // unmapped, and removed if created here, when this goes away
  RunStatsPage* page_ = nullptr;
};

}  // namespace futexbox::tools
