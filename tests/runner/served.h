// Running a command natively and under `futexbox run --stats-json`, and the checks every
// end-to-end test makes of the pair: the same stdout and exit status, the futex calls served, no
// private op forwarded to the host. Shared by tests/runner and tests/realworld.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/runner/process.h"

namespace futexbox::testing {

struct Served {
  Finished run;
  nlohmann::json stats;  // --stats-json's document; null if none was written
};

// `command` under `futexbox run --stats-json FILE --`; `spec`'s argv is replaced.
Served run_served(const std::vector<std::string>& command, RunSpec spec = {});
Finished run_native(const std::vector<std::string>& command, RunSpec spec = {});

// Calls served in all, and of one op.
std::uint64_t total_served(const Served& s);
std::uint64_t served(const Served& s, const std::string& op);
// A field ("waits", "woken", ...) of one op's counters.
std::uint64_t op_field(const Served& s, const std::string& op, const std::string& field);

// No private op may have gone to the host: those are futexbox's to serve.
void expect_private_ops_served(const nlohmann::json& stats);

// Same stdout and exit as natively, at least `min_served` calls served, and no private op
// forwarded. Returns the served run.
Served expect_same_as_native(const std::vector<std::string>& command,
                             std::uint64_t min_served = 1, RunSpec spec = {});

}  // namespace futexbox::testing
