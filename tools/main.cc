// The futexbox command. Subcommands:
//   run        run a Linux program with its futex calls served by futexbox (the main job)
//   trace      run a Linux program and print its futex calls as strace would
//   demo       run a multi-threaded in-process workload through the wait table and report it
//   syscalls   print the syscall table (--format=table|json|markdown)
// Usage errors print a message and exit with status 2.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "tools/commands/demo.h"
#include "tools/commands/run_command.h"
#include "tools/commands/trace_command.h"
#include "tools/commands/syscalls_command.h"

namespace {

constexpr int kUsageError = 2;

int run_demo_command(const futexbox::tools::DemoOptions& options, bool json) {
  const futexbox::tools::DemoReport report = futexbox::tools::run_demo(options);
  std::fputs(futexbox::tools::format_demo_report(options, report, json).c_str(), stdout);
  return report.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"futexbox: a futex subsystem for OS emulators and sandboxes", "futexbox"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "futexbox 0.1.0");

  futexbox::tools::RunOptions run;
  CLI::App* run_cmd = app.add_subcommand(
      "run",
      "Run PROGRAM natively with its private futex calls served by futexbox's kernel (the "
      "sharded wait table on the parking lot) through a preloaded agent; shared futex calls go "
      "to the host kernel unchanged");
  run_cmd->add_flag("--stats", run.stats,
                    "At exit, print per futex op (strace's spelling) the calls served and "
                    "forwarded, waits, threads woken, timeouts and EINTRs, and the threads and "
                    "processes seen, on stderr");
  run_cmd->add_option("--stats-json", run.stats_json,
                      "At exit, write the same as one JSON object to FILE: {\"served\": {op: "
                      "calls}, \"forwarded\": {op: calls}, \"ops\": {op: {served, forwarded, "
                      "waits, woken, timeouts, eintr}}, \"threads\", \"processes\", "
                      "\"exec_refused\", \"exit_status\", \"signal\"}")
      ->type_name("FILE");
  // One help text for run and trace: the same watch (tools/trace/deadlock_watch.h) serves both.
  const char* on_deadlock_help =
      "When every thread of a guest process has been stuck for 300 ms in futex waits without a "
      "timeout, or PI lock owners wait for each other: report (print each thread, the word it "
      "waits on and who last woke or owns it; the default), abort (report and kill the guest), "
      "or ignore";
  std::string run_on_deadlock = "report";
  run_cmd->add_option("--on-deadlock", run_on_deadlock,
                      std::string(on_deadlock_help) +
                          ". Watching costs about 15-30 ns per futex call (docs/tracing.md)")
      ->check(CLI::IsMember({"report", "abort", "ignore"}));
  run_cmd->add_option("--agent", run.agent,
                      "The agent library to preload (default: $FUTEXBOX_AGENT, else "
                      "../lib/libfutexbox-agent.so beside the futexbox binary)")
      ->type_name("PATH");
  run_cmd->footer(
      "PROGRAM must be a dynamically linked x86-64 program; static and set-ID programs are "
      "refused (the agent is loaded by the dynamic loader through LD_PRELOAD). Every process the "
      "guest forks or execs is served too and counted in the one summary.\n"
      "Exit status: the guest's; a guest killed by a signal kills futexbox with the same signal. "
      "2 if futexbox refuses to start PROGRAM or the options are wrong.\n"
      "Signals sent to futexbox (SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2) are passed to "
      "the guest. See docs/runner.md.");
  // Everything from PROGRAM on belongs to PROGRAM, options included.
  run_cmd->prefix_command();

  futexbox::tools::TraceOptions trace;
  CLI::App* trace_cmd = app.add_subcommand(
      "trace",
      "Run PROGRAM as `run` does and print every futex-family call it makes, served or "
      "forwarded, as `strace -f -e trace=futex` would");
  trace_cmd->add_option("-o,--output", trace.output,
                        "Write the trace to FILE instead of stderr (each line then starts with "
                        "its thread id, as with strace -f -o)")
      ->type_name("FILE");
  trace_cmd->add_flag("-T", trace.durations, "Show the time spent in each call");
  trace_cmd->add_flag("-t", trace.timestamps,
                      "Prefix each line with the time of day; -tt adds microseconds, -ttt prints "
                      "seconds since the epoch");
  trace_cmd->add_option("-e", trace.expressions,
                        "Filter: trace=futex (the default), status=failed|successful, "
                        "op=NAME[,NAME...] (futex ops in strace's spelling, e.g. "
                        "FUTEX_WAIT_PRIVATE)")
      ->type_name("EXPR")
      // One value per -e, so the PROGRAM that follows is not taken for another.
      ->allow_extra_args(false);
  trace_cmd->add_flag("-c,--summary", trace.summary,
                      "Instead of the calls, print per futex op the calls, errors and time spent "
                      "(like strace -c), then the futex words with the most total wait time: "
                      "waits, waiting and waking threads, p50/p99/max wait, and a name (symbol, "
                      "mapped file, [heap], [stack:PID])");
  trace_cmd->add_option("--format", trace.format,
                        "strace (the default), or chrome: Chrome Trace Event JSON for "
                        "ui.perfetto.dev or chrome://tracing (a slice per call, an arrow from each "
                        "waker to each thread it woke, waiter counters for the hottest words)")
      ->check(CLI::IsMember({"strace", "chrome"}));
  trace_cmd->add_option("--report", trace.report,
                        "Also write one self-contained HTML page (opens offline in any browser): "
                        "the per-op table, the contention table with wait-time histograms, and a "
                        "timeline of waits with an arrow from each waker to each thread it woke. "
                        "The calls are then printed only if -o, -c or --format asks for them")
      ->type_name("FILE.html");
  std::string trace_on_deadlock = "report";
  trace_cmd->add_option("--on-deadlock", trace_on_deadlock, on_deadlock_help)
      ->check(CLI::IsMember({"report", "abort", "ignore"}));
  trace_cmd->add_option("--agent", trace.agent, "The agent library to preload (as for run)")
      ->type_name("PATH");
  trace_cmd->footer(
      "Exit status: the guest's, as for run; 2 for bad options or a program futexbox refuses. "
      "Events a full buffer could not hold are reported on stderr (events dropped: N). See "
      "docs/tracing.md.");
  trace_cmd->prefix_command();

  futexbox::tools::DemoOptions demo;
  bool demo_json = false;
  CLI::App* demo_cmd =
      app.add_subcommand("demo", "Run producers and consumers through the 512-slot wait table "
                                 "and print what it served (exit 1 if a check fails)");
  demo_cmd->add_option("-p,--producers", demo.producers, "Producer threads")
      ->check(CLI::Range(1, 256));
  demo_cmd->add_option("-c,--consumers", demo.consumers, "Consumer threads")
      ->check(CLI::Range(1, 256));
  demo_cmd->add_option("-n,--items", demo.items, "Items to pass through the ring")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32));
  demo_cmd->add_option("--capacity", demo.capacity, "Ring capacity")->check(CLI::Range(1, 1 << 20));
  demo_cmd->add_flag("--json", demo_json, "Print the report as one JSON object");

  std::string syscalls_format = "table";
  CLI::App* syscalls_cmd = app.add_subcommand(
      "syscalls", "Print the syscall table: number, name, support level (full, partial, none), note");
  syscalls_cmd->add_option("--format", syscalls_format, "table, json or markdown")
      ->check(CLI::IsMember({"table", "json", "markdown"}));

  // `futexbox run [OPTIONS] -- PROGRAM...`: what follows `--` is the program, untouched. (CLI11's
  // prefix command stops at the first positional but rejects one that follows `--`.)
  std::vector<std::string> after_dashes;
  bool has_dashes = false;
  if (argc > 1 && (std::string(argv[1]) == "run" || std::string(argv[1]) == "trace")) {
    for (int i = 2; i < argc; ++i) {
      if (std::string(argv[i]) != "--") continue;
      has_dashes = true;
      after_dashes.assign(argv + i + 1, argv + argc);
      argc = i;
      break;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    // --help and --version are successes; everything else is a usage error.
    return rc == 0 ? 0 : kUsageError;
  }
  // run and trace: PROGRAM and its arguments are what CLI11 left over, or what followed `--`.
  auto run_guest_command = [&](CLI::App* cmd, std::vector<std::string>& command,
                               const std::function<int()>& go) {
    command = cmd->remaining();
    if (has_dashes) {
      if (!command.empty()) {
        std::fprintf(stderr, "futexbox %s: unexpected %s before --\n", cmd->get_name().c_str(),
                     command.front().c_str());
        return kUsageError;
      }
      command = after_dashes;
    }
    try {
      return go();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "futexbox %s: %s\n", cmd->get_name().c_str(), e.what());
      return kUsageError;
    }
  };
  if (*run_cmd) {
    run.on_deadlock = *futexbox::tools::parse_on_deadlock(run_on_deadlock);  // checked above
    return run_guest_command(run_cmd, run.command, [&] { return futexbox::tools::run_program(run); });
  }
  if (*trace_cmd) {
    trace.on_deadlock = *futexbox::tools::parse_on_deadlock(trace_on_deadlock);  // checked above
    return run_guest_command(trace_cmd, trace.command,
                             [&] { return futexbox::tools::trace_program(trace); });
  }
  if (*demo_cmd) return run_demo_command(demo, demo_json);
  if (*syscalls_cmd) {
    std::fputs(futexbox::tools::format_syscall_table(syscalls_format).c_str(), stdout);
    return 0;
  }
  return kUsageError;
}
