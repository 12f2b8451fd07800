#include "tools/run_command.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include "tools/image_probe.h"
#include "tools/shared_file.h"
#include "tools/trace_collector.h"
#include "tools/trace_file.h"
#include "tools/run_report.h"
#include "tools/run_stats.h"

extern char** environ;

namespace futexbox::tools {
namespace {

volatile sig_atomic_t g_child = 0;

// Signals a user sends to futexbox are meant for the guest. The terminal's own (SI_KERNEL: Ctrl-C,
// Ctrl-\, a hangup) already reach the guest, which is in the same foreground process group, so
// those are not sent twice.
constexpr int kForwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

void forward_signal(int sig, siginfo_t* info, void*) {
  if (info != nullptr && info->si_code == SI_KERNEL) return;
  if (g_child > 0) kill(g_child, sig);
}

std::optional<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return std::nullopt;
}

const char* g_name = "run";  // the subcommand messages are from

int refuse(const std::string& message) {
  std::fprintf(stderr, "futexbox %s: %s\n", g_name, message.c_str());
  return kRunRefused;
}

std::vector<std::string> guest_environment(const std::string& agent, const std::string& stats) {
  std::vector<std::string> env;
  std::string preload = "LD_PRELOAD=" + agent;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (entry.rfind("LD_PRELOAD=", 0) == 0) {
      if (entry.size() > 11) preload += ":" + entry.substr(11);
    } else if (entry.rfind("FUTEXBOX_AGENT_STATS=", 0) != 0) {
      env.push_back(entry);
    }
  }
  env.push_back(preload);
  env.push_back("FUTEXBOX_AGENT_STATS=" + stats);
  return env;
}

[[noreturn]] void die_like(int sig) {
  // The guest already dumped core if it was going to; futexbox must not add its own.
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  kill(getpid(), sig);
  _exit(128 + sig);  // a signal whose default action does not terminate
}

int run_guest(const RunOptions& options, RunObserver* observer);

}  // namespace

std::string default_agent_path() {
  if (const char* env = std::getenv("FUTEXBOX_AGENT"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "libfutexbox-agent.so";
  return (exe.parent_path().parent_path() / "lib" / "libfutexbox-agent.so").string();
}

std::optional<OnDeadlock> parse_on_deadlock(const std::string& text) {
  if (text == "report") return OnDeadlock::kReport;
  if (text == "abort") return OnDeadlock::kAbort;
  if (text == "ignore") return OnDeadlock::kIgnore;
  return std::nullopt;
}

int run_program(const RunOptions& options) {
  if (options.observer != nullptr || options.on_deadlock == OnDeadlock::kIgnore) {
    return run_guest(options, options.observer);
  }
  // The deadlock watch alone: no events, only each thread's current call in its slot, which
  // futexbox looks at every 20 ms (one record per slot: the rings go unused).
  TraceFile file = TraceFile::create(kTraceCallState, TraceFile::kDefaultSlots, 1);
  AddressNamer names;
  CollectorOptions collect;
  collect.tool = "futexbox " + options.name;
  collect.on_deadlock = options.on_deadlock;
  collect.keep_events = false;
  collect.interval = std::chrono::milliseconds(20);
  TraceCollector watch(file, names, collect, [](const GuestExit&, std::vector<TraceEvent>&, pid_t) {});
  return run_guest(options, &watch);
}

namespace {

int run_guest(const RunOptions& options, RunObserver* observer) {
  g_name = options.name.c_str();
  if (options.command.empty()) return refuse("no PROGRAM given (see futexbox run --help)");
  const std::string agent_given = options.agent.empty() ? default_agent_path() : options.agent;
  std::error_code ec;
  const std::filesystem::path agent = std::filesystem::canonical(agent_given, ec);
  if (ec) return refuse("cannot find the agent library " + agent_given + ": " + ec.message());

  const std::string& name = options.command.front();
  const std::optional<std::string> program = find_program(name);
  if (!program) return refuse(name + ": command not found");
  const ImageProbe probe = probe_image(AT_FDCWD, program->c_str(), false);
  if (probe.verdict != ImageVerdict::kLoadsAgent) {
    std::string subject = probe.subject;
    if (subject != *program) subject = *program + " (interpreter " + subject + ")";
    return refuse(subject + " " + image_verdict_reason(probe.verdict));
  }

  // Open the JSON file now: a path that cannot be written is a usage error, not a surprise after
  // the guest has run.
  std::ofstream json_out;
  if (!options.stats_json.empty()) {
    json_out.open(options.stats_json);
    if (!json_out) return refuse("cannot write --stats-json file " + options.stats_json);
  }

  RunStatsFile stats = RunStatsFile::create();
  std::vector<std::string> env = guest_environment(agent.string(), stats.path());
  if (observer != nullptr) observer->add_environment(env);
  std::vector<char*> envp;
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (const std::string& a : options.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  // Block the forwarded signals across fork so none is lost between the fork and the handlers.
  sigset_t forwarded;
  sigset_t previous;
  sigemptyset(&forwarded);
  for (const int sig : kForwarded) sigaddset(&forwarded, sig);
  sigprocmask(SIG_BLOCK, &forwarded, &previous);
  const pid_t child = fork();
  if (child < 0) {
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    return refuse(std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    execve(program->c_str(), argv.data(), envp.data());
    std::fprintf(stderr, "futexbox %s: cannot execute %s: %s\n", g_name, program->c_str(),
                 std::strerror(errno));
    _exit(127);
  }
  g_child = child;
  if (observer != nullptr) observer->started(child);
  struct sigaction sa {};
  sa.sa_sigaction = &forward_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (const int sig : kForwarded) sigaction(sig, &sa, nullptr);
  sigprocmask(SIG_SETMASK, &previous, nullptr);

  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return refuse(std::string("waitpid: ") + std::strerror(errno));
  }
  GuestExit exit;
  if (WIFSIGNALED(status)) {
    exit.signal = WTERMSIG(status);
    exit.exit_status = 128 + WTERMSIG(status);
  } else {
    exit.exit_status = WEXITSTATUS(status);
  }
  if (observer != nullptr) observer->finished(exit);
  if (options.stats) std::fputs(format_run_summary(*stats.page(), exit).c_str(), stderr);
  if (json_out.is_open()) {
    json_out << format_run_json(*stats.page(), exit);
    json_out.close();
    if (!json_out) {
      std::fprintf(stderr, "futexbox run: cannot write %s\n", options.stats_json.c_str());
    }
  }
  std::fflush(stderr);
  if (exit.signal) {
    SharedFile::remove_created();  // the run counters and any trace: destructors will not run
    die_like(*exit.signal);
  }
  return exit.exit_status;
}

}  // namespace

}  // namespace futexbox::tools
