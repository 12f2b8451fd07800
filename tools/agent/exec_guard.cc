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

// The lists the new image's environment must hold one of ours in: LD_PRELOAD the agent, LD_AUDIT
// the audit module (when there is one), and GLIBC_TUNABLES the static TLS an image that links
// ThreadSanitizer needs beside an audit module (image_probe.h).
constexpr int kLists = 3;
const char* const kListNames[kLists] = {agent_env::kPreload, agent_env::kAudit,
                                        agent_env::kTunables};

// -1 - i for list variable i, the index in agent_env::kCarried of a carried variable, or
// kOther for the rest.
constexpr int kOther = -100;
int variable_of(const char* entry) noexcept {
  for (int i = 0; i < kLists; ++i) {
    if (assigns(entry, kListNames[i])) return -1 - i;
  }
  for (int i = 0; i < agent_env::kCarriedCount; ++i) {
    if (assigns(entry, agent_env::kCarried[i])) return i;
  }
  return kOther;
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

// Whether a colon/space separated list (LD_PRELOAD's, LD_AUDIT's) names `path`.
bool lists(const char* list, const char* path) noexcept {
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

  // Does the new environment still preload the agent (and audit with the module), and carry
  // every protocol variable?
  const bool tunable = probe.needs_large_static_tls && config.audit_path[0] != '\0';
  const char* ours[kLists] = {config.agent_path, config.audit_path,
                              tunable ? kLargeStaticTlsTunable : ""};
  std::size_t count = 0;
  bool has_list[kLists];
  bool has[agent_env::kCarriedCount];
  for (int i = 0; i < kLists; ++i) has_list[i] = ours[i][0] == '\0';
  for (int i = 0; i < agent_env::kCarriedCount; ++i) has[i] = config.carried[i][0] == '\0';
  char list_value[kLists][kMaxValue] = {};
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
      if (variable < 0 && variable != kOther) {
        const int list = -1 - variable;
        if (!read_string(memory, entry + std::strlen(kListNames[list]) + 1, list_value[list],
                         sizeof list_value[list])) {
          return issue(nr, original);
        }
        has_list[list] = ours[list][0] == '\0' || lists(list_value[list], ours[list]);
      } else if (variable >= 0) {
        has[variable] = true;
      }
    }
  }
  bool complete = true;
  for (const bool h : has_list) complete = complete && h;
  for (const bool h : has) complete = complete && h;
  if (complete) return issue(nr, original);

  // Rebuild: the guest's entries minus the lists and the carried variables, then ours.
  std::size_t strings = 0;
  for (int i = 0; i < kLists; ++i) {
    strings += std::strlen(kListNames[i]) + std::strlen(ours[i]) + std::strlen(list_value[i]) + 3;
  }
  for (int i = 0; i < agent_env::kCarriedCount; ++i) {
    strings += std::strlen(agent_env::kCarried[i]) + std::strlen(config.carried[i]) + 2;
  }
  const std::size_t bytes =
      (count + 1 + kLists + agent_env::kCarriedCount) * sizeof(kernel::GuestAddr) + strings;
  void* block = reinterpret_cast<void*>(host_syscall(SYS_mmap, nullptr, bytes,
                                                     PROT_READ | PROT_WRITE,
                                                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (reinterpret_cast<long>(block) < 0 && reinterpret_cast<long>(block) > -4096) {
    return abi::negated(abi::Errno::kENOMEM);
  }
  auto* vec = static_cast<kernel::GuestAddr*>(block);
  char* cursor = reinterpret_cast<char*>(vec + count + 1 + kLists + agent_env::kCarriedCount);
  std::size_t out = 0;
  for (std::size_t i = 0; i < count; ++i) {
    kernel::GuestAddr entry;
    char head[kMaxName];
    if (!memory.copy_in(envp + i * sizeof entry, &entry, sizeof entry) ||
        !read_string(memory, entry, head, sizeof head)) {
      host_syscall(SYS_munmap, block, bytes);
      return issue(nr, original);
    }
    if (variable_of(head) != kOther) continue;
    vec[out++] = entry;
  }
  for (int i = 0; i < kLists; ++i) {
    if (ours[i][0] == '\0') {
      if (list_value[i][0] != '\0') {  // not ours to extend: the guest's as it was
        vec[out++] = reinterpret_cast<kernel::GuestAddr>(
            put_variable(cursor, kListNames[i], list_value[i]));
      }
      continue;
    }
    char* variable = put_variable(cursor, kListNames[i], ours[i]);
    if (list_value[i][0] != '\0' && !lists(list_value[i], ours[i])) {
      cursor[-1] = ':';  // the guest's own libraries after ours
      std::memcpy(cursor, list_value[i], std::strlen(list_value[i]) + 1);
      cursor += std::strlen(list_value[i]) + 1;
    } else if (list_value[i][0] != '\0') {
      // Ours is in it, just not first: the guest's list as it was, which loads ours too.
      cursor = variable;
      variable = put_variable(cursor, kListNames[i], list_value[i]);
    }
    vec[out++] = reinterpret_cast<kernel::GuestAddr>(variable);
  }
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
