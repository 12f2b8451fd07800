// FdTable: a process's file descriptors: numbers -> shared open file descriptions, plus the
// per-descriptor close-on-exec flag. Linux's rules: the lowest free number is used, at most
// `kMaxDescriptors` (RLIMIT_NOFILE's usual soft limit) are open, dup'd descriptors share one
// description (its O_NONBLOCK, its pipe end), and a description is released when its last
// descriptor is closed and no syscall still uses it (the shared_ptr held by get()).
//
// One mutex guards the table. A description is never released with it held (closing can wake
// other threads and run a pipe end's release), so files are destroyed after unlocking.
#pragma once

#include <memory>
#include <vector>

#include "kernel/error_or.h"
#include "kernel/file.h"
#include "sync/mutex.h"

namespace futexbox::kernel {

class FdTable {
 public:
  static constexpr int kMaxDescriptors = 1024;

  FdTable() = default;
  FdTable(const FdTable&) = delete;
  FdTable& operator=(const FdTable&) = delete;
  ~FdTable() { close_all(); }

  // The lowest free descriptor >= `min_fd` (EMFILE if none, EINVAL if min_fd is out of range).
  ErrorOr<int> install(std::shared_ptr<File> file, bool cloexec, int min_fd = 0);
  // Two descriptors at once, or neither (pipe2).
  ErrorOr<std::pair<int, int>> install_pair(std::shared_ptr<File> a, std::shared_ptr<File> b,
                                            bool cloexec);
  // The description `fd` refers to, or null (EBADF).
  std::shared_ptr<File> get(int fd);
  ErrorOr<void> close(int fd);
  // dup2 / dup3: `newfd` refers to `oldfd`'s description, closing what it referred to.
  ErrorOr<int> duplicate_to(int oldfd, int newfd, bool cloexec);
  ErrorOr<bool> cloexec(int fd);
  ErrorOr<void> set_cloexec(int fd, bool value);
  // Process exit: every descriptor closed.
  void close_all();
  [[nodiscard]] std::size_t open_count();

 private:
  struct Entry {
    std::shared_ptr<File> file;
    bool cloexec = false;
  };
  // -1 if none.
  [[nodiscard]] int lowest_free(int min_fd) const noexcept FUTEXBOX_REQUIRES(mutex_);

  sync::Mutex mutex_;
  std::vector<Entry> entries_ FUTEXBOX_GUARDED_BY(mutex_);
};

}  // namespace futexbox::kernel
