// exec: the new image is served again (it gets the agent back), even when the guest execs with an
// empty environment; a failed exec returns to the caller; exec from a multi-threaded process.
#include <fcntl.h>
#include <sys/wait.h>
#include "guest_util.h"

static int work(const char* who) {
  printf("%s: counter %ld\n", who, count_with_contention(3));
  return 0;
}

static void* idle(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

int main(int argc, char** argv) {
  if (argc > 1) return work(argv[1]);
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  check(n > 0, "readlink");
  self[n] = '\0';
  printf("failed exec: %s\n", outcome(execl("/nonexistent/program", "x", (char*)NULL)));
  fflush(stdout);
  int status;
  pid_t pid = fork();
  if (pid == 0) {
    char* empty_env[] = {NULL};
    execle(self, self, "child with an empty environment", (char*)NULL, empty_env);
    _exit(127);
  }
  waitpid(pid, &status, 0);
  pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", "exec \"$0\" 'child through a shell script'", self, (char*)NULL);
    _exit(127);
  }
  waitpid(pid, &status, 0);
  // fexecve: execveat(fd, "", ..., AT_EMPTY_PATH), judged by the descriptor.
  pid = fork();
  if (pid == 0) {
    const int fd = open(self, O_RDONLY | O_CLOEXEC);
    char* args[] = {self, "child through fexecve", NULL};
    extern char** environ;
    fexecve(fd, args, environ);
    _exit(127);
  }
  waitpid(pid, &status, 0);
  // Finally, exec from a process with other threads running.
  pthread_t t;
  pthread_create(&t, NULL, idle, NULL);
  execl(self, self, "exec'd from a threaded process", (char*)NULL);
  return 1;
}
