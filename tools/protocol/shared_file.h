// SharedFile: a temporary file mapped MAP_SHARED, which futexbox creates and the agents of every
// guest process map by path: the run counters (run_stats.h) and the trace rings (trace_file.h).
// create() throws; attach() uses only async-signal-safe calls, so the agent may call it anywhere.
#pragma once

#include <cstddef>
#include <string>

namespace futexbox::tools {

class SharedFile {
 public:
  // A fresh, zero-filled (sparse) file of `size` bytes under $TMPDIR (or /tmp), named
  // futexbox-<tag>-XXXXXX. Throws std::system_error on failure.
  static SharedFile create(const char* tag, std::size_t size);
  // Maps the file at `path` if it is at least `min_size` bytes; invalid() otherwise.
  static SharedFile attach(const char* path, std::size_t min_size) noexcept;

  SharedFile() = default;
  SharedFile(SharedFile&& other) noexcept;
  SharedFile& operator=(SharedFile&& other) noexcept;
  SharedFile(const SharedFile&) = delete;
  SharedFile& operator=(const SharedFile&) = delete;
  // Unmaps (unless kept) and removes the file if this object created it.
  ~SharedFile();

  [[nodiscard]] bool valid() const noexcept { return data_ != nullptr; }
  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  // Never unmaps and never removes (the agent: its threads may use the memory to the very end).
  void keep_mapped() noexcept {
    keep_ = true;
    owner_ = false;
  }
  // Removes every file this process created and still holds, for a process about to die without
  // running destructors (futexbox re-raising its guest's fatal signal).
  static void remove_created() noexcept;
  // Forgets the mapping without unmapping it; returns it.
  void* release() noexcept;

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
  std::string path_;
  bool owner_ = false;
  bool keep_ = false;
};

}  // namespace futexbox::tools
