#include "tools/agent/exec_guard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <cstring>

#include "abi/errno.h"
#include "abi/syscall_numbers.h"
#include "sync/host_syscall.h"
#include "tools/protocol/image_probe.h"

namespace futexbox::tools::agent {
namespace {

using sync::host_syscall;

constexpr std::size_t kMaxEnv = 1 << 16;
constexpr std::size_t kMaxValue = 4096;
constexpr std::size_t kMaxName = 64;  // longer than any variable the guard looks for, plus '='

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

// Whether the environment entry `entry` ("NAME=value") assigns variable `name`.
bool assigns(const char* entry, const char* name) noexcept {
  const std::size_t n = std::strlen(name);
  return std::strncmp(entry, name, n) == 0 && entry[n] == '=';
}

// -1 for LD_PRELOAD, the index in agent_env::kCarried of a carried variable, or -2 for others.
int variable_of(const char* entry) noexcept {
  if (assigns(entry, agent_env::kPreload)) return -1;
  for (int i = 0; i < agent_env::kCarriedCount; ++i) {
    if (assigns(entry, agent_env::kCarried[i])) return i;
  }
  return -2;
}

// "NAME=value" at `cursor`, NUL-terminated; returns where it starts.
char* put_variable(char*& cursor, const char* name, const char* value) noexcept {
  char* start = cursor;
  std::memcpy(cursor, name, std::strlen(name));
  cursor += std::strlen(name);
  *cursor++ = '=';
  std::memcpy(cursor, value, std::strlen(value));
  cursor += std::strlen(value);
  *cursor++ = '\0';
  return start;
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

}  // namespace

long guarded_exec(const ExecGuardConfig& config, kernel::GuestMemory& memory, long nr, int dirfd,
                  kernel::GuestAddr path, kernel::GuestAddr argv, kernel::GuestAddr envp,
                  int flags, long (*issue)(long nr, const long (&args)[6]), bool* refused) noexcept {
  *refused = false;
  const long original[6] = {nr == abi::kSysExecve ? static_cast<long>(path) : dirfd,
                            nr == abi::kSysExecve ? static_cast<long>(argv) : static_cast<long>(path),
                            nr == abi::kSysExecve ? static_cast<long>(envp) : static_cast<long>(argv),
                            nr == abi::kSysExecve ? 0 : static_cast<long>(envp),
                            nr == abi::kSysExecve ? 0 : flags, 0};
  char file[1024];
  if (!read_string(memory, path, file, sizeof file)) return issue(nr, original);  // EFAULT
  const ImageProbe probe =
      probe_image(nr == abi::kSysExecve ? AT_FDCWD : dirfd, file, (flags & AT_EMPTY_PATH) != 0);
  if (probe.verdict == ImageVerdict::kStatic || probe.verdict == ImageVerdict::kSecureExec) {
    say("futexbox: refusing to execute ");
    say(probe.subject);
    say(": it ");
    say(image_verdict_reason(probe.verdict));
    say("\n");
    *refused = true;
    return abi::negated(abi::Errno::kEPERM);
  }
  if (probe.verdict != ImageVerdict::kLoadsAgent) return issue(nr, original);

  // Does the new environment still preload the agent and carry every protocol variable?
  std::size_t count = 0;
  bool has_agent = false;
  bool has[agent_env::kCarriedCount];
  for (int i = 0; i < agent_env::kCarriedCount; ++i) has[i] = config.carried[i][0] == '\0';
  char preload_value[kMaxValue] = {};
  if (envp != 0) {
    for (; count < kMaxEnv; ++count) {
      kernel::GuestAddr entry;
      if (!memory.copy_in(envp + count * sizeof entry, &entry, sizeof entry)) {
        return issue(nr, original);  // let the kernel report the fault
      }
      if (entry == 0) break;
      char head[kMaxName];
      if (!read_string(memory, entry, head, sizeof head)) return issue(nr, original);
      const int variable = variable_of(head);
      if (variable == -1) {
        if (!read_string(memory, entry + std::strlen(agent_env::kPreload) + 1, preload_value,
                         sizeof preload_value)) {
          return issue(nr, original);
        }
        has_agent = preload_lists(preload_value, config.agent_path);
      } else if (variable >= 0) {
        has[variable] = true;
      }
    }
  }
  bool complete = has_agent;
  for (const bool h : has) complete = complete && h;
  if (complete) return issue(nr, original);

  // Rebuild: the guest's entries minus LD_PRELOAD and the carried variables, then ours.
  std::size_t strings = std::strlen(agent_env::kPreload) + std::strlen(config.agent_path) +
                        std::strlen(preload_value) + 3;
  for (int i = 0; i < agent_env::kCarriedCount; ++i) {
    strings += std::strlen(agent_env::kCarried[i]) + std::strlen(config.carried[i]) + 2;
  }
  const std::size_t bytes =
      (count + 2 + agent_env::kCarriedCount) * sizeof(kernel::GuestAddr) + strings;
  void* block = reinterpret_cast<void*>(host_syscall(SYS_mmap, nullptr, bytes,
                                                     PROT_READ | PROT_WRITE,
                                                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (reinterpret_cast<long>(block) < 0 && reinterpret_cast<long>(block) > -4096) {
    return abi::negated(abi::Errno::kENOMEM);
  }
  auto* vec = static_cast<kernel::GuestAddr*>(block);
  char* cursor = reinterpret_cast<char*>(vec + count + 2 + agent_env::kCarriedCount);
  std::size_t out = 0;
  for (std::size_t i = 0; i < count; ++i) {
    kernel::GuestAddr entry;
    char head[kMaxName];
    if (!memory.copy_in(envp + i * sizeof entry, &entry, sizeof entry) ||
        !read_string(memory, entry, head, sizeof head)) {
      host_syscall(SYS_munmap, block, bytes);
      return issue(nr, original);
    }
    if (variable_of(head) != -2) continue;
    vec[out++] = entry;
  }
  char* preload = put_variable(cursor, agent_env::kPreload, config.agent_path);
  if (preload_value[0] != '\0') {  // the guest's own preloads after the agent
    cursor[-1] = ':';
    std::memcpy(cursor, preload_value, std::strlen(preload_value) + 1);
    cursor += std::strlen(preload_value) + 1;
  }
  vec[out++] = reinterpret_cast<kernel::GuestAddr>(preload);
  for (int i = 0; i < agent_env::kCarriedCount; ++i) {
    if (config.carried[i][0] == '\0') continue;
    vec[out++] = reinterpret_cast<kernel::GuestAddr>(
        put_variable(cursor, agent_env::kCarried[i], config.carried[i]));
  }
  vec[out] = 0;
  long args[6];
  for (int i = 0; i < 6; ++i) args[i] = original[i];
  args[nr == abi::kSysExecve ? 2 : 3] = reinterpret_cast<long>(vec);
  const long r = issue(nr, args);
  host_syscall(SYS_munmap, block, bytes);
  return r;
}

}  // namespace futexbox::tools::agent
