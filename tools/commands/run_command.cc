#include "tools/commands/run_command.h"

#include <cstdio>
#include <fstream>

#include "tools/commands/run_report.h"
#include "tools/launch/launcher.h"
#include "tools/protocol/trace_file.h"
#include "tools/trace/address_names.h"
#include "tools/trace/collector.h"

namespace futexbox::tools {
namespace {

// --stats and --stats-json: the counters every guest process's agent left in the stats page.
class StatsReport final : public RunObserver {
 public:
  StatsReport(bool table, std::ofstream* json, std::string json_path)
      : table_(table), json_(json), json_path_(std::move(json_path)) {}

  void finished(const GuestExit& exit, const RunStatsPage& stats) override {
    if (table_) std::fputs(format_run_summary(stats, exit).c_str(), stderr);
    if (json_ == nullptr) return;
    *json_ << format_run_json(stats, exit);
    json_->close();
    if (!*json_) std::fprintf(stderr, "futexbox run: cannot write %s\n", json_path_.c_str());
  }

 private:
  bool table_;
  std::ofstream* json_;
  std::string json_path_;
};

}  // namespace

int run_program(const RunOptions& options) {
  LaunchOptions launch;
  launch.name = "run";
  launch.agent = options.agent;
  launch.command = options.command;
  // Open the JSON file now: a path that cannot be written is a usage error, not a surprise after
  // the guest has run.
  std::ofstream json_out;
  if (!options.stats_json.empty()) {
    json_out.open(options.stats_json);
    if (!json_out) return refuse_to_run("run", "cannot write --stats-json file " + options.stats_json);
  }
  StatsReport report(options.stats, json_out.is_open() ? &json_out : nullptr, options.stats_json);
  if (options.on_deadlock == OnDeadlock::kIgnore) {
    RunObserver* const observers[] = {&report};
    return launch_guest(launch, observers);
  }
  // The deadlock watch alone: no events, only each thread's current call in its slot, which
  // futexbox looks at every 20 ms (one record per slot: the rings go unused).
  TraceFile file = TraceFile::create(kTraceCallState, TraceFile::kDefaultSlots, 1);
  AddressNamer names;
  CollectorOptions collect;
  collect.tool = "futexbox run";
  collect.on_deadlock = options.on_deadlock;
  collect.keep_events = false;
  collect.interval = std::chrono::milliseconds(20);
  TraceCollector watch(file, names, collect, [](const GuestExit&, std::vector<TraceEvent>&, pid_t) {});
  RunObserver* const observers[] = {&watch, &report};
  return launch_guest(launch, observers);
}

}  // namespace futexbox::tools
