/*
 * The benchmark's trace wrapper (scripts/_bench/clients.ts): given to podman or
 * containerd as the runtime's path, it runs the real runtime (REAL, fixed at
 * compile time: conmon and the shim scrub the environment) as its child with the
 * same argv and fds, waits for it, and appends one line to LOG: wall µs, user µs,
 * sys µs, exit status, then the argv, tab-separated. It passes the exit status on.
 * Its own cost (one fork and exec of this small program) is the same for every
 * runtime; the benchmark measures and states it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

int main(int argc, char **argv) {
  (void)argc;
  long long t0 = now_us();
  pid_t pid = fork();
  if (pid < 0) return 125;
  if (pid == 0) {
    argv[0] = REAL;
    execv(REAL, argv);
    _exit(127);
  }
  int status = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  while (wait4(pid, &status, 0, &ru) < 0) {}
  long long wall = now_us() - t0;
  char line[8192];
  int n = snprintf(line, sizeof line, "%lld\t%lld\t%lld\t%d", wall, ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec, ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  for (int i = 1; argv[i] && n < (int)sizeof line - 2; i++) n += snprintf(line + n, sizeof line - n, "\t%s", argv[i]);
  if (n > (int)sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  int fd = open(LOG, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd >= 0) {
    if (write(fd, line, n) < 0) {}
    close(fd);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
