#include "tools/agent/legacy_waiters.h"

#include <dirent.h>
#include <sys/syscall.h>

#include <atomic>
#include <climits>
#include <cstdlib>

#include "abi/errno.h"
#include "abi/futex.h"
#include "abi/syscall_numbers.h"
#include "sync/host_syscall.h"

namespace futexbox::tools::agent {
namespace {

using sync::host_syscall;

constexpr int kMaxLegacy = 256;
std::atomic<bool> g_legacy_active{false};
std::atomic<pid_t> g_legacy_tids[kMaxLegacy];
std::atomic<int> g_legacy_left{0};
std::atomic<std::uint32_t> g_legacy_wakes{0};

void legacy_forget(int i) noexcept {
  if (g_legacy_tids[i].exchange(0, std::memory_order_acq_rel) != 0 &&
      g_legacy_left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    g_legacy_active.store(false, std::memory_order_release);
  }
}

}  // namespace

void legacy_seen(pid_t tid) noexcept {
  if (!g_legacy_active.load(std::memory_order_acquire)) return;
  for (int i = 0; i < kMaxLegacy; ++i) {
    if (g_legacy_tids[i].load(std::memory_order_relaxed) == tid) legacy_forget(i);
  }
}

long legacy_wake(kernel::GuestAddr uaddr) noexcept {
  if (!g_legacy_active.load(std::memory_order_acquire)) return 0;
  if ((g_legacy_wakes.fetch_add(1, std::memory_order_relaxed) & 255) == 0) {
    // Now and then, forget legacy threads that have exited without ever trapping.
    const long pid = host_syscall(abi::kSysGetpid);
    for (int i = 0; i < kMaxLegacy; ++i) {
      const pid_t tid = g_legacy_tids[i].load(std::memory_order_relaxed);
      if (tid != 0 && host_syscall(abi::kSysTgkill, pid, tid, 0) == abi::negated(abi::Errno::kESRCH)) {
        legacy_forget(i);
      }
    }
  }
  const long r = host_syscall(abi::kSysFutex, uaddr, abi::futex::kWake | abi::futex::kPrivateFlag,
                              INT_MAX, 0, 0, 0);
  return r > 0 ? r : 0;
}

void legacy_init() noexcept {
  const long self = host_syscall(abi::kSysGettid);
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return;
  int n = 0;
  int overflow = 0;
  while (const dirent* e = readdir(dir)) {
    const long tid = std::strtol(e->d_name, nullptr, 10);
    if (tid <= 0 || tid == self) continue;
    if (n < kMaxLegacy) {
      g_legacy_tids[n++].store(static_cast<pid_t>(tid), std::memory_order_relaxed);
    } else {
      ++overflow;  // never all seen: the host wakes stay on for good
    }
  }
  closedir(dir);
  g_legacy_left.store(n + overflow, std::memory_order_relaxed);
  g_legacy_active.store(n + overflow > 0, std::memory_order_release);
}

void legacy_reset_after_fork() noexcept {
  for (auto& tid : g_legacy_tids) tid.store(0, std::memory_order_relaxed);
  g_legacy_left.store(0, std::memory_order_relaxed);
  g_legacy_active.store(false, std::memory_order_relaxed);
}

}  // namespace futexbox::tools::agent
