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
  // Samples the threads' stack pointers too (sample_stacks).
  bool snapshot(pid_t pid);
  // For each thread of `pid` without one yet, the stack pointer /proc/PID/task/TID/syscall shows
  // if it is blocked in a syscall now. Cheap enough to call often: threads sampled once are
  // skipped.
  void sample_stacks(pid_t pid);
  // Parses maps text (for tests and for snapshot()).
  void set_maps(pid_t pid, const std::string& maps_text);
  // Thread `tid` had its stack pointer at `sp`: the anonymous mapping around `sp` (in the maps
  // as last read) is its stack.
  void set_thread_stack(pid_t pid, pid_t tid, std::uint64_t sp);
  // A weaker clue, used only for a mapping no stack pointer was seen in: a thread waited on the
  // word at `addr` for it to stop holding `tid`, the tid of another thread of the process. That is
  // pthread_join waiting on the joined thread's descriptor, which glibc keeps in its stack
  // mapping, so `addr` is in `tid`'s stack. (futexbox trace passes every such wait.)
  void add_stack_hint(pid_t pid, pid_t tid, std::uint64_t addr);
  [[nodiscard]] bool has_maps(pid_t pid) const { return maps_.count(pid) != 0; }
  [[nodiscard]] std::string name(pid_t pid, std::uint64_t addr) const;
  // Whether `addr` is in an anonymous mapping without a name ([anon] unless a stack is known).
  [[nodiscard]] bool anonymous(pid_t pid, std::uint64_t addr) const;
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
  // pid -> (tid -> (sp, when sampled)); glibc reuses a finished thread's stack for a new thread,
  // so a mapping belongs to the thread sampled in it last.
  std::map<pid_t, std::map<pid_t, std::pair<std::uint64_t, std::uint64_t>>> stack_pointers_;
  std::uint64_t samples_ = 0;
  std::map<pid_t, std::map<pid_t, std::pair<std::uint64_t, std::uint64_t>>> stack_hints_;
  mutable std::map<std::string, std::unique_ptr<ElfSymbols>> elf_;
};

}  // namespace futexbox::tools
