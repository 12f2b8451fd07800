#include "tools/trace/proc_threads.h"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace futexbox::tools {

namespace {

std::string task_file(pid_t pid, pid_t tid, const char* name) {
  return "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/" + name;
}

}  // namespace

std::vector<pid_t> threads_of(pid_t pid) {
  std::vector<pid_t> tids;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return tids;
  while (const dirent* entry = readdir(d)) {
    if (entry->d_name[0] >= '0' && entry->d_name[0] <= '9') tids.push_back(std::atoi(entry->d_name));
  }
  closedir(d);
  return tids;
}

std::optional<char> thread_state(pid_t pid, pid_t tid) {
  std::ifstream in(task_file(pid, tid, "stat"));
  std::string stat;
  if (!std::getline(in, stat)) return std::nullopt;
  // "TID (COMM) S ...": COMM may hold spaces and parentheses, so the state follows the last ')'.
  const std::size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return std::nullopt;
  return stat[close + 2];
}

std::optional<std::uint64_t> thread_stack_pointer(pid_t pid, pid_t tid) {
  // "NR ARG1 .. ARG6 SP PC" in a syscall, "-1 SP PC" between syscalls, "running" on a CPU.
  std::ifstream in(task_file(pid, tid, "syscall"));
  std::vector<std::string> fields;
  for (std::string field; in >> field;) fields.push_back(field);
  if (fields.size() < 3) return std::nullopt;
  const std::uint64_t sp = std::strtoull(fields[fields.size() - 2].c_str(), nullptr, 16);
  if (sp == 0) return std::nullopt;
  return sp;
}

}  // namespace futexbox::tools
