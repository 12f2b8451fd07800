// `futexbox run [--stats] [--stats-json FILE] [--agent PATH] [--] PROGRAM [ARGS...]`: runs an
// unmodified dynamically linked x86-64 program natively, with libfutexbox-agent.so preloaded so
// that its private futex calls are served by futexbox (docs/runner.md).
//
// Exit status: the guest's own; a guest killed by a signal kills futexbox with the same signal
// (core dumps left to the guest), as strace and qemu-user do. 2 when futexbox refuses to start it
// (usage, a program that cannot be found or run, a static or set-ID program, a missing agent).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "tools/run_report.h"

namespace futexbox::tools {

// Hooks for commands built on run (futexbox trace): more environment for the guest, and its
// start and end. finished() runs before futexbox reports or leaves (even when it then dies of
// the guest's signal).
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void add_environment(std::vector<std::string>& env) = 0;
  virtual void started(pid_t guest) = 0;
  virtual void finished(const GuestExit& exit) = 0;
};

// What to do when a guest deadlocks in futex waits (tools/trace_deadlock.h): print a report,
// print it and kill the guest, or not watch at all.
enum class OnDeadlock { kReport, kAbort, kIgnore };
// "report", "abort", "ignore"; nullopt for anything else.
std::optional<OnDeadlock> parse_on_deadlock(const std::string& text);

struct RunOptions {
  bool stats = false;              // print a summary on stderr at exit
  std::string stats_json;          // write the summary as JSON here
  std::string agent;               // the agent library; default: beside the futexbox binary
  std::vector<std::string> command;
  // Without an observer, run watches for deadlocks itself (the agent then records each futex
  // call's entry and exit for the watch; docs/tracing.md). With one, the observer decides.
  OnDeadlock on_deadlock = OnDeadlock::kReport;
  RunObserver* observer = nullptr;
  std::string name = "run";  // for messages: "futexbox run: ..."
};

inline constexpr int kRunRefused = 2;

// Runs the guest and returns the exit status futexbox should exit with (after re-raising a
// terminating signal, if the guest died of one).
int run_program(const RunOptions& options);

// Where the agent is when not given: $FUTEXBOX_AGENT, else ../lib/libfutexbox-agent.so relative to
// the futexbox executable (the build tree and the installed layout agree on that).
std::string default_agent_path();

}  // namespace futexbox::tools
