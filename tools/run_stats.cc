#include "tools/run_stats.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <new>
#include <system_error>
#include <utility>

#include "syscalls/futex_op_name.h"

namespace futexbox::tools {

std::string op_slot_name(std::size_t slot) {
  switch (slot) {
    case kFutexInvalidSlot: return "FUTEX_???";
    case kWaitvSlot: return "futex_waitv";
    case kFutexWakeSlot: return "futex_wake";
    case kFutexWaitSlot: return "futex_wait";
    case kFutexRequeueSlot: return "futex_requeue";
    default: break;
  }
  const int cmd = static_cast<int>(slot / 4);
  const int op = cmd | ((slot & 2) != 0 ? 128 : 0) | ((slot & 1) != 0 ? 256 : 0);
  return syscalls::futex_op_name(op);
}

RunStatsFile RunStatsFile::create() {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") +
                     "/futexbox-stats-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "mkstemp " + path);
  if (ftruncate(fd, sizeof(RunStatsPage)) != 0) {
    const int e = errno;
    close(fd);
    unlink(path.c_str());
    throw std::system_error(e, std::generic_category(), "ftruncate " + path);
  }
  void* p = mmap(nullptr, sizeof(RunStatsPage), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int e = errno;
  close(fd);
  if (p == MAP_FAILED) {
    unlink(path.c_str());
    throw std::system_error(e, std::generic_category(), "mmap " + path);
  }
  RunStatsFile f;
  f.page_ = new (p) RunStatsPage();
  f.path_ = std::move(path);
  f.owner_ = true;
  return f;
}

RunStatsFile RunStatsFile::attach(const char* path) noexcept {
  RunStatsFile f;
  if (path == nullptr || *path == '\0') return f;
  const int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return f;
  struct stat st {};
  void* p = MAP_FAILED;
  if (fstat(fd, &st) == 0 && st.st_size == static_cast<off_t>(sizeof(RunStatsPage))) {
    p = mmap(nullptr, sizeof(RunStatsPage), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  }
  close(fd);
  if (p == MAP_FAILED) return f;
  auto* page = static_cast<RunStatsPage*>(p);
  if (page->magic != RunStatsPage::kMagic || page->size != sizeof(RunStatsPage)) {
    munmap(p, sizeof(RunStatsPage));
    return f;
  }
  f.page_ = page;
  return f;
}

RunStatsFile::RunStatsFile(RunStatsFile&& other) noexcept
    : page_(std::exchange(other.page_, nullptr)),
      path_(std::move(other.path_)),
      owner_(std::exchange(other.owner_, false)) {}

RunStatsFile& RunStatsFile::operator=(RunStatsFile&& other) noexcept {
  if (this != &other) {
    this->~RunStatsFile();
    new (this) RunStatsFile(std::move(other));
  }
  return *this;
}

RunStatsFile::~RunStatsFile() {
  if (page_ != nullptr) munmap(page_, sizeof(RunStatsPage));
  if (owner_) unlink(path_.c_str());
}

RunStatsPage* RunStatsFile::release() noexcept { return std::exchange(page_, nullptr); }

}  // namespace futexbox::tools
