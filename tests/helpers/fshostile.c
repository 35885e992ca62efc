/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fshostile: the hostile side of the filesystem tools' tests (cp, diff, export, rm), run
 * inside a container. Each subcommand does one thing a shell cannot:
 *
 *   deep DIR N [NAME]   mkdir DIR, then N times mkdir NAME (default "d") and chdir into it:
 *                       a chain of N nested folders, deeper than any path string can name
 *   jail DIR            (as PID 1) chroot into DIR, print "jailed", sleep forever
 *   swapnodes DIR TARGET  watch DIR (inotify) and replace every new name in it by a
 *                       symlink to TARGET, as fast as it can, until killed: races whatever
 *                       a copy does to a name after creating it
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "fshostile: %s: %s\n", what, strerror(errno));
  exit(2);
}

static long num(const char *s) {
  char *end;
  errno = 0;
  long n = strtol(s, &end, 10);
  if (errno || end == s || *end || n < 0) {
    fprintf(stderr, "fshostile: not a number: %s\n", s);
    exit(2);
  }
  return n;
}

static int cmd_deep(const char *dir, long n, const char *name) {
  if (mkdir(dir, 0755) < 0 && errno != EEXIST)
    die("mkdir");
  if (chdir(dir) < 0)
    die("chdir");
  for (long i = 0; i < n; i++) {
    if (mkdir(name, 0755) < 0 && errno != EEXIST)
      die("mkdir");
    if (chdir(name) < 0)
      die("chdir");
  }
  return 0;
}

static _Noreturn void cmd_jail(const char *dir) {
  if (chroot(dir) < 0)
    die("chroot");
  if (chdir("/") < 0)
    die("chdir");
  printf("jailed\n");
  fflush(stdout);
  for (;;)
    pause();
}

static _Noreturn void cmd_swapnodes(const char *dir, const char *target) {
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  if (dfd < 0)
    die("open");
  int in = inotify_init1(0);
  if (in < 0 || inotify_add_watch(in, dir, IN_CREATE | IN_MOVED_TO) < 0)
    die("inotify");
  printf("watching\n");
  fflush(stdout);
  char buf[64 * 1024] __attribute__((aligned(8)));
  for (unsigned long k = 0;;) {
    ssize_t r = read(in, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      die("read");
    }
    for (ssize_t off = 0; off < r;) {
      struct inotify_event *ev = (struct inotify_event *)(buf + off);
      off += (ssize_t)(sizeof *ev + ev->len);
      /* Our own symlinks (".swap-*") come back as events: leave them. */
      if (!ev->len || !strncmp(ev->name, ".swap-", 6))
        continue;
      char tmp[64];
      snprintf(tmp, sizeof tmp, ".swap-%lu", k++);
      if (symlinkat(target, dfd, tmp) == 0 && renameat(dfd, tmp, dfd, ev->name) < 0)
        unlinkat(dfd, tmp, 0);
    }
  }
}

int main(int argc, char **argv) {
  if (argc >= 4 && !strcmp(argv[1], "deep"))
    return cmd_deep(argv[2], num(argv[3]), argc > 4 ? argv[4] : "d");
  if (argc == 3 && !strcmp(argv[1], "jail"))
    cmd_jail(argv[2]);
  if (argc == 4 && !strcmp(argv[1], "swapnodes"))
    cmd_swapnodes(argv[2], argv[3]);
  fprintf(stderr, "usage: fshostile deep DIR N [NAME] | jail DIR | swapnodes DIR TARGET\n");
  return 2;
}
