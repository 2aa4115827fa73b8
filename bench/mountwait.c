// mountwait MOUNTPOINT TIMEOUT_MS COMMAND [ARG...]
//
// Runs COMMAND (its stdout goes to stderr) and polls stat(MOUNTPOINT) until the
// answer comes from another filesystem than MOUNTPOINT's parent (st_dev differs),
// then prints the milliseconds from fork to that answer, waits for COMMAND to exit
// (the mount commands measured daemonize) and exits 0. Exits 1 if COMMAND fails
// or the timeout passes. Built by bench/mount.sh: cc -O2 -o mountwait mountwait.c
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double ms_since(const struct timespec* t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int failed(int status) { return !WIFEXITED(status) || WEXITSTATUS(status) != 0; }

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: mountwait MOUNTPOINT TIMEOUT_MS COMMAND [ARG...]\n");
    return 2;
  }
  const char* mnt = argv[1];
  const double timeout_ms = atof(argv[2]);
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s/..", mnt);
  struct stat ps, ms;
  if (stat(parent, &ps) != 0 || stat(mnt, &ms) != 0) {
    perror(mnt);
    return 1;
  }
  if (ms.st_dev != ps.st_dev) {
    fprintf(stderr, "mountwait: %s is already a mountpoint\n", mnt);
    return 1;
  }
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  const pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    dup2(2, 1);
    execvp(argv[3], argv + 3);
    perror(argv[3]);
    _exit(127);
  }
  int status = 0, exited = 0;
  const struct timespec nap = {0, 20000}; // 20 us: do not starve the mount command of CPU
  for (;;) {
    if (stat(mnt, &ms) == 0 && ms.st_dev != ps.st_dev) {
      break;
    }
    if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
      exited = 1;
      if (failed(status)) {
        fprintf(stderr, "mountwait: %s failed\n", argv[3]);
        return 1;
      }
    }
    if (ms_since(&t0) > timeout_ms) {
      fprintf(stderr, "mountwait: %s is not mounted after %.0f ms\n", mnt, timeout_ms);
      return 1;
    }
    nanosleep(&nap, NULL);
  }
  const double ready = ms_since(&t0);
  if (!exited && (waitpid(pid, &status, 0) != pid || failed(status))) {
    fprintf(stderr, "mountwait: %s failed after the mount appeared\n", argv[3]);
    return 1;
  }
  printf("%.3f\n", ready);
  return 0;
}
