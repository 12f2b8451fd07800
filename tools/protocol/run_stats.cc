#include "tools/protocol/run_stats.h"

#include <new>
#include <utility>


namespace futexbox::tools {

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
