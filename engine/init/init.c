/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar-init: the tiny init that `run --init` puts at PID 1 (like tini/docker-init).
 *
 *   crowbar-init -- PROGRAM [ARG...]
 *
 * A shell or a server at PID 1 gets no default signal handlers from the kernel, so
 * SIGTERM does nothing to it, and nobody reaps its orphans. This init runs PROGRAM as its
 * child, forwards every signal it can catch to it, reaps every zombie, and exits with
 * PROGRAM's status (128+N when a signal N killed it). It is static and loaded from the
 * host (execveat on a descriptor): nothing is copied into the container. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int first = 1;
  if (argc > 1 && !strcmp(argv[1], "--"))
    first = 2;
  if (first >= argc) {
    fprintf(stderr, "Usage: crowbar-init -- PROGRAM [ARG...]\n");
    return 1;
  }
  prctl(PR_SET_NAME, "crowbar-init", 0, 0, 0);
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t child = fork();
  if (child < 0) {
    perror("crowbar-init: fork");
    return 125;
  }
  if (child == 0) {
    setpgid(0, 0);
    for (int sig = 1; sig < _NSIG; sig++)
      signal(sig, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    execv(argv[first], argv + first);
    fprintf(stderr, "crowbar-init: exec %s: %s\n", argv[first], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0)
      continue;
    if (sig != SIGCHLD) {
      /* Forward to the child (and nothing else: job-control stops make no sense here). */
      if (sig != SIGTSTP && sig != SIGTTIN && sig != SIGTTOU)
        kill(child, sig);
      continue;
    }
    /* Reap every zombie; when the child is among them, its status is ours. */
    for (;;) {
      int status;
      pid_t p = waitpid(-1, &status, WNOHANG);
      if (p <= 0)
        break;
      if (p == child) {
        /* The others die with us (PID namespace): exit now. */
        if (WIFEXITED(status))
          return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
          return 128 + WTERMSIG(status);
        return 255;
      }
    }
  }
}
