#include "kernel/poll.h"

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

#include "kernel/task.h"
#include "sync/parking_lot.h"

namespace futexbox::kernel {

namespace {

// One polled file and the events the poller cares about (POLLERR and POLLHUP always count).
struct Watched {
  std::shared_ptr<File> file;
  std::uint32_t want = 0;
  [[nodiscard]] bool ready() const noexcept { return (file->poll_events() & want) != 0; }
};

}  // namespace

ErrorOr<int> poll_files(Task& task, FdTable& files, std::span<PollEntry> entries,
                        const sync::Deadline& deadline) {
  std::vector<Watched> watched;
  watched.reserve(entries.size());
  for (;;) {
    watched.clear();
    int ready = 0;
    for (PollEntry& e : entries) {
      e.revents = 0;
      if (e.fd < 0) continue;
      std::shared_ptr<File> file = files.get(e.fd);
      if (file == nullptr) {
        e.revents = file_abi::kPollNval;
        ++ready;
        continue;
      }
      const std::uint32_t want = e.events | file_abi::kPollErr | file_abi::kPollHup;
      e.revents = file->poll_events() & want;
      if (e.revents != 0) ++ready;
      // Each file once: a park may not queue twice on one key.
      const auto same = std::find_if(watched.begin(), watched.end(),
                                     [&](const Watched& w) { return w.file == file; });
      if (same == watched.end()) {
        watched.push_back(Watched{std::move(file), want});
      } else {
        same->want |= want;
      }
    }
    if (ready != 0) return ready;
    if (deadline.expired()) return 0;
    if (task.interrupt_pending()) return Errno::kEINTR;

    auto still_blocked = [&](std::size_t i) {
      return !watched[i].ready() && !task.interrupt_pending();
    };
    sync::ParkResult r;
    if (watched.empty() || watched.size() > sync::kMaxParkKeys) {
      // Nothing to watch (only deadlines and signals end it) or too many keys for one park.
      sync::WakePoint& wide = File::wide_poll_point();
      wide.count_in();
      r = sync::parking_lot::park(
          wide.key(),
          [&] {
            for (std::size_t i = 0; i < watched.size(); ++i) {
              if (!still_blocked(i)) return false;
            }
            return !task.interrupt_pending();
          },
          [] {}, [](sync::ParkKey, bool) {}, sync::kDefaultParkToken, deadline, true);
      wide.count_out();
    } else {
      std::array<sync::ParkRequest, sync::kMaxParkKeys> requests;
      const std::size_t n = watched.size();
      for (std::size_t i = 0; i < n; ++i) {
        requests[i].key = watched[i].file->poll_point().key();
        watched[i].file->poll_point().count_in();
      }
      r = sync::parking_lot::park_multiple(std::span(requests.data(), n), still_blocked, [] {},
                                           deadline, /*interruptible=*/true);
      for (std::size_t i = 0; i < n; ++i) watched[i].file->poll_point().count_out();
    }
    (void)r;  // whatever ended the park, the next scan decides
  }
}

}  // namespace futexbox::kernel
