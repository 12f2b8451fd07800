#include "tools/launch/launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

#include "tools/protocol/agent_env.h"
#include "tools/protocol/image_probe.h"
#include "tools/protocol/run_stats.h"
#include "tools/protocol/shared_file.h"

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
constexpr char kShell[] = "/bin/sh";  // what execvp runs a file with when execve says ENOEXEC

int refuse(const std::string& message) { return refuse_to_run(g_name, message); }

// AddressSanitizer refuses to start unless its runtime is the first library in the link map,
// which a preloaded agent never lets it be. The agent defines none of the functions ASan
// interposes (malloc, free, ...), so ASan's still come before libc's: its check is switched off
// (appended, so it overrides only that one option of the guest's own ASAN_OPTIONS).
constexpr char kAsanOptions[] = "ASAN_OPTIONS=";
constexpr char kAsanAgentOption[] = "verify_asan_link_order=0";

// futexbox's environment, with the agent first in LD_PRELOAD and the stats page named; any
// protocol variable futexbox itself was given (a futexbox inside a guest) is not passed on.
std::vector<std::string> guest_environment(const std::string& agent, const std::string& audit,
                                           const std::string& stats, bool large_static_tls) {
  // The lists that start with futexbox's entry, the guest's own after it: LD_PRELOAD the agent,
  // LD_AUDIT the audit module (if there is one), GLIBC_TUNABLES the static TLS an image that
  // links ThreadSanitizer needs beside the audit module (protocol/image_probe.h). An empty
  // `ours` leaves the guest's variable as it is.
  struct ListVariable {
    std::string prefix;  // "NAME="
    std::string ours;
    std::string value;   // what goes into the environment
  };
  ListVariable lists[] = {
      {std::string(agent_env::kPreload) + "=", agent, ""},
      {std::string(agent_env::kAudit) + "=", audit, ""},
      {std::string(agent_env::kTunables) + "=",
       large_static_tls && !audit.empty() ? kLargeStaticTlsTunable : "", ""}};
  for (ListVariable& list : lists) list.value = list.ours.empty() ? "" : list.prefix + list.ours;
  std::vector<std::string> env;
  std::string asan_options = std::string(kAsanOptions) + kAsanAgentOption;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    bool carried = false;
    for (const char* name : agent_env::kCarried) carried |= entry.rfind(std::string(name) + "=", 0) == 0;
    ListVariable* list = nullptr;
    for (ListVariable& l : lists) {
      if (!l.ours.empty() && entry.rfind(l.prefix, 0) == 0) list = &l;
    }
    if (list != nullptr) {
      if (entry.size() > list->prefix.size()) list->value += ":" + entry.substr(list->prefix.size());
    } else if (entry.rfind(kAsanOptions, 0) == 0) {
      asan_options = entry + ":" + kAsanAgentOption;
    } else if (!carried) {
      env.push_back(entry);
    }
  }
  for (const ListVariable& list : lists) {
    if (!list.value.empty()) env.push_back(list.value);
  }
  env.push_back(asan_options);
  env.push_back(std::string(agent_env::kStats) + "=" + stats);
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

}  // namespace

int refuse_to_run(const std::string& name, const std::string& message) {
  std::fprintf(stderr, "futexbox %s: %s\n", name.c_str(), message.c_str());
  return kRunRefused;
}

std::string default_agent_path() {
  if (const char* env = std::getenv(agent_env::kAgentLibrary); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "libfutexbox-agent.so";
  return (exe.parent_path().parent_path() / "lib" / "libfutexbox-agent.so").string();
}

int launch_guest(const LaunchOptions& options, std::span<RunObserver* const> observers) {
  g_name = options.name.c_str();
  if (options.command.empty()) return refuse("no PROGRAM given (see futexbox run --help)");
  const std::string agent_given = options.agent.empty() ? default_agent_path() : options.agent;
  std::error_code ec;
  const std::filesystem::path agent = std::filesystem::canonical(agent_given, ec);
  if (ec) return refuse("cannot find the agent library " + agent_given + ": " + ec.message());

  const std::string& name = options.command.front();
  std::optional<std::string> program = find_program(name);
  if (!program) return refuse(name + ": command not found");
  // A file futexbox cannot execute is a refusal (exit 2), not the 127 of a failed exec.
  if (access(program->c_str(), X_OK) != 0) {
    return refuse("cannot execute " + *program + ": " + std::strerror(errno));
  }
  std::vector<std::string> command = options.command;
  ImageProbe probe = probe_image(AT_FDCWD, program->c_str(), false);
  if (probe.verdict == ImageVerdict::kNotExecutable) {
    // An executable file that is neither ELF nor #! script: execvp and shells run it with
    // /bin/sh (execve says ENOEXEC), and so does futexbox.
    command.insert(command.begin(), kShell);
    command[1] = *program;
    program = kShell;
    probe = probe_image(AT_FDCWD, kShell, false);
  }
  if (probe.verdict != ImageVerdict::kLoadsAgent) {
    std::string subject = probe.subject;
    if (subject != *program) subject = *program + " (interpreter " + subject + ")";
    return refuse(subject + " " + image_verdict_reason(probe.verdict));
  }

  RunStatsFile stats = RunStatsFile::create();
  // The audit module beside the agent, if it is there (an --agent built elsewhere may lack one:
  // its images then depend on their constructors making no trapped call, as before).
  const std::filesystem::path audit = agent.parent_path() / agent_env::kAuditLibraryName;
  std::vector<std::string> env = guest_environment(
      agent.string(), std::filesystem::exists(audit, ec) ? audit.string() : "", stats.path(),
      probe.needs_large_static_tls);
  for (RunObserver* observer : observers) observer->add_environment(env);
  std::vector<char*> envp;
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  std::vector<char*> argv;
  for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  // Block the forwarded signals across fork so none is lost between the fork and the handlers.
  sigset_t forwarded;
  sigset_t previous;
  sigemptyset(&forwarded);
  for (const int sig : kForwarded) sigaddset(&forwarded, sig);
  sigprocmask(SIG_BLOCK, &forwarded, &previous);
  const pid_t supervisor = getpid();
  const pid_t child = fork();
  if (child < 0) {
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    return refuse(std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    // The guest does not outlive futexbox unnoticed: if futexbox dies, even of SIGKILL, the
    // guest's main process is killed too (the guest's own children are not: docs/runner.md).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != supervisor) _exit(128 + SIGKILL);  // futexbox died before the prctl
    execve(program->c_str(), argv.data(), envp.data());
    std::fprintf(stderr, "futexbox %s: cannot execute %s: %s\n", g_name, program->c_str(),
                 std::strerror(errno));
    _exit(127);
  }
  g_child = child;
  for (RunObserver* observer : observers) observer->started(child);
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
  for (RunObserver* observer : observers) observer->finished(exit, *stats.page());
  std::fflush(stderr);
  if (exit.signal) {
    SharedFile::remove_created();  // the run counters and any trace: destructors will not run
    die_like(*exit.signal);
  }
  return exit.exit_status;
}

}  // namespace futexbox::tools
