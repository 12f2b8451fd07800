// A signal handler must still run after the guest spawned a program with posix_spawn (a vfork
// child exec'ing on the parent's thread), and after vfork + execve.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include "guest_util.h"

extern char** environ;
static volatile sig_atomic_t handled;

static void on_usr1(int sig) {
  (void)sig;
  handled++;
}

static int check_handler_runs(const char* after) {
  const int before = handled;
  raise(SIGUSR1);
  printf("after %s: handler %s\n", after, handled == before + 1 ? "ran" : "did NOT run");
  return handled == before + 1;
}

int main(void) {
  signal(SIGUSR1, on_usr1);
  int ok = check_handler_runs("nothing");
  char* argv[] = {"/bin/true", NULL};
  pid_t child;
  if (posix_spawn(&child, "/bin/true", NULL, NULL, argv, environ) != 0) return 2;
  int status;
  waitpid(child, &status, 0);
  ok &= check_handler_runs("posix_spawn");
  child = vfork();
  if (child == 0) {
    execve("/bin/true", argv, environ);
    _exit(127);
  }
  waitpid(child, &status, 0);
  ok &= check_handler_runs("vfork+execve");
  if (system("true") != 0) return 2;
  ok &= check_handler_runs("system");
  return ok ? 0 : 1;
}
