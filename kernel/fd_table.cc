#include "kernel/fd_table.h"

namespace futexbox::kernel {

int FdTable::lowest_free(int min_fd) const noexcept {
  for (int fd = min_fd; fd < kMaxDescriptors; ++fd) {
    if (static_cast<std::size_t>(fd) >= entries_.size() ||
        entries_[static_cast<std::size_t>(fd)].file == nullptr) {
      return fd;
    }
  }
  return -1;
}

ErrorOr<int> FdTable::install(std::shared_ptr<File> file, bool cloexec, int min_fd) {
  if (min_fd < 0 || min_fd >= kMaxDescriptors) return Errno::kEINVAL;
  sync::MutexLock lock(mutex_);
  const int fd = lowest_free(min_fd);
  if (fd < 0) return Errno::kEMFILE;
  if (static_cast<std::size_t>(fd) >= entries_.size()) entries_.resize(static_cast<std::size_t>(fd) + 1);
  entries_[static_cast<std::size_t>(fd)] = Entry{std::move(file), cloexec};
  return fd;
}

ErrorOr<std::pair<int, int>> FdTable::install_pair(std::shared_ptr<File> a,
                                                   std::shared_ptr<File> b, bool cloexec) {
  sync::MutexLock lock(mutex_);
  const int first = lowest_free(0);
  if (first < 0) return Errno::kEMFILE;
  const int second = lowest_free(first + 1);
  if (second < 0) return Errno::kEMFILE;
  if (static_cast<std::size_t>(second) >= entries_.size()) {
    entries_.resize(static_cast<std::size_t>(second) + 1);
  }
  entries_[static_cast<std::size_t>(first)] = Entry{std::move(a), cloexec};
  entries_[static_cast<std::size_t>(second)] = Entry{std::move(b), cloexec};
  return std::pair{first, second};
}

std::shared_ptr<File> FdTable::get(int fd) {
  sync::MutexLock lock(mutex_);
  if (fd < 0 || static_cast<std::size_t>(fd) >= entries_.size()) return nullptr;
  return entries_[static_cast<std::size_t>(fd)].file;
}

ErrorOr<void> FdTable::close(int fd) {
  std::shared_ptr<File> released;
  {
    sync::MutexLock lock(mutex_);
    if (fd < 0 || static_cast<std::size_t>(fd) >= entries_.size() ||
        entries_[static_cast<std::size_t>(fd)].file == nullptr) {
      return Errno::kEBADF;
    }
    released = std::move(entries_[static_cast<std::size_t>(fd)].file);
    entries_[static_cast<std::size_t>(fd)] = Entry{};
  }
  return {};  // `released` goes after the lock
}

ErrorOr<int> FdTable::duplicate_to(int oldfd, int newfd, bool cloexec) {
  std::shared_ptr<File> released;
  {
    sync::MutexLock lock(mutex_);
    if (oldfd < 0 || static_cast<std::size_t>(oldfd) >= entries_.size() ||
        entries_[static_cast<std::size_t>(oldfd)].file == nullptr) {
      return Errno::kEBADF;
    }
    if (newfd < 0 || newfd >= kMaxDescriptors) return Errno::kEBADF;
    if (static_cast<std::size_t>(newfd) >= entries_.size()) {
      entries_.resize(static_cast<std::size_t>(newfd) + 1);
    }
    Entry& target = entries_[static_cast<std::size_t>(newfd)];
    released = std::move(target.file);
    target = Entry{entries_[static_cast<std::size_t>(oldfd)].file, cloexec};
  }
  return newfd;
}

ErrorOr<bool> FdTable::cloexec(int fd) {
  sync::MutexLock lock(mutex_);
  if (fd < 0 || static_cast<std::size_t>(fd) >= entries_.size() ||
      entries_[static_cast<std::size_t>(fd)].file == nullptr) {
    return Errno::kEBADF;
  }
  return entries_[static_cast<std::size_t>(fd)].cloexec;
}

ErrorOr<void> FdTable::set_cloexec(int fd, bool value) {
  sync::MutexLock lock(mutex_);
  if (fd < 0 || static_cast<std::size_t>(fd) >= entries_.size() ||
      entries_[static_cast<std::size_t>(fd)].file == nullptr) {
    return Errno::kEBADF;
  }
  entries_[static_cast<std::size_t>(fd)].cloexec = value;
  return {};
}

void FdTable::close_all() {
  std::vector<Entry> released;
  {
    sync::MutexLock lock(mutex_);
    released.swap(entries_);
  }
}

std::size_t FdTable::open_count() {
  sync::MutexLock lock(mutex_);
  std::size_t n = 0;
  for (const Entry& e : entries_) n += e.file != nullptr;
  return n;
}

}  // namespace futexbox::kernel
