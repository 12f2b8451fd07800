// The launcher: everything `futexbox run` and `futexbox trace` share about starting a guest. It
// finds and vets PROGRAM (a dynamically linked x86-64 image that can load the agent), creates the
// run-stats page every agent of the guest counts into, starts the guest with the agent preloaded
// (tools/protocol/agent_env.h), forwards the signals a user sends futexbox, waits, and propagates
// the guest's exit: its status, or its terminating signal, re-raised on futexbox after removing
// futexbox's temporary files (core dumps are left to the guest), as strace and qemu-user do.
//
// Commands compose it with RunObservers: the deadlock watch and trace collector
// (tools/trace/collector.h) and `run --stats`'s report (tools/commands/run_command.cc).
#pragma once

#include <sys/types.h>

#include <span>
#include <string>
#include <vector>

#include "tools/launch/guest_exit.h"
#include "tools/protocol/run_stats.h"

namespace futexbox::tools {

// Hooks for what a command adds to a launch: more environment for the guest, and its start and
// end. finished() runs in order of the observers, before futexbox leaves (even when it then
// dies of the guest's signal), with the run counters as every guest process left them.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void add_environment(std::vector<std::string>& /*env*/) {}
  virtual void started(pid_t /*guest*/) {}
  virtual void finished(const GuestExit& exit, const RunStatsPage& stats) = 0;
};

struct LaunchOptions {
  std::string name = "run";  // the subcommand, for messages: "futexbox run: ..."
  std::string agent;         // the agent library; default: default_agent_path()
  std::vector<std::string> command;
};

// Exit status when futexbox refuses to start a guest (usage, a program that cannot be found or
// run, a static or set-ID program, a missing agent).
inline constexpr int kRunRefused = 2;

// Prints "futexbox NAME: MESSAGE" on stderr and returns kRunRefused.
int refuse_to_run(const std::string& name, const std::string& message);

// Runs the guest and returns the exit status futexbox should exit with (after re-raising a
// terminating signal, if the guest died of one, which does not return).
int launch_guest(const LaunchOptions& options, std::span<RunObserver* const> observers);

// Where the agent is when not given: $FUTEXBOX_AGENT, else ../lib/libfutexbox-agent.so relative to
// the futexbox executable (the build tree and the installed layout agree on that).
std::string default_agent_path();

}  // namespace futexbox::tools
