// exec: the new image is served again (it gets the agent back), even when the guest execs with an
// empty environment; a failed exec returns to the caller; exec from a multi-threaded process.
#include <fcntl.h>
#include <sys/wait.h>
#include "guest_util.h"

static long counter;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static void* counting(void* arg) {
  (void)arg;
  for (int i = 0; i < 20000; ++i) {
    pthread_mutex_lock(&m);
    ++counter;
    if (i % 5000 == 0) usleep(1000);  // contention even on one CPU
    pthread_mutex_unlock(&m);
  }
  return NULL;
}

static int work(const char* who) {
  pthread_t t[3];
  for (int i = 0; i < 3; ++i) pthread_create(&t[i], NULL, counting, NULL);
  for (int i = 0; i < 3; ++i) pthread_join(t[i], NULL);
  printf("%s: counter %ld\n", who, counter);
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
