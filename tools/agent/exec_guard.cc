#include "tools/agent/exec_guard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>

#include "sync/host_futex.h"
#include "tools/image_probe.h"

namespace futexbox::tools::agent {
namespace {

using sync::host_syscall;

constexpr char kPreloadVar[] = "LD_PRELOAD=";
constexpr char kStatsVar[] = "FUTEXBOX_AGENT_STATS=";
constexpr std::size_t kMaxEnv = 1 << 16;
constexpr std::size_t kMaxValue = 4096;

// Copies the guest string at `addr` (at most size-1 bytes) into buf; false on a fault.
bool read_string(kernel::GuestMemory& memory, kernel::GuestAddr addr, char* buf,
                 std::size_t size) noexcept {
  for (std::size_t i = 0; i + 1 < size; ++i) {
    if (!memory.copy_in(addr + i, &buf[i], 1)) return false;
    if (buf[i] == '\0') return true;
  }
  buf[size - 1] = '\0';
  return true;
}

bool starts_with(const char* s, const char* prefix) noexcept {
  return std::strncmp(s, prefix, std::strlen(prefix)) == 0;
}

// Whether a colon/space separated LD_PRELOAD list names `path`.
bool preload_lists(const char* list, const char* path) noexcept {
  const std::size_t n = std::strlen(path);
  for (const char* p = list; *p != '\0';) {
    while (*p == ':' || *p == ' ') ++p;
    const char* e = p;
    while (*e != '\0' && *e != ':' && *e != ' ') ++e;
    if (static_cast<std::size_t>(e - p) == n && std::strncmp(p, path, n) == 0) return true;
    p = e;
  }
  return false;
}

void say(const char* text) noexcept { host_syscall(SYS_write, 2, text, std::strlen(text)); }

void append(char*& out, const char* text) noexcept {
  const std::size_t n = std::strlen(text);
  std::memcpy(out, text, n);
  out += n;
}

}  // namespace

long guarded_exec(const ExecGuardConfig& config, kernel::GuestMemory& memory, long nr, int dirfd,
                  kernel::GuestAddr path, kernel::GuestAddr argv, kernel::GuestAddr envp,
                  int flags, long (*issue)(long nr, const long (&args)[6]), bool* refused) noexcept {
  *refused = false;
  const long original[6] = {nr == SYS_execve ? static_cast<long>(path) : dirfd,
                            nr == SYS_execve ? static_cast<long>(argv) : static_cast<long>(path),
                            nr == SYS_execve ? static_cast<long>(envp) : static_cast<long>(argv),
                            nr == SYS_execve ? 0 : static_cast<long>(envp),
                            nr == SYS_execve ? 0 : flags, 0};
  char file[1024];
  if (!read_string(memory, path, file, sizeof file)) return issue(nr, original);  // EFAULT
  const ImageProbe probe =
      probe_image(nr == SYS_execve ? AT_FDCWD : dirfd, file, (flags & AT_EMPTY_PATH) != 0);
  if (probe.verdict == ImageVerdict::kStatic || probe.verdict == ImageVerdict::kSecureExec) {
    say("futexbox: refusing to execute ");
    say(probe.subject);
    say(": it ");
    say(image_verdict_reason(probe.verdict));
    say("\n");
    *refused = true;
    return -EPERM;
  }
  if (probe.verdict != ImageVerdict::kLoadsAgent) return issue(nr, original);

  // Does the new environment still preload the agent and name the stats page?
  std::size_t count = 0;
  bool has_agent = false;
  bool has_stats = config.stats_path[0] == '\0';
  char preload_value[kMaxValue] = {};
  if (envp != 0) {
    for (; count < kMaxEnv; ++count) {
      kernel::GuestAddr entry;
      if (!memory.copy_in(envp + count * sizeof entry, &entry, sizeof entry)) {
        return issue(nr, original);  // let the kernel report the fault
      }
      if (entry == 0) break;
      char head[sizeof kStatsVar];
      if (!read_string(memory, entry, head, sizeof head)) return issue(nr, original);
      if (starts_with(head, kPreloadVar)) {
        if (!read_string(memory, entry + std::strlen(kPreloadVar), preload_value,
                         sizeof preload_value)) {
          return issue(nr, original);
        }
        has_agent = preload_lists(preload_value, config.agent_path);
      } else if (starts_with(head, kStatsVar)) {
        has_stats = true;
      }
    }
  }
  if (has_agent && has_stats) return issue(nr, original);

  // Rebuild: the guest's entries minus LD_PRELOAD and the stats variable, then ours.
  const std::size_t strings = sizeof kPreloadVar + std::strlen(config.agent_path) + 1 +
                              std::strlen(preload_value) + sizeof kStatsVar +
                              std::strlen(config.stats_path) + 2;
  const std::size_t bytes = (count + 3) * sizeof(kernel::GuestAddr) + strings;
  void* block = reinterpret_cast<void*>(host_syscall(SYS_mmap, nullptr, bytes,
                                                     PROT_READ | PROT_WRITE,
                                                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (reinterpret_cast<long>(block) < 0 && reinterpret_cast<long>(block) > -4096) return -ENOMEM;
  auto* vec = static_cast<kernel::GuestAddr*>(block);
  char* text = reinterpret_cast<char*>(vec + count + 3);
  std::size_t out = 0;
  for (std::size_t i = 0; i < count; ++i) {
    kernel::GuestAddr entry;
    char head[sizeof kStatsVar];
    if (!memory.copy_in(envp + i * sizeof entry, &entry, sizeof entry) ||
        !read_string(memory, entry, head, sizeof head)) {
      host_syscall(SYS_munmap, block, bytes);
      return issue(nr, original);
    }
    if (starts_with(head, kPreloadVar) || starts_with(head, kStatsVar)) continue;
    vec[out++] = entry;
  }
  char* cursor = text;
  vec[out++] = reinterpret_cast<kernel::GuestAddr>(cursor);
  append(cursor, kPreloadVar);
  append(cursor, config.agent_path);
  if (preload_value[0] != '\0') {
    append(cursor, ":");
    append(cursor, preload_value);
  }
  *cursor++ = '\0';
  if (config.stats_path[0] != '\0') {
    vec[out++] = reinterpret_cast<kernel::GuestAddr>(cursor);
    append(cursor, kStatsVar);
    append(cursor, config.stats_path);
    *cursor++ = '\0';
  }
  vec[out] = 0;
  long args[6];
  for (int i = 0; i < 6; ++i) args[i] = original[i];
  args[nr == SYS_execve ? 2 : 3] = reinterpret_cast<long>(vec);
  const long r = issue(nr, args);
  host_syscall(SYS_munmap, block, bytes);
  return r;
}

}  // namespace futexbox::tools::agent
