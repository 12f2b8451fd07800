#include "tools/commands/run_report.h"

#include <fmt/format.h>
#include <string.h>

#include <nlohmann/json.hpp>

namespace futexbox::tools {
namespace {

std::uint64_t load(const std::atomic<std::uint64_t>& v) { return v.load(std::memory_order_relaxed); }

bool used(const OpCounters& c) { return load(c.served) + load(c.forwarded) > 0; }

std::string signal_name(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev != nullptr ? std::string("SIG") + abbrev : fmt::format("signal {}", sig);
}

}  // namespace

std::string format_run_summary(const RunStatsPage& stats, const GuestExit& exit) {
  std::uint64_t served = 0;
  std::uint64_t forwarded = 0;
  std::string rows;
  for (std::size_t i = 0; i < kOpSlots; ++i) {
    const OpCounters& c = stats.ops[i];
    if (!used(c)) continue;
    served += load(c.served);
    forwarded += load(c.forwarded);
    rows += fmt::format("{:<50} {:>10} {:>10} {:>9} {:>9} {:>9} {:>7}\n", syscalls::futex_slot_name(i),
                        load(c.served), load(c.forwarded), load(c.waits), load(c.woken),
                        load(c.timeouts), load(c.eintr));
  }
  std::string out = fmt::format("futexbox run: {} futex calls served, {} forwarded to the host\n",
                                served, forwarded);
  out += fmt::format("{:<50} {:>10} {:>10} {:>9} {:>9} {:>9} {:>7}\n", "op", "served",
                     "forwarded", "waits", "woken", "timeouts", "eintr");
  out += rows.empty() ? "(no futex calls)\n" : rows;
  out += fmt::format("threads seen: {}, processes: {}", load(stats.threads), load(stats.processes));
  if (const std::uint64_t refused = load(stats.exec_refused); refused > 0) {
    out += fmt::format(", execs refused: {}", refused);
  }
  out += exit.signal ? fmt::format("; guest killed by {}\n", signal_name(*exit.signal))
                     : fmt::format("; guest exit status {}\n", exit.exit_status);
  return out;
}

std::string format_run_json(const RunStatsPage& stats, const GuestExit& exit) {
  nlohmann::ordered_json served = nlohmann::ordered_json::object();
  nlohmann::ordered_json forwarded = nlohmann::ordered_json::object();
  nlohmann::ordered_json ops = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < kOpSlots; ++i) {
    const OpCounters& c = stats.ops[i];
    if (!used(c)) continue;
    const std::string name = syscalls::futex_slot_name(i);
    if (load(c.served) > 0) served[name] = load(c.served);
    if (load(c.forwarded) > 0) forwarded[name] = load(c.forwarded);
    ops[name] = {{"served", load(c.served)},     {"forwarded", load(c.forwarded)},
                 {"waits", load(c.waits)},       {"woken", load(c.woken)},
                 {"timeouts", load(c.timeouts)}, {"eintr", load(c.eintr)}};
  }
  nlohmann::ordered_json j;
  j["served"] = std::move(served);
  j["forwarded"] = std::move(forwarded);
  j["ops"] = std::move(ops);
  j["threads"] = load(stats.threads);
  j["processes"] = load(stats.processes);
  j["exec_refused"] = load(stats.exec_refused);
  j["exit_status"] = exit.exit_status;
  j["signal"] = exit.signal ? nlohmann::ordered_json(signal_name(*exit.signal))
                            : nlohmann::ordered_json(nullptr);
  return j.dump(2) + "\n";
}

}  // namespace futexbox::tools
