#include "tools/trace/views/summary.h"

#include <cinttypes>
#include <cstdio>

#include "tools/trace/profile.h"

namespace futexbox::tools {

std::string format_summary(std::vector<TraceEvent> events, const AddressNamer& names,
                           std::size_t top) {
  sort_by_time(events);
  const TraceProfile profile = profile_calls(pair_calls(events, false));

  std::string out;
  char line[512];
  const char* rule = "------ ----------- ----------- --------- --------- ----------------\n";
  out += "% time     seconds  usecs/call     calls    errors op\n";
  out += rule;
  const std::uint64_t total_ns = profile.total.ns;
  auto print_row = [&](const OpProfile& r, bool with_average) {
    const double share = total_ns == 0 ? 0.0 : 100.0 * static_cast<double>(r.ns) / static_cast<double>(total_ns);
    char errors[24] = "";
    if (r.errors != 0) std::snprintf(errors, sizeof errors, "%" PRIu64, r.errors);
    char average[24] = "";
    if (with_average) std::snprintf(average, sizeof average, "%" PRIu64, r.calls ? r.ns / 1000 / r.calls : 0);
    std::snprintf(line, sizeof line, "%6.2f %11.6f %11s %9" PRIu64 " %9s %s\n", share,
                  static_cast<double>(r.ns) / 1e9, average, r.calls, errors, r.name.c_str());
    out += line;
  };
  for (const OpProfile& r : profile.ops) print_row(r, true);
  out += rule;
  print_row(profile.total, false);

  out += "\nContention: futex words by total wait time\n";
  if (profile.words.empty()) {
    out += "(no call waited)\n";
    return out;
  }
  std::snprintf(line, sizeof line, "%-18s %12s %7s %7s %6s %10s %10s %10s  %s\n", "address",
                "wait total", "waits", "waiters", "wakers", "p50", "p99", "max", "name");
  out += line;
  for (std::size_t i = 0; i < profile.words.size() && i < top; ++i) {
    const WordProfile& a = profile.words[i];
    char address[32];
    std::snprintf(address, sizeof address, "%#" PRIx64, a.uaddr);
    std::snprintf(line, sizeof line, "%-18s %12s %7zu %7zu %6zu %10s %10s %10s  %s\n", address,
                  format_duration(a.wait_ns).c_str(), a.waits.size(), a.waiters.size(),
                  a.wakers.size(), format_duration(a.percentile(0.50)).c_str(),
                  format_duration(a.percentile(0.99)).c_str(),
                  format_duration(a.waits.back()).c_str(), names.name(a.pid, a.uaddr).c_str());
    out += line;
  }
  return out;
}

}  // namespace futexbox::tools
