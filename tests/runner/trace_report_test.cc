// futexbox trace --report: the HTML page is self-contained (nothing fetched from anywhere), its
// embedded data is valid JSON that cannot end its script element early, and headless Chromium
// (Debian's chromium, installed by setup.sh) runs its script and draws every wait and wake arrow
// the page holds, for a guest that ends normally, one that crashes and one killed in a deadlock.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "tests/runner/process.h"
#include "tests/runner/test_paths.h"
#include "tools/trace/address_names.h"
#include "tools/trace/views/report.h"

namespace futexbox::testing {
namespace {

using nlohmann::json;
using tools::TraceEvent;
using tools::TraceKind;

std::string chromium() {
  const char* env = std::getenv("CHROMIUM");
  return env != nullptr && *env != '\0' ? env : "/usr/bin/chromium";
}

// The page's DOM after Chromium loaded it and ran its script.
std::string render(const std::string& page) {
  const std::string profile = temp("chromium-profile");
  std::filesystem::create_directories(profile);
  RunSpec spec;
  // The flags the machine needs: root needs --no-sandbox; the rest keep Chromium off the
  // (closed) network and away from first-run work.
  spec.argv = {chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--user-data-dir=" + profile, "--dump-dom", "file://" + page};
  spec.timeout = std::chrono::seconds(60);
  const Finished f = run_process(spec);
  std::filesystem::remove_all(profile);
  EXPECT_EQ(f.exit_code(), 0) << f.describe();
  return f.out;
}

// The attributes of the element with `id` in `html`, as name -> value.
std::map<std::string, std::string> attributes(const std::string& html, const std::string& id) {
  std::map<std::string, std::string> out;
  std::smatch tag;
  if (!std::regex_search(html, tag, std::regex("<[a-z]+ [^>]*id=\"" + id + "\"[^>]*>"))) return out;
  const std::string text = tag.str();
  const std::regex attribute("([a-z-]+)=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), attribute); it != std::sregex_iterator(); ++it) {
    out[(*it)[1]] = (*it)[2];
  }
  return out;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Nothing the page would fetch: no external scripts, styles, images or fonts. The only URL in it
// is the SVG namespace, which is a name, not a request.
void expect_self_contained(const std::string& page) {
  EXPECT_EQ(count(page, "http"), count(page, "http://www.w3.org/2000/svg"));
  EXPECT_EQ(page.find("<link"), std::string::npos);
  EXPECT_EQ(page.find(" src="), std::string::npos);
  EXPECT_EQ(page.find("@import"), std::string::npos);
  EXPECT_EQ(count(page, "url("), count(page, "url(#"));
}

// The timeline's data, read back from the page as the script reads it.
json embedded_data(const std::string& page) {
  const std::string open = "<script type=\"application/json\" id=\"timeline-data\">";
  const std::size_t begin = page.find(open);
  EXPECT_NE(begin, std::string::npos);
  const std::size_t end = page.find("</script>", begin);
  return json::parse(page.substr(begin + open.size(), end - begin - open.size()));
}

struct Traced {
  Finished run;
  std::string page;
};

Traced trace_report(const std::vector<std::string>& options, const std::vector<std::string>& guest_argv) {
  const std::string page = temp("report") + ".html";
  std::vector<std::string> argv = {kFutexbox, "trace", "--report", page};
  argv.insert(argv.end(), options.begin(), options.end());
  argv.emplace_back("--");
  argv.insert(argv.end(), guest_argv.begin(), guest_argv.end());
  RunSpec spec;
  spec.argv = std::move(argv);
  return {run_process(spec), page};
}

TEST(TraceReport, RendersInChromiumWithEveryWaitAndArrowDrawn) {
  const Traced t = trace_report({}, {guest("mutex")});
  ASSERT_EQ(t.run.exit_code(), 0) << t.run.describe();
  // The report alone was asked for: no call lines on stderr.
  EXPECT_EQ(t.run.err.find("futex("), std::string::npos) << t.run.err;
  const std::string page = slurp(t.page);
  expect_self_contained(page);
  const json data = embedded_data(page);
  ASSERT_GT(data.at("waits").size(), 0u);
  ASSERT_GT(data.at("flows").size(), 0u);
  ASSERT_LE(data.at("flows").size(), 400u) << "more than the page draws at once: pick a smaller guest";
  EXPECT_EQ(data.at("lanes").size(), 5u);  // main + four threads
  // Served mutex waits were woken by another thread of the guest: every arrow joins two lanes.
  for (const json& f : data.at("flows")) EXPECT_NE(f.at(0), f.at(2));

  const std::string dom = render(t.page);
  const auto timeline = attributes(dom, "timeline");
  ASSERT_FALSE(timeline.empty()) << dom.substr(0, 2000);
  EXPECT_EQ(timeline.at("data-drawn"), std::to_string(data.at("waits").size()));
  EXPECT_EQ(timeline.at("data-drawn"), timeline.at("data-waits"));
  EXPECT_EQ(timeline.at("data-arrows"), std::to_string(data.at("flows").size()));
  EXPECT_EQ(count(dom, "<rect class=\"wait\""), data.at("waits").size());
  EXPECT_EQ(count(dom, "<line class=\"flow\""), data.at("flows").size());
  EXPECT_EQ(count(dom, "<text class=\"lane\""), 5u);
  EXPECT_EQ(count(dom, "data-error"), 0u);
  EXPECT_TRUE(attributes(dom, "report-error").count("hidden") != 0) << "the script reported an error";
  // The contention table: the guest's mutex, named by its symbol, with a histogram.
  EXPECT_NE(dom.find(" normal in /"), std::string::npos);
  EXPECT_EQ(count(dom, "<tr class=\"word\""), count(dom, "<svg class=\"histogram\""));
  EXPECT_GE(count(dom, "<tr class=\"word\""), 1u);
  std::filesystem::remove(t.page);
}

TEST(TraceReport, ACrashingGuestAndADeadlockedOneStillGetAPage) {
  {
    const Traced t = trace_report({"-o", "/dev/null"}, {guest("exit_status"), "segv"});
    EXPECT_EQ(t.run.signal(), SIGSEGV) << t.run.describe();
    const std::string dom = render(t.page);
    EXPECT_NE(dom.find("killed by SIGSEGV"), std::string::npos);
    EXPECT_NE(dom.find("FUTEX_WAKE_PRIVATE"), std::string::npos);
    EXPECT_TRUE(attributes(dom, "report-error").count("hidden") != 0);
    std::filesystem::remove(t.page);
  }
  {
    // Killed in its deadlock: the waits it never returned from are drawn up to the end.
    const Traced t = trace_report({"--on-deadlock=abort"}, {guest("deadlock")});
    EXPECT_EQ(t.run.signal(), SIGKILL) << t.run.describe();
    const std::string page = slurp(t.page);
    const json data = embedded_data(page);
    std::size_t unfinished = 0;
    const json& results = data.at("results");
    for (const json& w : data.at("waits")) {
      unfinished += results.at(w.at(5).get<std::size_t>()).get<std::string>().rfind("unfinished", 0) == 0;
    }
    EXPECT_EQ(unfinished, 3u);  // both lockers and the joining main thread
    const std::string dom = render(t.page);
    EXPECT_EQ(attributes(dom, "timeline").at("data-drawn"), std::to_string(data.at("waits").size()));
    EXPECT_NE(dom.find("killed by SIGKILL"), std::string::npos);
    std::filesystem::remove(t.page);
  }
}

TEST(TraceReport, TextFromTheGuestCannotBreakOutOfThePage) {
  // A command line and a mapped file name chosen to end the title, the script and the JSON.
  tools::AddressNamer names;
  names.set_maps(7, "10000000-10001000 rw-p 00000000 00:00 0 /tmp/</script><b>\"x\".so\n");
  std::vector<TraceEvent> events;
  auto add = [&](std::uint64_t ts, TraceKind kind, std::uint64_t v0, std::uint64_t v1) {
    TraceEvent e;
    e.ts_ns = ts;
    e.pid = 7;
    e.tid = 7;
    e.kind = kind;
    e.nr = 202;
    e.v[0] = v0;
    e.v[1] = v1;
    events.push_back(e);
  };
  add(1000, TraceKind::kEntry, 0x10000010, 0x80 /* FUTEX_WAIT_PRIVATE */);
  add(5000, TraceKind::kExit, 0, 0);
  tools::ReportContext context;
  context.command = "prog '</title><script>alert(1)</script>'";
  context.ending = "exited with 0";
  const std::string page = tools::format_report(events, names, context);
  EXPECT_EQ(count(page, "<script"), 2u);  // the data and the drawing code, nothing injected
  EXPECT_EQ(count(page, "</script>"), 2u);
  // Markup only inside the data, where it is text; escaped everywhere else.
  const std::size_t data_begin = page.find("id=\"timeline-data\"");
  const std::size_t data_end = page.find("</script>", data_begin);
  EXPECT_EQ(count(page.substr(0, data_begin) + page.substr(data_end), "<b>"), 0u);
  EXPECT_NE(page.find("prog &#39;&lt;/title&gt;&lt;script&gt;"), std::string::npos);
  const json data = embedded_data(page);
  ASSERT_EQ(data.at("waits").size(), 1u);
  EXPECT_EQ(data.at("words").at(0).at("name"),
            "0x10000010 (/tmp/</script><b>\"x\".so)");  // intact once parsed
}

}  // namespace
}  // namespace futexbox::testing
