/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/util.h"

int cb_read_file_at(int dirfd, const char *path, char **out, size_t *len, cb_error_t *err) {
  cleanup_close int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return cb_error_sys(err, "open `%s`", path);
  size_t cap = 4096, n = 0;
  cleanup_free char *buf = xmalloc(cap);
  for (;;) {
    if (n + 1 >= cap) {
      cap *= 2;
      buf = xrealloc(buf, cap);
    }
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return cb_error_sys(err, "read `%s`", path);
    }
    if (r == 0)
      break;
    n += r;
  }
  buf[n] = '\0';
  if (len)
    *len = n;
  *out = steal_pointer(&buf);
  return 0;
}

int cb_read_file(const char *path, char **out, size_t *len, cb_error_t *err) {
  return cb_read_file_at(AT_FDCWD, path, out, len, err);
}

int cb_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t r = write(fd, p, len);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += r;
    len -= r;
  }
  return 0;
}

int cb_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                            cb_error_t *err) {
  char tmp[PATH_MAX];
  const char *slash = strrchr(name, '/');
  if (slash)
    snprintf(tmp, sizeof tmp, "%.*s/.%s.tmp.%d", (int)(slash - name), name, slash + 1, getpid());
  else
    snprintf(tmp, sizeof tmp, ".%s.tmp.%d", name, getpid());
  /* A new file, never through a symlink: a temporary name left by a killed writer with
   * the same PID goes first. */
  if (unlinkat(dirfd, tmp, 0) < 0 && errno != ENOENT)
    return cb_error_sys(err, "remove `%s`", tmp);
  cleanup_close int fd =
      openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0)
    return cb_error_sys(err, "create `%s`", tmp);
  /* An exact modification time (not the file system's coarse clock), so that readers
   * that cache by (inode, mtime, size) see every rewrite. */
  struct timespec now, times[2] = {{0, UTIME_OMIT}, {0, 0}};
  clock_gettime(CLOCK_REALTIME, &now);
  times[1] = now;
  if (cb_write_all(fd, data, len) < 0 || futimens(fd, times) < 0 || fsync(fd) < 0) {
    int e = errno;
    unlinkat(dirfd, tmp, 0);
    errno = e;
    return cb_error_sys(err, "write `%s`", name);
  }
  if (renameat(dirfd, tmp, dirfd, name) < 0) {
    int e = errno;
    unlinkat(dirfd, tmp, 0);
    errno = e;
    return cb_error_sys(err, "rename `%s`", name);
  }
  /* Make the rename durable. */
  cleanup_close int dfd = -1;
  if (slash) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - name), name);
    dfd = openat(dirfd, dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } else {
    dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  if (dfd >= 0)
    fsync(dfd);
  return 0;
}

int cb_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                         cb_error_t *err) {
  return cb_write_file_atomic_at(AT_FDCWD, path, data, len, mode, err);
}

int cb_write_string(const char *path, const char *s, cb_error_t *err) {
  cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return cb_error_sys(err, "open `%s`", path);
  if (cb_write_all(fd, s, strlen(s)) < 0)
    return cb_error_sys(err, "write `%s` to `%s`", s, path);
  return 0;
}

int cb_mkdir_p(const char *path, mode_t mode, cb_error_t *err) {
  /* Most of the time the parents exist: one call. */
  if (mkdir(path, mode) == 0 || errno == EEXIST)
    return 0;
  if (errno != ENOENT)
    return cb_error_sys(err, "mkdir `%s`", path);
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return cb_error_make(err, ENAMETOOLONG, "mkdir `%s`", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
      return cb_error_sys(err, "mkdir `%s`", buf);
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST)
    return cb_error_sys(err, "mkdir `%s`", buf);
  return 0;
}

char *cb_path_abbrev(const char *path, size_t max) {
  size_t n = strlen(path);
  if (max < 16)
    max = 16;
  if (n <= max)
    return xstrdup(path);
  size_t head = (max - 3) / 2, tail = max - 3 - head;
  return xasprintf("%.*s...%s", (int)head, path, path + n - tail);
}

int cb_random_id(char *buf, cb_error_t *err) {
  unsigned char raw[CB_ID_LEN / 2];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return cb_error_sys(err, "getrandom");
    }
    got += r;
  }
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < sizeof raw; i++) {
    buf[2 * i] = hex[raw[i] >> 4];
    buf[2 * i + 1] = hex[raw[i] & 15];
  }
  buf[CB_ID_LEN] = '\0';
  /* Docker never hands out an all-digit short ID: it would read as a number. */
  bool digits = true;
  for (int i = 0; i < CB_SHORT_ID_LEN; i++)
    if (!isdigit((unsigned char)buf[i]))
      digits = false;
  if (digits)
    return cb_random_id(buf, err);
  return 0;
}

bool cb_is_hex(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
      return false;
  return true;
}

int64_t cb_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t cb_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int cb_parse_long(const char *s, long *out) {
  if (!s || !*s)
    return -1;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || end == s)
    return -1;
  *out = v;
  return 0;
}

int cb_parse_int(const char *s, int *out) {
  long v;
  if (cb_parse_long(s, &v) < 0 || v < INT_MIN || v > INT_MAX)
    return -1;
  *out = (int)v;
  return 0;
}

int cb_parse_bytes(const char *s, int64_t *out) {
  /* go-units RAMInBytes: ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$, binary multiples. */
  if (!s || !isdigit((unsigned char)*s))
    return -1;
  const char *p = s;
  while (isdigit((unsigned char)*p))
    p++;
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p))
      return -1;
    while (isdigit((unsigned char)*p))
      p++;
  }
  char num[64];
  if ((size_t)(p - s) >= sizeof num)
    return -1;
  memcpy(num, s, (size_t)(p - s));
  num[p - s] = '\0';
  double v = strtod(num, NULL);
  if (*p == ' ')
    p++;
  double mult = 1;
  switch (tolower((unsigned char)*p)) {
  case 'k':
    mult = 1024.0;
    p++;
    break;
  case 'm':
    mult = 1024.0 * 1024;
    p++;
    break;
  case 'g':
    mult = 1024.0 * 1024 * 1024;
    p++;
    break;
  case 't':
    mult = 1024.0 * 1024 * 1024 * 1024;
    p++;
    break;
  case 'p':
    mult = 1024.0 * 1024 * 1024 * 1024 * 1024;
    p++;
    break;
  default: break;
  }
  if (*p == 'i' || *p == 'I')
    p++;
  if (*p == 'b' || *p == 'B')
    p++;
  if (*p)
    return -1;
  double r = v * mult;
  if (!isfinite(r) || r > 9.2e18)
    return -1;
  *out = (int64_t)r;
  return 0;
}

size_t cb_strv_len(char *const *v) {
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

char **cb_strv_dup(char *const *v) {
  size_t n = cb_strv_len(v);
  char **r = xcalloc(n + 1, sizeof *r);
  for (size_t i = 0; i < n; i++)
    r[i] = xstrdup(v[i]);
  return r;
}

void cb_strv_free(char **v) {
  if (!v)
    return;
  for (char **p = v; *p; p++)
    free(*p);
  free(v);
}

void cb_strv_append(char ***v, const char *s) {
  size_t n = cb_strv_len(*v);
  *v = xrealloc(*v, (n + 2) * sizeof **v);
  (*v)[n] = xstrdup(s);
  (*v)[n + 1] = NULL;
}

bool cb_str_has_prefix(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool cb_str_has_suffix(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static const struct {
  const char *name;
  int sig;
} signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

int cb_signal_parse(const char *s) {
  if (!s || !*s)
    return -1;
  int n;
  if (cb_parse_int(s, &n) == 0)
    return (n > 0 && n < _NSIG) ? n : -1;
  if (strncasecmp(s, "SIG", 3) == 0)
    s += 3;
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (strcasecmp(s, signals[i].name) == 0)
      return signals[i].sig;
  if (strncasecmp(s, "RTMIN", 5) == 0) {
    int off = 0;
    if (s[5] == '+' && cb_parse_int(s + 6, &off) < 0)
      return -1;
    if ((s[5] && s[5] != '+') || off < 0 || off > SIGRTMAX - SIGRTMIN)
      return -1;
    return SIGRTMIN + off;
  }
  if (strncasecmp(s, "RTMAX", 5) == 0) {
    int off = 0;
    if (s[5] == '-' && cb_parse_int(s + 6, &off) < 0)
      return -1;
    if ((s[5] && s[5] != '-') || off < 0 || off > SIGRTMAX - SIGRTMIN)
      return -1;
    return SIGRTMAX - off;
  }
  return -1;
}

const char *cb_signal_name(int sig) {
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (signals[i].sig == sig)
      return signals[i].name;
  return NULL;
}

int cb_cloexec_from(int from) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, from, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */) == 0)
    return 0;
#endif
  cleanup_dir DIR *d = opendir("/proc/self/fd");
  if (!d)
    return -1;
  struct dirent *de;
  while ((de = readdir(d))) {
    int fd;
    if (cb_parse_int(de->d_name, &fd) < 0 || fd < from || fd == dirfd(d))
      continue;
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0)
      fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
  }
  return 0;
}

void cb_ignore_sigpipe(void) {
  signal(SIGPIPE, SIG_IGN);
}

int cb_close_stdout(void) {
  int failed = 0;
  errno = 0;
  if (fflush(stdout) != 0 || ferror(stdout))
    failed = 1;
  int e = errno;
  if (fclose(stdout) != 0 && !failed && errno != EBADF) {
    failed = 1;
    e = errno;
  }
  if (failed) {
    if (e == EPIPE)
      return 0;
    fprintf(stderr, "Error: write error: %s\n", e ? strerror(e) : "unknown");
    return -1;
  }
  return 0;
}

int cb_getopt_long(int argc, char *const *argv, const char *optstring,
                   const struct option *longopts, int *longindex) {
  int c = getopt_long(argc, argv, optstring, longopts, longindex);
  /* A short option's value attached to it ("-e=A") starts inside the argument that held
   * the option, right after the option's letter; pflag drops the '=' there. */
  if (c > 0 && c <= CHAR_MAX && optarg && optind > 0 && optind <= argc) {
    const char *arg = argv[optind - 1];
    if (optarg > arg && optarg <= arg + strlen(arg) && optarg[-1] == c && optarg[0] == '=')
      optarg++;
  }
  return c;
}

int cb_opt_error(const char *verb, char *const *argv, int c) {
  extern int optind, optopt;
  const char *arg = optind > 0 ? argv[optind - 1] : "";
  if (c == ':')
    fprintf(stderr, "Error: flag needs an argument: %s\n", arg);
  else if (optopt && !cb_str_has_prefix(arg, "--"))
    fprintf(stderr, "Error: unknown shorthand flag: '%c' in %s\n", optopt, arg);
  else
    fprintf(stderr, "Error: unknown flag: %.*s\n", (int)strcspn(arg, "="), arg);
  fprintf(stderr, "See 'crowbar %s --help'.\n", verb);
  return 125;
}

static char *clean_path(const char *name, bool clamp) {
  size_t len = strlen(name);
  char *out = xmalloc(len + 2);
  size_t n = 0;
  const char *p = name;
  while (*p) {
    while (*p == '/')
      p++;
    if (!*p)
      break;
    const char *end = strchrnul(p, '/');
    size_t l = (size_t)(end - p);
    if (l == 1 && p[0] == '.') {
      /* skip */
    } else if (l == 2 && p[0] == '.' && p[1] == '.') {
      if (n == 0) {
        if (clamp)
          goto next; /* ".." at the top stays at the top */
        free(out);
        return NULL;
      }
      while (n > 0 && out[n - 1] != '/')
        n--;
      if (n > 0)
        n--; /* the separator */
    } else {
      if (n > 0)
        out[n++] = '/';
      memcpy(out + n, p, l);
      n += l;
    }
  next:
    p = end;
  }
  if (n == 0 && !clamp)
    out[n++] = '.';
  out[n] = '\0';
  return out;
}

char *cb_path_clean(const char *name) {
  return clean_path(name, false);
}

char *cb_path_clean_in_root(const char *name) {
  return clean_path(name, true);
}

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

void cb_leak_check_now(void) {
#if defined(__SANITIZE_ADDRESS__)
  __lsan_do_leak_check();
#endif
}
