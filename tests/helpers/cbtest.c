/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cbtest: the one static program the engine tests run inside containers (like crun's
 * tests/init.c). Each subcommand does one small, predictable thing:
 *
 *   exit N              exit with status N
 *   crash segv|abort|fpe   die of SIGSEGV, SIGABRT or SIGFPE
 *   log N               lines "out 1", "err 2", "out 3"...: odd ones on stdout, even ones
 *                       on stderr, each flushed before the next
 *   random              a random number every second, forever
 *   ignore-term         ignore SIGTERM, print "ready", sleep forever
 *   memhog              allocate and touch 1 MiB at a time until killed
 *   zombies N           leave N orphaned zombies under PID 1, print "ready", sleep
 *   fds                 one line per open descriptor: "N -> TARGET"
 *   caps                the Cap* lines of /proc/self/status
 *   pid                 getpid()
 *   sysloop [N]         getppid() in a loop (N times, or forever)
 *   write-files DIR N   create DIR/file-1 ... DIR/file-N, small files
 *   syscall NAME...     make each call below (harmless arguments) and print "NAME OK" or
 *                       "NAME ERRNO" (EPERM...): what a seccomp filter lets through
 *   keyring             the description of our session keyring ("keyring;UID;GID;PERM;NAME")
 *   keyring-search DESC whether a "user" key DESC is reachable from our session keyring:
 *                       "found" or "not found"
 *   keyring-new DESC DATA CMD...   (on the host) join a new session keyring, add the user
 *                       key DESC=DATA to it and exec CMD: what a container must not see
 *   udp-echo PORT       send every UDP datagram to PORT back where it came from, forever
 *   sink PORT           accept TCP connections on PORT, one at a time, forever: read each
 *                       to its end, then answer the byte count ("N\n") and close
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/personality.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, "cbtest: %s: %s\n", what, strerror(errno));
  exit(2);
}

static long num(const char *s) {
  char *end;
  errno = 0;
  long n = strtol(s, &end, 10);
  if (errno || end == s || *end || n < 0) {
    fprintf(stderr, "cbtest: not a number: %s\n", s);
    exit(2);
  }
  return n;
}

static _Noreturn void sleep_forever(void) {
  for (;;)
    pause();
}

static int cmd_crash(const char *how) {
  if (!strcmp(how, "segv")) {
    volatile int *p = NULL;
    *p = 1;
  } else if (!strcmp(how, "abort")) {
    abort();
  } else if (!strcmp(how, "fpe")) {
    /* Both operands volatile: gcc turns 1 / x into compares that never fault. */
    volatile int one = 1, zero = 0;
    printf("%d\n", one / zero);
  }
  /* The signal was not raised by the fault (handled, blocked?): send it ourselves. */
  int sig = !strcmp(how, "segv") ? SIGSEGV : !strcmp(how, "abort") ? SIGABRT : SIGFPE;
  signal(sig, SIG_DFL);
  raise(sig);
  return 3;
}

static int cmd_log(long n) {
  for (long i = 1; i <= n; i++) {
    FILE *f = i % 2 ? stdout : stderr;
    fprintf(f, "%s %ld\n", i % 2 ? "out" : "err", i);
    fflush(f);
  }
  return 0;
}

static _Noreturn void cmd_random(void) {
  for (;;) {
    unsigned v = 0;
    if (getrandom(&v, sizeof v, 0) < 0)
      v = (unsigned)rand();
    printf("%u\n", v % 32768);
    fflush(stdout);
    sleep(1);
  }
}

static int cmd_ignore_term(void) {
  signal(SIGTERM, SIG_IGN);
  printf("ready\n");
  fflush(stdout);
  sleep_forever();
}

static _Noreturn void cmd_memhog(void) {
  const size_t chunk = 1 << 20;
  for (size_t total = 0;; total += chunk) {
    char *p = malloc(chunk);
    if (!p) {
      usleep(10000);
      continue;
    }
    for (size_t i = 0; i < chunk; i += 4096)
      p[i] = 1;
    if ((total >> 20) % 16 == 0) {
      printf("%zu MiB\n", total >> 20);
      fflush(stdout);
    }
  }
}

/* A child forks n grandchildren and exits: they become PID 1's children, then exit once the
 * child is gone (EOF on a pipe only the child held open). We wait until each is a zombie
 * or reaped, so "ready" means the zombies exist (or PID 1 reaped them already). */
static int cmd_zombies(long n) {
  int hold[2], report[2];
  if (pipe(hold) < 0 || pipe(report) < 0)
    die("pipe");
  pid_t child = fork();
  if (child < 0)
    die("fork");
  if (child == 0) {
    close(hold[0]);
    close(report[0]);
    for (long i = 0; i < n; i++) {
      pid_t g = fork();
      if (g < 0)
        die("fork");
      if (g == 0) {
        char c;
        close(hold[1]);
        close(report[1]);
        while (read(hold[0], &c, 1) > 0)
          ;
        _exit(0);
      }
      if (write(report[1], &g, sizeof g) != sizeof g)
        die("write");
    }
    _exit(0);
  }
  close(hold[0]);
  close(hold[1]);
  close(report[1]);
  pid_t pids[4096];
  long got = 0;
  while (got < n && got < 4096 && read(report[0], &pids[got], sizeof pids[0]) == sizeof pids[0])
    got++;
  close(report[0]);
  waitpid(child, NULL, 0);
  for (long i = 0; i < got; i++) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pids[i]);
    for (;;) {
      int fd = open(path, O_RDONLY);
      if (fd < 0)
        break; /* reaped */
      ssize_t r = read(fd, buf, sizeof buf - 1);
      close(fd);
      buf[r > 0 ? r : 0] = '\0';
      char *rp = strrchr(buf, ')');
      if (!rp || rp[2] == 'Z' || rp[2] == 'X')
        break;
      usleep(1000);
    }
  }
  printf("ready\n");
  fflush(stdout);
  sleep_forever();
}

static int cmd_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    die("opendir /proc/self/fd");
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
      continue;
    char path[300], target[4096];
    snprintf(path, sizeof path, "/proc/self/fd/%s", de->d_name);
    ssize_t n = readlink(path, target, sizeof target - 1);
    target[n > 0 ? n : 0] = '\0';
    printf("%s -> %s\n", de->d_name, target);
  }
  closedir(d);
  return 0;
}

static int cmd_caps(void) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f)
    die("open /proc/self/status");
  char line[256];
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "Cap", 3))
      fputs(line, stdout);
  fclose(f);
  return 0;
}

static int cmd_sysloop(long n) {
  for (long i = 0; n < 0 || i < n; i++)
    getppid();
  return 0;
}

static int cmd_write_files(const char *dir, long n) {
  if (mkdir(dir, 0755) < 0 && errno != EEXIST)
    die(dir);
  for (long i = 1; i <= n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/file-%ld", dir, i);
    FILE *f = fopen(path, "w");
    if (!f)
      die(path);
    fprintf(f, "file %ld\n", i);
    if (fclose(f) != 0)
      die(path);
  }
  return 0;
}

/* One call each, with arguments that do no harm when it is allowed. */
static long try_call(const char *name) {
  if (!strcmp(name, "unshare-user"))
    return unshare(CLONE_NEWUSER);
  if (!strcmp(name, "unshare-mount"))
    return unshare(CLONE_NEWNS);
  if (!strcmp(name, "clone-newuser")) {
    /* clone(2) itself with a namespace flag: seccomp checks its flags argument. */
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
    if (pid == 0)
      _exit(0);
    if (pid > 0)
      waitpid((pid_t)pid, NULL, 0);
    return pid < 0 ? -1 : 0;
  }
  if (!strcmp(name, "mount-tmpfs")) {
    mkdir("/tmp/.cbtest-mnt", 0700);
    long r = mount("none", "/tmp/.cbtest-mnt", "tmpfs", 0, NULL);
    if (r == 0)
      umount("/tmp/.cbtest-mnt");
    return r;
  }
  if (!strcmp(name, "keyctl"))
    return syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0, 0, 0);
  if (!strcmp(name, "bpf"))
    return syscall(SYS_bpf, 0xffff, NULL, 0); /* an unknown command: EINVAL when allowed */
  if (!strcmp(name, "perf_event_open"))
    return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); /* EFAULT when allowed */
  if (!strcmp(name, "personality-query"))
    return syscall(SYS_personality, 0xffffffffUL);
  if (!strcmp(name, "personality-bsd"))
    return syscall(SYS_personality, 6UL); /* PER_BSD: not in Docker's list */
  if (!strcmp(name, "reboot"))
    return syscall(SYS_reboot, 0, 0, 0, NULL); /* bad magic: EINVAL when allowed */
  if (!strcmp(name, "getppid"))
    return syscall(SYS_getppid);
  if (!strcmp(name, "mkdir")) {
    long r = syscall(SYS_mkdir, "/tmp/.cbtest-dir", 0700);
    if (r == 0)
      rmdir("/tmp/.cbtest-dir");
    return r;
  }
  if (!strcmp(name, "uname")) {
    struct utsname u;
    return syscall(SYS_uname, &u);
  }
  if (!strcmp(name, "getcpu")) {
    unsigned cpu;
    return syscall(SYS_getcpu, &cpu, NULL, NULL);
  }
  if (!strcmp(name, "fchmodat2")) /* newer than Docker 20.10's profile: ENOSYS there */
    return syscall(452, AT_FDCWD, "/tmp", 01777, 0);
  fprintf(stderr, "cbtest: unknown call %s\n", name);
  exit(2);
}

static int cmd_syscall(char **names) {
  for (; *names; names++) {
    errno = 0;
    long r = try_call(*names);
    const char *e = strerrorname_np(errno);
    printf("%s %s\n", *names, r >= 0 ? "OK" : e ? e : "?");
  }
  return 0;
}

static int cmd_keyring(void) {
  char desc[512];
  long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, KEY_SPEC_SESSION_KEYRING, desc, sizeof desc - 1);
  if (n < 0)
    die("describe the session keyring");
  desc[n < (long)sizeof desc ? n : (long)sizeof desc - 1] = '\0';
  printf("%s\n", desc);
  return 0;
}

static int cmd_keyring_search(const char *what) {
  long k = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", what, 0);
  if (k < 0 && errno != ENOKEY)
    die("search the session keyring");
  printf("%s\n", k < 0 ? "not found" : "found");
  return 0;
}

static int cmd_keyring_new(const char *desc, const char *data, char **argv) {
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0)
    die("join a new session keyring");
  if (syscall(SYS_add_key, "user", desc, data, strlen(data), KEY_SPEC_SESSION_KEYRING) < 0)
    die("add_key");
  execvp(argv[0], argv);
  die(argv[0]);
  return 2;
}

static _Noreturn void cmd_udp_echo(long port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    die("udp-echo");
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    char buf[65536];
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &len);
    if (n >= 0)
      sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, len);
  }
}

static _Noreturn void cmd_sink(long port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 16) < 0)
    die("sink");
  printf("ready\n");
  fflush(stdout);
  static char buf[1 << 20];
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0)
      continue;
    long long total = 0;
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0)
      total += n;
    dprintf(c, "%lld\n", total);
    close(c);
  }
}

static int usage(void) {
  fputs("Usage: cbtest exit N | crash segv|abort|fpe | log N | random | ignore-term | memhog |\n"
        "              zombies N | fds | caps | pid | sysloop [N] | write-files DIR N |\n"
        "              syscall NAME... | keyring | keyring-search DESC |\n"
        "              keyring-new DESC DATA CMD... | udp-echo PORT | sink PORT\n",
        stderr);
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return usage();
  const char *c = argv[1];
  int nargs = argc - 2;
  if (!strcmp(c, "exit") && nargs == 1)
    return (int)num(argv[2]);
  if (!strcmp(c, "crash") && nargs == 1)
    return cmd_crash(argv[2]);
  if (!strcmp(c, "log") && nargs == 1)
    return cmd_log(num(argv[2]));
  if (!strcmp(c, "random") && nargs == 0)
    cmd_random();
  if (!strcmp(c, "ignore-term") && nargs == 0)
    return cmd_ignore_term();
  if (!strcmp(c, "memhog") && nargs == 0)
    cmd_memhog();
  if (!strcmp(c, "zombies") && nargs == 1)
    return cmd_zombies(num(argv[2]));
  if (!strcmp(c, "fds") && nargs == 0)
    return cmd_fds();
  if (!strcmp(c, "caps") && nargs == 0)
    return cmd_caps();
  if (!strcmp(c, "pid") && nargs == 0)
    return printf("%d\n", (int)getpid()) < 0;
  if (!strcmp(c, "sysloop") && nargs <= 1)
    return cmd_sysloop(nargs ? num(argv[2]) : -1);
  if (!strcmp(c, "write-files") && nargs == 2)
    return cmd_write_files(argv[2], num(argv[3]));
  if (!strcmp(c, "syscall") && nargs >= 1)
    return cmd_syscall(argv + 2);
  if (!strcmp(c, "keyring") && nargs == 0)
    return cmd_keyring();
  if (!strcmp(c, "keyring-search") && nargs == 1)
    return cmd_keyring_search(argv[2]);
  if (!strcmp(c, "sink") && nargs == 1)
    cmd_sink(num(argv[2]));
  if (!strcmp(c, "udp-echo") && nargs == 1)
    cmd_udp_echo(num(argv[2]));
  if (!strcmp(c, "keyring-new") && nargs >= 3)
    return cmd_keyring_new(argv[2], argv[3], argv + 4);
  return usage();
}
