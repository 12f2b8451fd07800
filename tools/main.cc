// The futexbox command. Subcommands:
//   demo       run a multi-threaded in-process workload through the wait table and report it
//   syscalls   print the syscall table (--format=table|json|markdown)
// Usage errors print a message and exit with status 2.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <string>

#include "tools/demo.h"
#include "tools/syscalls_command.h"

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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    // --help and --version are successes; everything else is a usage error.
    return rc == 0 ? 0 : kUsageError;
  }
  if (*demo_cmd) return run_demo_command(demo, demo_json);
  if (*syscalls_cmd) {
    std::fputs(futexbox::tools::format_syscall_table(syscalls_format).c_str(), stdout);
    return 0;
  }
  return kUsageError;
}
