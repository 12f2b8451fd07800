// AddressNamer: a name for a guest address, for futexbox trace's contention profile. From a
// snapshot of the guest's /proc/PID/maps taken while it runs (it is gone when the report is
// made) and the ELF symbols of the mapped files:
//   "queue_lock in /path/prog"        a symbol (plus "+0x8" inside it), .bss included
//   "/path/libc.so.6+0x1d2a40"        a mapped file without a symbol there
//   "[heap]", "[stack:TID]", "[anon]" anonymous memory: the heap, a thread's stack (the main
//                                     thread's is [stack] in maps; another thread's is the
//                                     anonymous mapping its stack pointer was seen in, which with
//                                     glibc also holds its pthread descriptor, so a join's word
//                                     is named by the thread joined), anything else
//   "0x7f..."                         nothing known
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace futexbox::tools {

class ElfSymbols;

class AddressNamer {
 public:
  AddressNamer();
  ~AddressNamer();
  AddressNamer(const AddressNamer&) = delete;
  AddressNamer& operator=(const AddressNamer&) = delete;

  // Reads /proc/PID/maps; keeps the last snapshot that could be read. False if it could not.
  bool snapshot(pid_t pid);
  // Parses maps text (for tests and for snapshot()).
  void set_maps(pid_t pid, const std::string& maps_text);
  // Thread `tid` had its stack pointer at `sp` (snapshot() reads it from /proc/PID/task/TID/syscall
  // for every thread blocked in a syscall): the anonymous mapping around `sp` is its stack.
  void set_thread_stack(pid_t pid, pid_t tid, std::uint64_t sp);
  [[nodiscard]] bool has_maps(pid_t pid) const { return maps_.count(pid) != 0; }
  [[nodiscard]] std::string name(pid_t pid, std::uint64_t addr) const;
  // The process's executable: the file of its first mapping (empty if unknown).
  [[nodiscard]] std::string executable(pid_t pid) const;

 private:
  struct Mapping {
    std::uint64_t start = 0;
    std::uint64_t end = 0;
    std::uint64_t offset = 0;
    std::string path;  // empty for anonymous memory
  };
  const ElfSymbols* symbols(const std::string& path) const;

  std::map<pid_t, std::vector<Mapping>> maps_;
  std::map<pid_t, std::map<std::uint64_t, pid_t>> stacks_;  // pid -> (mapping start -> tid)
  mutable std::map<std::string, std::unique_ptr<ElfSymbols>> elf_;
};

}  // namespace futexbox::tools
