// futexbox_run_bench: what `futexbox run` costs a real process, beside the same process run
// natively and under `strace -f -e trace=futex` (what people use today to watch futexes), in one
// run. Every case spawns whole processes, so the time is manual:
//   RunWakeNoWaiters[Pinned]/{native,futexbox_run}   ns per FUTEX_WAKE_PRIVATE with no waiters,
//                                                    measured inside the guest's loop
//   FutexHeavy[Pinned]/{native,futexbox_run,strace}  wall time of guests/futex_heavy
//   Xz/{native,futexbox_run}                         wall time of xz -T2 on a generated file
// Pinned variants run the process on CPU 0 only (taskset semantics). Sizes come from the
// environment so that the suite's smoke run stays short: FUTEXBOX_BENCH_WAKES (default 1000000),
// FUTEXBOX_BENCH_ROUNDS (20000), FUTEXBOX_BENCH_XZ_MB (50). tests/bench/runner_report.py turns
// the JSON into the table in docs/performance.md.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/runner/process.h"

namespace {

using futexbox::testing::Finished;
using futexbox::testing::RunSpec;

const std::string kFutexbox = FUTEXBOX_BIN;
const std::string kGuests = FUTEXBOX_GUEST_DIR;

long env_or(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::atol(v) : fallback;
}

enum class Mode { kNative, kServed, kServedUnwatched, kTraced, kStrace };

std::vector<std::string> wrap(Mode mode, std::vector<std::string> command) {
  std::vector<std::string> argv;
  if (mode == Mode::kServed) argv = {kFutexbox, "run", "--"};
  if (mode == Mode::kServedUnwatched) argv = {kFutexbox, "run", "--on-deadlock=ignore", "--"};
  if (mode == Mode::kTraced) argv = {kFutexbox, "trace", "-o", "/dev/null", "--"};
  if (mode == Mode::kStrace) argv = {"strace", "-f", "-qq", "-e", "trace=futex", "-o", "/dev/null"};
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

Finished run_checked(Mode mode, const std::vector<std::string>& command, bool pinned,
                     benchmark::State& state) {
  RunSpec spec;
  spec.argv = wrap(mode, command);
  spec.cpu = pinned ? 0 : -1;
  spec.timeout = std::chrono::seconds(600);
  Finished f = futexbox::testing::run_process(spec);
  if (f.exit_code() != 0) state.SkipWithError(("failed: " + f.describe()).c_str());
  return f;
}

void WakeNoWaiters(benchmark::State& state, Mode mode, bool pinned) {
  const long n = env_or("FUTEXBOX_BENCH_WAKES", 1000000);
  for (auto _ : state) {
    const Finished f = run_checked(mode, {kGuests + "/wake_loop", std::to_string(n)}, pinned, state);
    const std::size_t at = f.out.find("ns_per_call ");
    if (at == std::string::npos) {
      state.SkipWithError("no ns_per_call in the guest's output");
      break;
    }
    const double ns = std::stod(f.out.substr(at + 12));
    state.SetIterationTime(ns * 1e-9);  // the reported time is the cost of one call
  }
}

void FutexHeavy(benchmark::State& state, Mode mode, bool pinned) {
  const long rounds = env_or("FUTEXBOX_BENCH_ROUNDS", 20000);
  for (auto _ : state) {
    const Finished f =
        run_checked(mode, {kGuests + "/futex_heavy", std::to_string(rounds)}, pinned, state);
    state.SetIterationTime(f.seconds);
  }
}

const std::string& xz_input() {
  // Removed at exit by its destructor (an atexit handler registered while `path` was still being
  // initialized would run after the string was gone, and leaked the file).
  struct TempFile {
    std::string path;
    ~TempFile() { std::filesystem::remove(path); }
  };
  static const TempFile file = [] {
    const long mb = env_or("FUTEXBOX_BENCH_XZ_MB", 50);
    const std::string p = (std::filesystem::temp_directory_path() /
                           ("futexbox-xz-input." + std::to_string(getpid())))
                              .string();
    std::ofstream out(p, std::ios::binary);
    std::uint64_t x = 88172645463325252ull;
    std::string line;
    for (long written = 0; written < mb * 1024 * 1024; written += static_cast<long>(line.size())) {
      line.clear();
      for (int i = 0; i < 12; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        line += std::to_string(x % 100000) + (i % 3 == 0 ? " futex " : " ");
      }
      line += '\n';
      out << line;
    }
    return TempFile{p};
  }();
  return file.path;
}

void Xz(benchmark::State& state, Mode mode) {
  const std::string& input = xz_input();
  for (auto _ : state) {
    const Finished f = run_checked(mode, {"xz", "-T2", "-c", input}, false, state);
    state.SetIterationTime(f.seconds);
  }
}

void register_all() {
  const struct {
    const char* name;
    Mode mode;
  } modes[] = {{"native", Mode::kNative},
               {"futexbox_run", Mode::kServed},
               {"futexbox_run_unwatched", Mode::kServedUnwatched},
               {"futexbox_trace", Mode::kTraced},
               {"strace", Mode::kStrace}};
  for (const bool pinned : {false, true}) {
    const std::string suffix = pinned ? "Pinned" : "";
    for (const auto& m : modes) {
      if (m.mode != Mode::kStrace && m.mode != Mode::kTraced) {
        benchmark::RegisterBenchmark(("RunWakeNoWaiters" + suffix + "/" + m.name).c_str(),
                                     WakeNoWaiters, m.mode, pinned)
            ->UseManualTime()
            ->Unit(benchmark::kNanosecond)
            ->Iterations(3);
      }
      benchmark::RegisterBenchmark(("FutexHeavy" + suffix + "/" + m.name).c_str(), FutexHeavy,
                                   m.mode, pinned)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->Iterations(1);
    }
  }
  for (const auto& m : modes) {
    if (m.mode == Mode::kStrace || m.mode == Mode::kTraced) continue;
    benchmark::RegisterBenchmark((std::string("Xz/") + m.name).c_str(), Xz, m.mode)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
