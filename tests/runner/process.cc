#include "tests/runner/process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace futexbox::testing {

bool Finished::exited() const { return WIFEXITED(status); }
int Finished::exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
int Finished::signal() const { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }
std::string Finished::describe() const {
  std::string s = exited() ? "exit " + std::to_string(exit_code())
                           : "signal " + std::to_string(signal());
  return s + "\n--- stdout ---\n" + out.substr(0, 4000) + "\n--- stderr ---\n" + err.substr(0, 4000);
}

Finished run_process(const RunSpec& spec) {
  int out[2], err[2], in[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 || pipe2(in, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe");
  }
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  for (const auto& e : spec.extra_env) env.push_back(e);
  std::vector<char*> envp, argv;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork");
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    setpgid(0, 0);  // its own group, so a timeout can kill everything it started
    if (spec.cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(spec.cpu, &set);
      sched_setaffinity(0, sizeof set, &set);
    }
    execvpe(argv[0], argv.data(), envp.data());
    dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  // Feed stdin (small inputs only; large ones go through files) and close it.
  if (!spec.stdin_data.empty()) {
    const ssize_t n = write(in[1], spec.stdin_data.data(), spec.stdin_data.size());
    (void)n;
  }
  close(in[1]);

  Finished f;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  const auto deadline = start + spec.timeout;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(-pid, SIGKILL);
      f.err += "\n[timed out]\n";
      break;
    }
    if (poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[65536];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      (i == 0 ? f.out : f.err).append(buf, static_cast<std::size_t>(n));
      if (i == 0 && spec.on_output) spec.on_output(pid, f.out);
    }
  }
  for (auto& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  while (waitpid(pid, &f.status, 0) < 0 && errno == EINTR) {
  }
  f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return f;
}

}  // namespace futexbox::testing
