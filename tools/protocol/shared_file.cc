#include "tools/protocol/shared_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <new>
#include <set>
#include <system_error>
#include <utility>

namespace futexbox::tools {

namespace {

// The files this process created and has not removed yet, for remove_created(). Only futexbox
// itself creates files; the agent (which must stay async-signal-safe) never touches this.
struct Created {
  std::mutex mu;
  std::set<std::string> paths;
};
Created& created() {
  static Created c;
  return c;
}

}  // namespace

void SharedFile::remove_created() noexcept {
  Created& c = created();
  const std::lock_guard lock(c.mu);
  for (const std::string& path : c.paths) unlink(path.c_str());
  c.paths.clear();
}

SharedFile SharedFile::create(const char* tag, std::size_t size) {
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/futexbox-" +
                     tag + "-XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "mkstemp " + path);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    const int e = errno;
    close(fd);
    unlink(path.c_str());
    throw std::system_error(e, std::generic_category(), "ftruncate " + path);
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  const int e = errno;
  close(fd);
  if (p == MAP_FAILED) {
    unlink(path.c_str());
    throw std::system_error(e, std::generic_category(), "mmap " + path);
  }
  SharedFile f;
  f.data_ = p;
  f.size_ = size;
  f.path_ = std::move(path);
  f.owner_ = true;
  {
    Created& c = created();
    const std::lock_guard lock(c.mu);
    c.paths.insert(f.path_);
  }
  return f;
}

SharedFile SharedFile::attach(const char* path, std::size_t min_size) noexcept {
  SharedFile f;
  if (path == nullptr || *path == '\0') return f;
  const int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0) return f;
  struct stat st {};
  void* p = MAP_FAILED;
  if (fstat(fd, &st) == 0 && st.st_size >= static_cast<off_t>(min_size)) {
    p = mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED,
             fd, 0);
  }
  close(fd);
  if (p == MAP_FAILED) return f;
  f.data_ = p;
  f.size_ = static_cast<std::size_t>(st.st_size);
  return f;
}

SharedFile::SharedFile(SharedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      path_(std::move(other.path_)),
      owner_(std::exchange(other.owner_, false)),
      keep_(std::exchange(other.keep_, false)) {}

SharedFile& SharedFile::operator=(SharedFile&& other) noexcept {
  if (this != &other) {
    this->~SharedFile();
    new (this) SharedFile(std::move(other));
  }
  return *this;
}

SharedFile::~SharedFile() {
  if (data_ != nullptr && !keep_) munmap(data_, size_);
  if (owner_) {
    unlink(path_.c_str());
    Created& c = created();
    const std::lock_guard lock(c.mu);
    c.paths.erase(path_);
  }
}

void* SharedFile::release() noexcept {
  size_ = 0;
  return std::exchange(data_, nullptr);
}

}  // namespace futexbox::tools
