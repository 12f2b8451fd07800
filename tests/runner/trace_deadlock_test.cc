// The deadlock watch (tools/trace_deadlock.h) on synthetic traces, with the guest's memory,
// threads and their states given by the test: PI cycles found among threads that keep running
// beside them, chains that end at a thread that is not stuck ignored, each episode reported once;
// a process whose threads all wait is reported only when they are asleep. Then end to end: the
// same reports from `futexbox run`, and a PI cycle found while the guest's main thread runs on.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/runner/process.h"
#include "tests/runner/test_paths.h"
#include "tools/trace/address_names.h"
#include "tools/trace/deadlock_watch.h"

namespace futexbox::testing {
namespace {

using tools::DeadlockWatch;
using tools::TraceEvent;
using tools::TraceKind;

constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kSecond = 1000 * kMs;
constexpr std::uint64_t kQuiet = 300 * kMs;
constexpr int kPid = 100;
constexpr std::uint64_t kLockPiPrivate = 6 | 128;
constexpr std::uint64_t kWaitPrivate = 0 | 128;

TraceEvent call(std::int32_t tid, std::uint64_t ts, std::uint64_t op, std::uint64_t uaddr) {
  TraceEvent e;
  e.ts_ns = ts;
  e.pid = kPid;
  e.tid = tid;
  e.kind = TraceKind::kEntry;
  e.nr = 202;  // futex
  e.v[0] = uaddr;
  e.v[1] = op;
  return e;
}

TraceEvent exit_of(std::int32_t tid, std::uint64_t ts) {
  TraceEvent e;
  e.ts_ns = ts;
  e.pid = kPid;
  e.tid = tid;
  e.kind = TraceKind::kExit;
  e.nr = 202;
  return e;
}

struct Guest {
  std::map<std::uint64_t, std::uint32_t> memory;  // lock words
  std::vector<pid_t> threads;
  bool asleep = true;
  void attach(DeadlockWatch& watch) {
    watch.set_sources(
        [this](pid_t, std::uint64_t uaddr) -> std::optional<std::uint32_t> {
          auto it = memory.find(uaddr);
          if (it == memory.end()) return std::nullopt;
          return it->second;
        },
        [this](pid_t) { return threads; }, [this](pid_t, const std::vector<pid_t>&) { return asleep; });
  }
};

constexpr std::uint32_t kWaiters = 0x80000000u;

TEST(DeadlockWatch, APiCycleIsFoundWhileOtherThreadsRun) {
  DeadlockWatch watch(kQuiet, "futexbox test");
  Guest g;
  g.attach(watch);
  g.threads = {100, 101, 102, 103};  // 100 keeps running (no call in progress)
  // 101 holds A and wants B, 102 holds B and wants C, 103 holds C and wants A.
  g.memory = {{0xa0, kWaiters | 101}, {0xb0, kWaiters | 102}, {0xc0, kWaiters | 103}};
  watch.observe(call(101, 10 * kMs, kLockPiPrivate, 0xb0), 10 * kMs);
  watch.observe(call(102, 11 * kMs, kLockPiPrivate, 0xc0), 11 * kMs);
  watch.observe(call(103, 12 * kMs, kLockPiPrivate, 0xa0), 12 * kMs);
  watch.observe(call(100, 13 * kMs, kWaitPrivate, 0xd0), 13 * kMs);  // busy: returns at once
  watch.observe(exit_of(100, 13 * kMs), 13 * kMs);
  tools::AddressNamer names;
  EXPECT_FALSE(watch.check(200 * kMs, names)) << "not stuck for 300 ms yet";
  const std::optional<tools::DeadlockReport> r = watch.check(400 * kMs, names);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->pid, kPid);
  EXPECT_NE(r->text.find("3 threads wait for each other's PI locks"), std::string::npos) << r->text;
  EXPECT_NE(r->text.find("thread 101  FUTEX_LOCK_PI_PRIVATE on 0xb0 (0xb0), owned by thread 102"),
            std::string::npos) << r->text;
  EXPECT_NE(r->text.find("thread 103  FUTEX_LOCK_PI_PRIVATE on 0xa0 (0xa0), owned by thread 101"),
            std::string::npos) << r->text;
  EXPECT_FALSE(watch.check(500 * kMs, names)) << "reported twice";
  // One of them gets out (a signal, say) and walks back in: a new episode, reported again.
  watch.observe(exit_of(102, 510 * kMs), 510 * kMs);
  watch.observe(call(102, 520 * kMs, kLockPiPrivate, 0xc0), 520 * kMs);
  EXPECT_FALSE(watch.check(600 * kMs, names));
  EXPECT_TRUE(watch.check(900 * kMs, names));
}

TEST(DeadlockWatch, AChainToAThreadThatIsNotStuckIsNoCycle) {
  DeadlockWatch watch(kQuiet, "futexbox test");
  Guest g;
  g.attach(watch);
  g.threads = {100, 101, 102};
  // 101 wants B (owned by 102), 102 wants A (owned by 100, which runs): 100 will unlock A.
  g.memory = {{0xa0, kWaiters | 100}, {0xb0, kWaiters | 102}};
  watch.observe(call(101, 0, kLockPiPrivate, 0xb0), 0);
  watch.observe(call(102, 0, kLockPiPrivate, 0xa0), 0);
  tools::AddressNamer names;
  EXPECT_FALSE(watch.check(kSecond, names));
  // A timed PI lock resolves by itself: not a deadlock even in a cycle.
  g.memory[0xa0] = kWaiters | 101;
  TraceEvent timed = call(102, 0, kLockPiPrivate, 0xa0);
  timed.v[3] = 0x1000;  // a timeout pointer
  watch.observe(timed, 0);
  EXPECT_FALSE(watch.check(2 * kSecond, names));
}

TEST(DeadlockWatch, AStuckProcessIsReportedOnlyWhenItsThreadsSleep) {
  DeadlockWatch watch(kQuiet, "futexbox test");
  Guest g;
  g.attach(watch);
  g.threads = {100, 101};
  watch.observe(call(100, 0, kWaitPrivate, 0xa0), 0);
  watch.observe(call(101, 0, kWaitPrivate, 0xb0), 0);
  tools::AddressNamer names;
  // Both "in" untimed waits, but one is on a CPU: its exit was lost (a full ring), it is not stuck.
  g.asleep = false;
  EXPECT_FALSE(watch.check(kSecond, names));
  g.asleep = true;
  const std::optional<tools::DeadlockReport> r = watch.check(kSecond, names);
  ASSERT_TRUE(r);
  EXPECT_NE(r->text.find("futexbox test: deadlock in process 100: all 2 threads"), std::string::npos)
      << r->text;
  // A thread of it that made no call at all (never traced) means the process is not stuck.
  DeadlockWatch other(kQuiet, "futexbox test");
  g.attach(other);
  g.threads = {100, 101, 104};
  other.observe(call(100, 0, kWaitPrivate, 0xa0), 0);
  other.observe(call(101, 0, kWaitPrivate, 0xb0), 0);
  EXPECT_FALSE(other.check(kSecond, names));
}

Finished run(std::vector<std::string> argv) {
  RunSpec spec;
  spec.argv = std::move(argv);
  return run_process(spec);
}

TEST(RunDeadlock, RunReportsAndAbortsLikeTrace) {
  const Finished f = run({kFutexbox, "run", "--on-deadlock=abort", guest("deadlock")});
  EXPECT_EQ(f.signal(), SIGKILL) << f.describe();
  EXPECT_LT(f.seconds, 1.5) << f.describe();
  EXPECT_NE(f.err.find("futexbox run: deadlock in process"), std::string::npos) << f.err;
  EXPECT_NE(f.err.find("(lock_a in /"), std::string::npos) << f.err;
  EXPECT_NE(f.err.find("(lock_b in /"), std::string::npos) << f.err;
  EXPECT_NE(f.err.find("futexbox run: --on-deadlock=abort: killing process"), std::string::npos) << f.err;
}

// The deadlock watch sees an image exec'd with an empty environment (the exec guard carries
// FUTEXBOX_AGENT_TRACE into it), so its deadlock is reported and ended as the guest's own is.
TEST(RunDeadlock, AnImageExecdWithAnEmptyEnvironmentIsStillWatched) {
  const Finished f = run({kFutexbox, "run", "--on-deadlock=abort", "env", "-i", guest("deadlock")});
  EXPECT_EQ(f.signal(), SIGKILL) << f.describe();
  EXPECT_LT(f.seconds, 1.5) << f.describe();
  EXPECT_NE(f.err.find("futexbox run: deadlock in process"), std::string::npos) << f.err;
}

TEST(RunDeadlock, APiCycleIsFoundWhileMainRunsOn) {
  for (const char* command : {"run", "trace"}) {
    RunSpec spec;
    spec.argv = {kFutexbox, command, "--on-deadlock=abort", guest("pi_deadlock"), "10"};
    if (std::string(command) == "trace") spec.argv.insert(spec.argv.begin() + 2, {"-o", "/dev/null"});
    const Finished f = run_process(spec);
    EXPECT_EQ(f.signal(), SIGKILL) << command << ": " << f.describe();
    EXPECT_LT(f.seconds, 1.5) << command << ": " << f.describe();
    EXPECT_NE(f.err.find("2 threads wait for each other's PI locks"), std::string::npos) << f.err;
    EXPECT_NE(f.err.find("(pi_a in /"), std::string::npos) << f.err;
    EXPECT_NE(f.err.find("(pi_b in /"), std::string::npos) << f.err;
    EXPECT_NE(f.err.find("), owned by thread "), std::string::npos) << f.err;
  }
}

TEST(RunDeadlock, IgnoreWatchesNothingAndBusyGuestsAreLeftAlone) {
  RunSpec spec;
  spec.argv = {kFutexbox, "run", "--on-deadlock=ignore", guest("deadlock")};
  spec.timeout = std::chrono::seconds(1);  // never ends by itself
  const Finished stuck = run_process(spec);
  EXPECT_FALSE(stuck.exited()) << stuck.describe();
  EXPECT_EQ(stuck.err.find("deadlock"), std::string::npos) << stuck.err;
  for (const char* g : {"condvar", "pi_mutex", "join", "timed"}) {
    const Finished f = run({kFutexbox, "run", "--on-deadlock=abort", guest(g)});
    EXPECT_EQ(f.exit_code(), 0) << g << ": " << f.describe();
    EXPECT_EQ(f.err.find("deadlock"), std::string::npos) << g << ": " << f.err;
  }
}

}  // namespace
}  // namespace futexbox::testing
