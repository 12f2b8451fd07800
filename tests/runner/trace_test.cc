// futexbox trace end to end: the same lines as the host's strace for a deterministic guest, the
// strace conventions for threads (unfinished/resumed, pid prefixes), -T/-t/-e/-o, a guest that
// crashes, usage errors, the -c summary and the Chrome/Perfetto JSON (read back with nlohmann).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/runner/process.h"
#include "tests/runner/test_paths.h"
#include "tools/trace/address_names.h"

namespace futexbox::testing {
namespace {

Finished run(std::vector<std::string> argv) {
  RunSpec spec;
  spec.argv = std::move(argv);
  return run_process(spec);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Replaces each "[pid N]" with "[pid #K]", K the order N first appeared in.
std::vector<std::string> normalize_prefix_pids(const std::vector<std::string>& lines) {
  std::map<std::string, int> seen;
  std::vector<std::string> out;
  const std::regex prefix(R"(^\[pid +([0-9]+)\] (.*)$)");
  for (const std::string& line : lines) {
    std::smatch m;
    if (!std::regex_match(line, m, prefix)) {
      out.push_back(line);
      continue;
    }
    const int n = seen.emplace(m[1].str(), static_cast<int>(seen.size())).first->second;
    out.push_back("[pid #" + std::to_string(n) + "] " + m[2].str());
  }
  return out;
}

// Replaces each line's leading pid column ("12345 ") with the order the pid first appeared in.
std::vector<std::string> normalize_pids(const std::vector<std::string>& lines) {
  std::map<std::string, int> seen;
  std::vector<std::string> out;
  const std::regex leading("^([0-9]+) +(.*)$");
  for (const std::string& line : lines) {
    std::smatch m;
    if (!std::regex_match(line, m, leading)) {
      out.push_back(line);
      continue;
    }
    const auto [it, fresh] = seen.emplace(m[1].str(), static_cast<int>(seen.size()));
    out.push_back("P" + std::to_string(it->second) + " " + m[2].str());
  }
  return out;
}

TEST(Trace, SameLinesAsStraceForADeterministicGuest) {
  // On stderr, and with -o (every line then starts with its pid, as strace -f -o does).
  const Finished f = run({kFutexbox, "trace", guest("strace_calls")});
  ASSERT_EQ(f.exit_code(), 0) << f.describe();
  const Finished s = run({"strace", "-f", "-e", "trace=futex", guest("strace_calls")});
  ASSERT_EQ(s.exit_code(), 0) << s.describe();
  const std::vector<std::string> expected = lines_of(s.err);
  ASSERT_GE(expected.size(), 31u);
  EXPECT_EQ(lines_of(f.err), expected);

  const std::string ours_log = temp("ours");
  const std::string strace_log = temp("strace");
  ASSERT_EQ(run({kFutexbox, "trace", "-o", ours_log, guest("strace_calls")}).exit_code(), 0);
  ASSERT_EQ(run({"strace", "-f", "-e", "trace=futex", "-o", strace_log, guest("strace_calls")})
                .exit_code(),
            0);
  EXPECT_EQ(normalize_pids(lines_of(slurp(ours_log))), normalize_pids(lines_of(slurp(strace_log))));
  std::filesystem::remove(ours_log);
  std::filesystem::remove(strace_log);
}

// A guest that execs with an empty environment (env -i, execle with envp = {NULL}) keeps every
// agent variable through the exec guard, FUTEXBOX_AGENT_TRACE included: the new image is traced
// as strace -f would trace it. (It used to keep LD_PRELOAD and the stats page only, and the
// image's calls went missing.)
TEST(Trace, AnImageExecdWithAnEmptyEnvironmentIsStillTraced) {
  const Finished f = run({kFutexbox, "trace", "env", "-i", guest("strace_calls")});
  ASSERT_EQ(f.exit_code(), 0) << f.describe();
  const Finished s = run({"strace", "-f", "-e", "trace=futex", "env", "-i", guest("strace_calls")});
  ASSERT_EQ(s.exit_code(), 0) << s.describe();
  // Library addresses differ between the two runs (the guest is not re-executed without ASLR
  // through env): compare any address in the mmap area (0x7..., 12 hex digits) as "0x7...".
  const auto masked = [](const std::string& text) {
    std::vector<std::string> lines = lines_of(text);
    for (std::string& line : lines) line = std::regex_replace(line, std::regex("0x7[0-9a-f]{11}\\b"), "0x7...");
    return lines;
  };
  const std::vector<std::string> expected = masked(s.err);
  ASSERT_GE(expected.size(), 31u);
  EXPECT_EQ(masked(f.err), expected);
}

TEST(Trace, FutexWaitvLinesAreStracesToo) {
  // strace decodes futex_waitv's waiters array (read at entry): the first 32, then "...".
  const Finished f = run({kFutexbox, "trace", guest("waitv_calls")});
  ASSERT_EQ(f.exit_code(), 0) << f.describe();
  const Finished s = run({"strace", "-e", "trace=futex_waitv", guest("waitv_calls")});
  ASSERT_EQ(s.exit_code(), 0) << s.describe();
  const std::vector<std::string> expected = lines_of(s.err);
  ASSERT_EQ(expected.size(), 12u) << s.err;
  EXPECT_EQ(lines_of(f.err), expected);
}

TEST(Trace, ThreadsGetPidPrefixesAndUnfinishedCallsResume) {
  const Finished f = run({kFutexbox, "trace", guest("condvar")});
  ASSERT_EQ(f.exit_code(), 0) << f.describe();
  const std::vector<std::string> lines = lines_of(f.err);
  ASSERT_GT(lines.size(), 100u);
  const std::regex call(R"(^(\[pid +([0-9]+)\] )?futex\(0x[0-9a-f]+, FUTEX_[A-Z_|]+, .*)");
  const std::regex resumed(R"(^\[pid +([0-9]+)\] <\.\.\. futex resumed>\) += .*)");
  const std::regex exited(R"(^\[pid +([0-9]+)\] \+\+\+ exited with 0 \+\+\+$)");
  std::map<std::string, int> unfinished;  // pid -> calls waiting for their "resumed" line
  std::set<std::string> ended;            // threads whose exit line came
  int resumed_lines = 0;
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    const std::string& line = lines[i];
    std::smatch m;
    if (std::regex_match(line, m, exited)) {
      // Each worker thread ends once, with nothing of it after (strace's per-thread exit lines).
      ASSERT_TRUE(ended.insert(m[1].str()).second) << "ended twice: " << line;
      ASSERT_EQ(unfinished[m[1].str()], 0) << "ended inside a call: " << line;
      continue;
    }
    if (std::regex_match(line, m, resumed)) {
      ASSERT_EQ(ended.count(m[1].str()), 0u) << "after its end: " << line;
      ASSERT_EQ(unfinished[m[1].str()], 1) << "resumed without an unfinished call: " << line;
      unfinished[m[1].str()] = 0;
      ++resumed_lines;
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, call)) << "line " << i << ": " << line;
    ASSERT_EQ(ended.count(m[2].str()), 0u) << "after its end: " << line;
    if (line.size() > 17 && line.compare(line.size() - 17, 17, " <unfinished ...>") == 0) {
      ASSERT_EQ(unfinished[m[2].str()], 0) << line;
      unfinished[m[2].str()] = 1;
    } else {
      ASSERT_NE(line.find(") "), std::string::npos) << line;
    }
  }
  EXPECT_GT(resumed_lines, 0);
  EXPECT_EQ(ended.size(), 5u) << "condvar's two producers and three consumers";
  EXPECT_EQ(lines.back(), "+++ exited with 0 +++");
  EXPECT_EQ(f.err.find("events dropped"), std::string::npos);
}

TEST(Trace, ThreadAndProcessEndsAreStraces) {
  // Only the "+++" lines: strace also prints its attach messages and the SIGCHLD, and puts
  // "[pid N] " prefixes by when threads exist, which the trace does not record (docs/tracing.md).
  auto ends = [](const std::string& text) {
    std::vector<std::string> out;
    for (const std::string& line : lines_of(text)) {
      if (line.find("+++ ") != std::string::npos) out.push_back(line);
    }
    return normalize_prefix_pids(out);
  };
  const Finished f = run({kFutexbox, "trace", guest("thread_ends")});
  ASSERT_EQ(f.exit_code(), 5) << f.describe();
  const Finished s = run({"strace", "-f", "-e", "trace=futex", guest("thread_ends")});
  ASSERT_EQ(s.exit_code(), 5) << s.describe();
  const std::vector<std::string> expected = ends(s.err);
  ASSERT_EQ(expected.size(), 4u) << s.err;
  EXPECT_EQ(ends(f.err), expected) << f.err;
}

TEST(Trace, DurationsTimestampsAndFilters) {
  const Finished t = run({kFutexbox, "trace", "-T", "-tt", guest("strace_calls")});
  ASSERT_EQ(t.exit_code(), 0) << t.describe();
  const std::regex timed(R"(^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} futex\(.*\) += .* <[0-9]+\.[0-9]{6}>$)");
  const std::vector<std::string> lines = lines_of(t.err);
  ASSERT_GE(lines.size(), 31u);
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) EXPECT_TRUE(std::regex_match(lines[i], timed)) << lines[i];
  const Finished epoch = run({kFutexbox, "trace", "-ttt", guest("strace_calls")});
  EXPECT_TRUE(std::regex_search(lines_of(epoch.err).front(), std::regex(R"(^[0-9]{10}\.[0-9]{6} futex\()")))
      << epoch.err;

  const Finished failed = run({kFutexbox, "trace", "-e", "status=failed", guest("strace_calls")});
  ASSERT_EQ(failed.exit_code(), 0) << failed.describe();
  const std::vector<std::string> bad = lines_of(failed.err);
  ASSERT_GT(bad.size(), 5u);
  for (std::size_t i = 0; i + 1 < bad.size(); ++i) EXPECT_NE(bad[i].find(" = -1 E"), std::string::npos) << bad[i];
  const Finished wakes = run({kFutexbox, "trace", "-e", "op=FUTEX_WAKE_PRIVATE", guest("strace_calls")});
  const std::vector<std::string> w = lines_of(wakes.err);
  ASSERT_GT(w.size(), 1u);
  for (std::size_t i = 0; i + 1 < w.size(); ++i) EXPECT_NE(w[i].find("FUTEX_WAKE_PRIVATE, "), std::string::npos) << w[i];
}

TEST(Trace, AGuestThatCrashesLosesNothingItRecorded) {
  // exit_status segv: the guest makes futex calls, then dies of SIGSEGV.
  const Finished f = run({kFutexbox, "trace", guest("exit_status"), "segv"});
  EXPECT_EQ(f.signal(), SIGSEGV) << f.describe();
  const std::vector<std::string> lines = lines_of(f.err);
  ASSERT_EQ(lines.size(), 2u) << f.describe();
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(^futex\(0x[0-9a-f]+, FUTEX_WAKE_PRIVATE, 1\) += 0$)")))
      << lines[0];
  EXPECT_EQ(lines[1], "+++ killed by SIGSEGV +++");
}

TEST(Trace, NoTemporaryFileOutlivesFutexboxEvenWhenItDiesOfTheGuestsSignal) {
  // futexbox re-raises a guest's fatal signal on itself, so destructors do not run: the run
  // counters' and the trace's files must be removed before.
  const std::string dir = temp("tmpdir");
  std::filesystem::create_directories(dir);
  for (const char* command : {"run", "trace"}) {
    RunSpec spec;
    spec.argv = {kFutexbox, command, "-o", "/dev/null", guest("exit_status"), "segv"};
    if (std::string(command) == "run") spec.argv.erase(spec.argv.begin() + 2, spec.argv.begin() + 4);
    spec.extra_env = {"TMPDIR=" + dir};
    const Finished f = run_process(spec);
    EXPECT_EQ(f.signal(), SIGSEGV) << command << ": " << f.describe();
    EXPECT_TRUE(std::filesystem::is_empty(dir)) << command << " left "
                                                << std::filesystem::directory_iterator(dir)->path();
  }
  std::filesystem::remove_all(dir);
}

TEST(Trace, UsageErrorsExit2) {
  EXPECT_EQ(run({kFutexbox, "trace", "-e", "bogus=1", guest("strace_calls")}).exit_code(), 2);
  EXPECT_EQ(run({kFutexbox, "trace", "-o", "/nonexistent/dir/x", guest("strace_calls")}).exit_code(), 2);
  EXPECT_EQ(run({kFutexbox, "trace"}).exit_code(), 2);
  EXPECT_EQ(run({kFutexbox, "trace", "--format=bogus", guest("strace_calls")}).exit_code(), 2);
}

}  // namespace
}  // namespace futexbox::testing

namespace futexbox::testing {
namespace {

TEST(TraceSummary, PerOpTableAndContentionProfileNameTheGuestsWords) {
  const Finished f = run({kFutexbox, "trace", "-c", guest("futex_heavy"), "2000"});
  ASSERT_EQ(f.exit_code(), 0) << f.describe();
  const std::vector<std::string> lines = lines_of(f.err);
  ASSERT_GT(lines.size(), 8u) << f.err;
  EXPECT_EQ(lines[0], "% time     seconds  usecs/call     calls    errors op");
  // Per-op rows add up to the total row.
  const std::regex row(R"(^ *([0-9.]+) +([0-9.]+) +([0-9]*) +([0-9]+) +([0-9]*) (.+)$)");
  std::uint64_t sum = 0;
  std::uint64_t total = 0;
  bool in_table = false;
  for (const std::string& line : lines) {
    if (line.rfind("------", 0) == 0) {
      in_table = !in_table;
      continue;
    }
    std::smatch m;
    if (!std::regex_match(line, m, row)) continue;
    if (m[6].str() == "total") {
      total = std::stoull(m[4].str());
    } else if (in_table) {
      sum += std::stoull(m[4].str());
    }
  }
  EXPECT_GT(total, 1000u);
  EXPECT_EQ(sum, total);
  // The contended words are named by their symbols in the guest's .bss.
  EXPECT_NE(f.err.find("Contention: futex words by total wait time"), std::string::npos);
  EXPECT_TRUE(std::regex_search(f.err, std::regex(R"(  (m|turn(\+0x[0-9a-f]+)?|shared) in /.*/futex_heavy)")))
      << f.err;
}

TEST(TraceSummary, AnonymousMemoryIsNamedByKind) {
  tools::AddressNamer names;
  names.set_maps(42,
                 "00400000-00401000 r--p 00000000 08:01 12 /nonexistent/prog\n"
                 "00401000-00402000 rw-p 00001000 08:01 12 /nonexistent/prog\n"
                 "01000000-01021000 rw-p 00000000 00:00 0 [heap]\n"
                 "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
                 "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0 [stack]\n");
  EXPECT_EQ(names.name(42, 0x1000010), "[heap]");
  EXPECT_EQ(names.name(42, 0x7ffc00000100), "[stack:42]");
  EXPECT_EQ(names.name(42, 0x7f0000000010), "[anon]");
  EXPECT_EQ(names.name(42, 0x12345), "0x12345");
  EXPECT_EQ(names.name(7, 0x1000010), "0x1000010");  // no map of that process
  EXPECT_EQ(names.name(42, 0x401008), "/nonexistent/prog");  // unreadable image: just its path
  // A thread seen blocked with its stack pointer in an anonymous mapping owns that mapping (the
  // whole of it: with glibc, the pthread descriptor that pthread_join waits on is at its top).
  names.set_thread_stack(42, 44, 0x7f0000000800);
  EXPECT_EQ(names.name(42, 0x7f0000000010), "[stack:44]");
  EXPECT_EQ(names.name(42, 0x7f0000000ff0), "[stack:44]");
  names.set_thread_stack(42, 45, 0x1000040);  // not anonymous memory: the heap keeps its name
  EXPECT_EQ(names.name(42, 0x1000010), "[heap]");
  names.set_thread_stack(42, 46, 0x7f0000000900);  // glibc reused 44's stack for a new thread
  EXPECT_EQ(names.name(42, 0x7f0000000010), "[stack:46]");
  // A join's word names a mapping no stack pointer was seen in, never one that was.
  names.set_maps(43, "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n");
  EXPECT_TRUE(names.anonymous(43, 0x7f0000000990));
  names.add_stack_hint(43, 47, 0x7f0000000990);
  EXPECT_EQ(names.name(43, 0x7f0000000010), "[stack:47]");
  names.add_stack_hint(42, 48, 0x7f0000000990);
  EXPECT_EQ(names.name(42, 0x7f0000000010), "[stack:46]");
  EXPECT_FALSE(names.anonymous(42, 0x1000010));  // [heap] has a name
}

TEST(TraceSummary, AJoinWaitIsNamedByTheThreadJoined) {
  // guests/mutex's main thread joins its workers: each join waits on the thread's tid word in
  // the descriptor at the top of that thread's stack.
  const Finished f = run({kFutexbox, "trace", "-c", guest("mutex")});
  ASSERT_EQ(f.exit_code(), 0) << f.describe();
  std::smatch m;
  EXPECT_TRUE(std::regex_search(f.err, m, std::regex(R"(\[stack:[0-9]+\])"))) << f.err;
  EXPECT_EQ(f.err.find("[anon]"), std::string::npos) << f.err;
}

}  // namespace
}  // namespace futexbox::testing

namespace futexbox::testing {
namespace {

nlohmann::json chrome_trace_of(const std::vector<std::string>& guest_argv, int* exit_code,
                               int* signal) {
  const std::string out = temp("chrome");
  std::vector<std::string> argv = {kFutexbox, "trace", "--format=chrome", "-o", out, "--"};
  argv.insert(argv.end(), guest_argv.begin(), guest_argv.end());
  const Finished f = run(argv);
  *exit_code = f.exit_code();
  *signal = f.signal();
  const std::string text = slurp(out);
  std::filesystem::remove(out);
  return nlohmann::json::parse(text);  // throws (fails the test) unless it is one valid document
}

TEST(TraceChrome, SlicesFlowsFromWakerToWokenCountersAndNames) {
  int code = 0;
  int sig = 0;
  const nlohmann::json doc = chrome_trace_of({guest("condvar")}, &code, &sig);
  ASSERT_EQ(code, 0);
  ASSERT_TRUE(doc.is_object());
  const nlohmann::json& events = doc.at("traceEvents");
  ASSERT_TRUE(events.is_array());
  std::map<std::string, int> phases;
  std::map<std::uint64_t, nlohmann::json> starts;
  int flows = 0;
  bool process_named = false;
  for (const nlohmann::json& e : events) {
    const std::string ph = e.at("ph");
    ++phases[ph];
    if (ph == "M" && e.at("name") == "process_name") {
      process_named = e.at("args").at("name").get<std::string>().rfind("condvar ", 0) == 0;
    }
    if (ph == "X") {
      ASSERT_GE(e.at("dur").get<double>(), 0.0);
      ASSERT_EQ(e.at("cat"), "futex");
      ASSERT_TRUE(e.at("name").get<std::string>().rfind("FUTEX_", 0) == 0) << e.dump();
    }
    if (ph == "s") starts[e.at("id").get<std::uint64_t>()] = e;
    if (ph == "f") {
      const auto s = starts.find(e.at("id").get<std::uint64_t>());
      ASSERT_NE(s, starts.end()) << "a flow end before its start: " << e.dump();
      EXPECT_NE(s->second.at("tid"), e.at("tid")) << "a thread does not wake itself";
      EXPECT_LE(s->second.at("ts").get<double>(), e.at("ts").get<double>());
      ++flows;
    }
    if (ph == "C") {
      ASSERT_GE(e.at("args").at("waiters").get<int>(), 0);
    }
  }
  EXPECT_TRUE(process_named);
  EXPECT_GT(phases["X"], 100);
  EXPECT_GT(phases["i"], 0);
  EXPECT_GT(flows, 0);
  EXPECT_EQ(phases["s"], phases["f"]);
  EXPECT_GT(phases["C"], 0);
  EXPECT_GE(phases["M"], 2);
}

// A served futex_waitv reports its wait and wake-up like any wait (FutexTable's one sleep
// helper), so the private round trip of waitv_mixed gets an arrow from the waker to the waitv.
TEST(TraceChrome, AFutexWaitvWokenByAServedWakeHasItsFlow) {
  int code = 0;
  int sig = 0;
  const nlohmann::json doc = chrome_trace_of({guest("waitv_mixed")}, &code, &sig);
  ASSERT_EQ(code, 0);
  std::map<std::uint64_t, nlohmann::json> starts;
  std::set<std::int64_t> waitv_threads;
  std::vector<nlohmann::json> ends;
  for (const nlohmann::json& e : doc.at("traceEvents")) {
    const std::string ph = e.at("ph");
    if (ph == "X" && e.at("name") == "futex_waitv") waitv_threads.insert(e.at("tid").get<std::int64_t>());
    if (ph == "s") starts[e.at("id").get<std::uint64_t>()] = e;
    if (ph == "f") ends.push_back(e);
  }
  ASSERT_FALSE(waitv_threads.empty());
  int waitv_flows = 0;
  for (const nlohmann::json& f : ends) {
    const auto s = starts.find(f.at("id").get<std::uint64_t>());
    ASSERT_NE(s, starts.end());
    if (waitv_threads.count(f.at("tid").get<std::int64_t>()) != 0) {
      EXPECT_NE(s->second.at("tid"), f.at("tid"));
      ++waitv_flows;
    }
  }
  EXPECT_EQ(waitv_flows, 1);  // the private wake; the shared one is the host's, unseen
}

TEST(TraceChrome, ACrashingGuestStillGivesOneValidDocument) {
  int code = 0;
  int sig = 0;
  const nlohmann::json doc = chrome_trace_of({guest("exit_status"), "segv"}, &code, &sig);
  EXPECT_EQ(sig, SIGSEGV);
  int slices = 0;
  for (const nlohmann::json& e : doc.at("traceEvents")) slices += e.at("ph") == "X";
  EXPECT_EQ(slices, 1);  // its one FUTEX_WAKE_PRIVATE
}

}  // namespace
}  // namespace futexbox::testing

namespace futexbox::testing {
namespace {

TEST(TraceDeadlock, ReportedWithinASecondAndAbortEndsTheGuest) {
  const Finished f = run({kFutexbox, "trace", "--on-deadlock=abort", "-o", "/dev/null", guest("deadlock")});
  EXPECT_EQ(f.signal(), SIGKILL) << f.describe();
  // The guest deadlocks at once; futexbox must notice, report and end it in well under a second
  // more (the report requires 300 ms without progress, checked every 100 ms).
  EXPECT_LT(f.seconds, 1.5) << f.describe();
  EXPECT_NE(f.err.find("futexbox trace: deadlock in process"), std::string::npos) << f.err;
  EXPECT_NE(f.err.find("FUTEX_WAIT_PRIVATE on 0x"), std::string::npos) << f.err;
  EXPECT_NE(f.err.find("(lock_a in /"), std::string::npos) << f.err;
  EXPECT_NE(f.err.find("(lock_b in /"), std::string::npos) << f.err;
  EXPECT_NE(f.err.find("--on-deadlock=abort: killing process"), std::string::npos) << f.err;
}

TEST(TraceDeadlock, ReportModeReportsOnceAndLetsTheGuestBe) {
  RunSpec spec;
  spec.argv = {kFutexbox, "trace", "-o", "/dev/null", guest("deadlock")};
  spec.timeout = std::chrono::seconds(2);  // the guest never ends by itself
  const Finished f = run_process(spec);
  EXPECT_FALSE(f.exited()) << f.describe();
  const std::size_t first = f.err.find("deadlock in process");
  ASSERT_NE(first, std::string::npos) << f.err;
  EXPECT_EQ(f.err.find("deadlock in process", first + 1), std::string::npos) << "reported twice";
}

TEST(TraceDeadlock, BusyThreadedGuestsAreNotReported) {
  for (const char* g : {"condvar", "futex_heavy", "join", "timed"}) {
    const Finished f = run({kFutexbox, "trace", "--on-deadlock=abort", "-o", "/dev/null", guest(g)});
    EXPECT_EQ(f.exit_code(), 0) << g << ": " << f.describe();
    EXPECT_EQ(f.err.find("deadlock"), std::string::npos) << g << ": " << f.err;
  }
}

}  // namespace
}  // namespace futexbox::testing
