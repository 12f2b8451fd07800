// `futexbox run [--stats] [--stats-json FILE] [--on-deadlock=...] [--agent PATH] [--] PROGRAM
// [ARGS...]`: runs an unmodified dynamically linked x86-64 program natively, with
// libfutexbox-agent.so preloaded so that its private futex calls are served by futexbox
// (docs/runner.md). It composes the launcher (tools/launch/launcher.h) with two observers: the
// deadlock watch (tools/trace/collector.h in call-state mode) and the --stats report.
//
// Exit status: the guest's own; a guest killed by a signal kills futexbox with the same signal
// (core dumps left to the guest), as strace and qemu-user do. 2 when futexbox refuses to start it
// (usage, a program that cannot be found or run, a static or set-ID program, a missing agent).
#pragma once

#include <string>
#include <vector>

#include "tools/trace/deadlock_watch.h"

namespace futexbox::tools {

struct RunOptions {
  bool stats = false;      // print a summary on stderr at exit
  std::string stats_json;  // write the summary as JSON here
  std::string agent;       // the agent library; default: beside the futexbox binary
  std::vector<std::string> command;
  // Watching for deadlocks makes the agent keep each thread's current call in a shared slot
  // (docs/tracing.md); kIgnore turns that off.
  OnDeadlock on_deadlock = OnDeadlock::kReport;
};

// Runs the guest and returns the exit status futexbox should exit with.
int run_program(const RunOptions& options);

}  // namespace futexbox::tools
