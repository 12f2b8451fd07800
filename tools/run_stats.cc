#include "tools/run_stats.h"

#include <new>
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
  RunStatsFile f;
  f.file_ = SharedFile::create("stats", sizeof(RunStatsPage));
  f.page_ = new (f.file_.data()) RunStatsPage();
  return f;
}

RunStatsFile RunStatsFile::attach(const char* path) noexcept {
  RunStatsFile f;
  SharedFile file = SharedFile::attach(path, sizeof(RunStatsPage));
  if (!file.valid() || file.size() != sizeof(RunStatsPage)) return f;
  auto* page = static_cast<RunStatsPage*>(file.data());
  if (page->magic != RunStatsPage::kMagic || page->size != sizeof(RunStatsPage)) return f;
  f.file_ = std::move(file);
  f.page_ = page;
  return f;
}

RunStatsPage* RunStatsFile::release() noexcept {
  file_.release();
  return std::exchange(page_, nullptr);
}

}  // namespace futexbox::tools
