// Every view of a trace (strace lines, -c, Chrome JSON, the HTML page) and the deadlock watch fed
// the same synthetic trace, odd records included: an empty futex_waitv array, a waitv with its
// waiters, thread and process ends, a call the guest never returned from, an exit without its
// entry, an attempt a signal stopped before it ran, and the empty trace. Pure functions over
// events, so this runs in the AddressSanitizer + UBSan job too (the end-to-end tests in
// tests/runner/ run only in release, with the real agent).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/syscall.h>

#include <string>
#include <vector>

#include "tools/trace/address_names.h"
#include "tools/trace/views/chrome.h"
#include "tools/trace/deadlock_watch.h"
#include "tools/trace/views/report.h"
#include "tools/trace/views/strace.h"
#include "tools/trace/views/summary.h"

namespace futexbox::testing {
namespace {

using nlohmann::json;
using tools::TraceEvent;
using tools::TraceKind;

constexpr std::int32_t kPid = 100;
constexpr std::uint64_t kWord = 0x10000000;

TraceEvent event(std::uint64_t ts, std::int32_t tid, TraceKind kind, std::uint32_t nr,
                 std::initializer_list<std::uint64_t> v, std::uint16_t flags = 0) {
  TraceEvent e;
  e.ts_ns = ts;
  e.pid = kPid;
  e.tid = tid;
  e.kind = kind;
  e.nr = nr;
  e.flags = flags;
  std::size_t i = 0;
  for (const std::uint64_t x : v) e.v[i++] = x;
  return e;
}

std::vector<TraceEvent> odd_trace() {
  constexpr std::uint32_t kFutex = SYS_futex;
  constexpr std::uint32_t kWaitv = SYS_futex_waitv;
  std::vector<TraceEvent> t;
  // 100 waits on kWord; 101 wakes it; the kernel says 101 woke 100.
  t.push_back(event(1000, 100, TraceKind::kEntry, kFutex, {kWord, 128, 0, 0, 0, 0}, tools::kTraceServed));
  t.push_back(event(1100, 100, TraceKind::kWait, 0, {kWord}, tools::kTraceServed));
  t.push_back(event(2000, 101, TraceKind::kEntry, kFutex, {kWord, 129, 1, 0, 0, 0}));
  t.push_back(event(2100, 101, TraceKind::kWake, 0, {kWord, 1}, tools::kTraceServed));
  t.push_back(event(2500, 100, TraceKind::kWoken, 0, {kWord, 101}, tools::kTraceServed));
  t.push_back(event(2600, 101, TraceKind::kExit, kFutex, {1}, tools::kTraceServed));
  t.push_back(event(3000, 100, TraceKind::kExit, kFutex, {0}, tools::kTraceServed));
  // futex_waitv with no waiters, then with two (their words in the record after the entry).
  t.push_back(event(3100, 100, TraceKind::kEntry, kWaitv, {kWord + 64, 0, 0, 0, 1, 0}));
  t.push_back(event(3200, 100, TraceKind::kExit, kWaitv, {static_cast<std::uint64_t>(-22)}));
  t.push_back(event(3300, 100, TraceKind::kEntry, kWaitv, {kWord + 64, 2, 0, 0, 1, 0}, tools::kTraceArrayRead));
  t.push_back(event(3300, 100, TraceKind::kEntryData, kWaitv, {7, kWord, 0x82, 0, kWord + 4, 2}));
  t.push_back(event(3400, 100, TraceKind::kExit, kWaitv, {static_cast<std::uint64_t>(-11)}));
  // An attempt a signal stopped before it ran, and an exit whose entry was lost.
  t.push_back(event(3500, 101, TraceKind::kEntry, kFutex, {kWord, 128, 0, 0, 0, 0}));
  t.push_back(event(3600, 101, TraceKind::kExit, kFutex, {static_cast<std::uint64_t>(-512)}, tools::kTraceNotRun));
  t.push_back(event(3700, 103, TraceKind::kExit, kFutex, {0}));
  // 102 waits and never returns; 101 ends; 100 ends the process.
  t.push_back(event(4000, 102, TraceKind::kEntry, kFutex, {kWord + 8, 128, 0, 0, 0, 0}));
  t.push_back(event(5000, 101, TraceKind::kThreadExit, SYS_exit, {0}));
  t.push_back(event(6000, 100, TraceKind::kExitGroup, SYS_exit_group, {3, 2}));
  t.push_back(event(6000, 100, TraceKind::kEntryData, SYS_exit_group, {100, 102}));
  return t;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t at = 0;
  for (std::size_t nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) {
    lines.push_back(text.substr(at, nl - at));
  }
  return lines;
}

TEST(TraceViews, StraceLinesForOddRecords) {
  tools::StraceExit end{"exited with 3", kPid, 7000};
  const std::vector<std::string> lines =
      lines_of(tools::format_strace(odd_trace(), tools::StraceOptions{}, end));
  const std::vector<std::string> expected = {
      "[pid   100] futex(0x10000000, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>",
      "[pid   101] futex(0x10000000, FUTEX_WAKE_PRIVATE, 1) = 1",
      "[pid   100] <... futex resumed>)        = 0",
      "[pid   100] futex_waitv([], 0, 0, NULL, CLOCK_MONOTONIC) = -1 EINVAL (Invalid argument)",
      "[pid   100] futex_waitv([{val=0x7, uaddr=0x10000000, flags=FUTEX_32|FUTEX_PRIVATE_FLAG}, "
      "{val=0, uaddr=0x10000004, flags=FUTEX_32}], 2, 0, NULL, CLOCK_MONOTONIC) = -1 EAGAIN "
      "(Resource temporarily unavailable)",
      "[pid   102] futex(0x10000008, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>",
      "[pid   101] +++ exited with 0 +++",
      "[pid   102] +++ exited with 3 +++",
      "+++ exited with 3 +++"};
  EXPECT_EQ(lines, expected);
}

TEST(TraceViews, SummaryChromeAndReportTakeOddRecords) {
  tools::AddressNamer names;
  const std::string summary = tools::format_summary(odd_trace(), names);
  EXPECT_NE(summary.find("FUTEX_WAIT_PRIVATE"), std::string::npos) << summary;
  EXPECT_NE(summary.find("futex_waitv"), std::string::npos) << summary;

  const json chrome = json::parse(tools::format_chrome(odd_trace(), names));
  int flows = 0;
  for (const json& e : chrome.at("traceEvents")) flows += e.at("ph") == "f";
  EXPECT_EQ(flows, 1);

  tools::ReportContext context{"guest", "exited with 3", 0};
  const std::string page = tools::format_report(odd_trace(), names, context);
  const std::string open = "<script type=\"application/json\" id=\"timeline-data\">";
  const std::size_t begin = page.find(open) + open.size();
  const json data = json::parse(page.substr(begin, page.find("</script>", begin) - begin));
  EXPECT_EQ(data.at("flows").size(), 1u);
  EXPECT_EQ(data.at("waits").size(), 2u);  // 100's wait that slept, and 102's unfinished one
  EXPECT_EQ(data.at("lanes").size(), 4u);
}

TEST(TraceViews, TheEmptyTraceGivesEmptyButValidViews) {
  tools::AddressNamer names;
  EXPECT_EQ(tools::format_strace({}, tools::StraceOptions{}, std::nullopt), "");
  EXPECT_NE(tools::format_summary({}, names).find("(no call waited)"), std::string::npos);
  EXPECT_TRUE(json::parse(tools::format_chrome({}, names)).at("traceEvents").empty());
  const std::string page = tools::format_report({}, names, tools::ReportContext{});
  EXPECT_NE(page.find("No call waited."), std::string::npos);
}

TEST(TraceViews, TheDeadlockWatchTakesOddRecords) {
  tools::DeadlockWatch watch(1000, "futexbox test");
  watch.set_sources([](pid_t, std::uint64_t) { return std::optional<std::uint32_t>(); },
                    [](pid_t) { return std::vector<pid_t>{102}; },
                    [](pid_t, const std::vector<pid_t>&) { return true; });
  for (const TraceEvent& e : odd_trace()) watch.observe(e, e.ts_ns);
  tools::AddressNamer names;
  const std::optional<tools::DeadlockReport> r = watch.check(1'000'000, names);
  ASSERT_TRUE(r);  // 102 is the one thread left, in an untimed wait
  EXPECT_NE(r->text.find("thread 102  FUTEX_WAIT_PRIVATE on 0x10000008"), std::string::npos) << r->text;
}

}  // namespace
}  // namespace futexbox::testing
