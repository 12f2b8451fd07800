// The bounded run of the differential fuzzer in the suite; FUTEXBOX_FUZZ_SEEDS and
// FUTEXBOX_FUZZ_OPS make it longer.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/fuzz/differential.h"

namespace futexbox::fuzz {
namespace {

int env_or(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : fallback;
}

TEST(Differential, HostAndFutexboxAgreeOnRandomCallSequences) {
  const int seeds = env_or("FUTEXBOX_FUZZ_SEEDS", 200);
  const int ops = env_or("FUTEXBOX_FUZZ_OPS", 500);
  for (int seed = 1; seed <= seeds; ++seed) {
    RandomChoices choices(static_cast<std::uint64_t>(seed));
    const std::string difference = run_differential(choices, ops);
    ASSERT_EQ(difference, "") << "seed " << seed;
  }
}

}  // namespace
}  // namespace futexbox::fuzz
