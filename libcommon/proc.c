/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/proc.h"
#include "crowbar/util.h"

static int read_small(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n;
  do
    n = read(fd, buf, size - 1);
  while (n < 0 && errno == EINTR);
  int e = errno;
  close(fd);
  if (n < 0) {
    errno = e;
    return -1;
  }
  buf[n] = '\0';
  return (int)n;
}

int cb_proc_stat(pid_t pid, struct cb_proc_stat *st, cb_error_t *err) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  if (read_small(path, buf, sizeof buf) < 0)
    return cb_error_sys(err, "read `%s`", path);
  if (cb_proc_stat_parse(buf, pid, st) < 0)
    return cb_error_make(err, 0, "malformed `%s`", path);
  return 0;
}

uint64_t cb_proc_start_time(pid_t pid) {
  if (pid <= 0)
    return 0;
  struct cb_proc_stat st;
  cb_error_t err = NULL;
  if (cb_proc_stat(pid, &st, &err) < 0) {
    cb_error_release(&err);
    return 0;
  }
  return st.start_time;
}

bool cb_proc_alive(pid_t pid, uint64_t start_time) {
  /* No start time, no identity: whatever holds that PID now is not known to be ours. */
  if (pid <= 0 || !start_time)
    return false;
  struct cb_proc_stat st;
  cb_error_t err = NULL;
  if (cb_proc_stat(pid, &st, &err) < 0) {
    cb_error_release(&err);
    return false;
  }
  if (st.start_time != start_time)
    return false;
  return st.state != 'Z' && st.state != 'X';
}

int cb_boot_id(char *buf, cb_error_t *err) {
  /* It cannot change while we run: read it once (ps checks it for every running container). */
  static char cached[37];
  if (cached[0]) {
    memcpy(buf, cached, 37);
    return 0;
  }
  char tmp[64];
  if (read_small("/proc/sys/kernel/random/boot_id", tmp, sizeof tmp) < 0)
    return cb_error_sys(err, "read boot_id");
  tmp[strcspn(tmp, "\n")] = '\0';
  tmp[36] = '\0';
  memcpy(buf, tmp, 37);
  memcpy(cached, tmp, 37);
  return 0;
}

static void push_pid(pid_t **v, size_t *n, size_t *cap, pid_t p) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 16;
    *v = xrealloc(*v, *cap * sizeof **v);
  }
  (*v)[(*n)++] = p;
}

int cb_proc_children(pid_t pid, pid_t **out, size_t *n, cb_error_t *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  cleanup_dir DIR *d = opendir(path);
  if (!d)
    return cb_error_sys(err, "open `%s`", path);
  pid_t *v = NULL;
  size_t cnt = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!isdigit((unsigned char)de->d_name[0]))
      continue;
    char cp[320];
    snprintf(cp, sizeof cp, "/proc/%d/task/%s/children", pid, de->d_name);
    cleanup_free char *text = NULL;
    cb_error_t e2 = NULL;
    if (cb_read_file(cp, &text, NULL, &e2) < 0) {
      cb_error_release(&e2);
      continue;
    }
    char *save = NULL;
    for (char *t = strtok_r(text, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
      push_pid(&v, &cnt, &cap, (pid_t)strtol(t, NULL, 10));
  }
  *out = v;
  *n = cnt;
  return 0;
}

int cb_proc_list(pid_t **out, size_t *n, cb_error_t *err) {
  cleanup_dir DIR *d = opendir("/proc");
  if (!d)
    return cb_error_sys(err, "open /proc");
  pid_t *v = NULL;
  size_t cnt = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    int p;
    if (isdigit((unsigned char)de->d_name[0]) && cb_parse_int(de->d_name, &p) == 0)
      push_pid(&v, &cnt, &cap, p);
  }
  *out = v;
  *n = cnt;
  return 0;
}

pid_t cb_proc_nspid(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  char buf[4096];
  if (read_small(path, buf, sizeof buf) < 0)
    return 0;
  char *l = strstr(buf, "\nNSpid:");
  if (!l)
    return 0;
  l += 7;
  char *end = strchr(l, '\n');
  if (end)
    *end = '\0';
  pid_t last = 0;
  char *save = NULL;
  for (char *t = strtok_r(l, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
    last = (pid_t)strtol(t, NULL, 10);
  return last;
}

uint64_t cb_proc_ns_inode(pid_t pid, const char *name) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, name);
  struct stat st;
  if (stat(path, &st) < 0)
    return 0;
  return st.st_ino;
}

int cb_proc_cmdline(pid_t pid, char ***out, cb_error_t *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
  cleanup_free char *buf = NULL;
  size_t len = 0;
  if (cb_read_file(path, &buf, &len, err) < 0)
    return -1;
  char **v = xcalloc(1, sizeof *v);
  for (size_t i = 0; i < len;) {
    cb_strv_append(&v, buf + i);
    i += strlen(buf + i) + 1;
  }
  *out = v;
  return 0;
}

long cb_clock_ticks(void) {
  long t = sysconf(_SC_CLK_TCK);
  return t > 0 ? t : 100;
}

double cb_uptime(void) {
  char buf[128];
  if (read_small("/proc/uptime", buf, sizeof buf) < 0)
    return 0;
  return strtod(buf, NULL);
}

int cb_pidfd_open_checked(pid_t pid, uint64_t start_time) {
  /* A PID without a start time has no identity to check: never open (signal, enter) it. */
  if (pid <= 0 || !start_time) {
    errno = ESRCH;
    return -1;
  }
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0)
    return -1;
  /* The pidfd pins the process; if the start time still matches now, it is ours. */
  if (cb_proc_start_time(pid) != start_time) {
    close(fd);
    errno = ESRCH;
    return -1;
  }
  return fd;
}

int cb_pidfd_send_signal(int pidfd, int sig) {
  return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* ---- One process in one pass ---- */

/* A decimal number at *p; *p moves past it. */
static uint64_t take_u64(const char **p) {
  const char *s = *p;
  uint64_t v = 0;
  while (*s >= '0' && *s <= '9')
    v = v * 10 + (uint64_t)(*s++ - '0');
  *p = s;
  return v;
}

static int64_t take_i64(const char **p) {
  bool neg = **p == '-';
  if (neg)
    (*p)++;
  int64_t v = (int64_t)take_u64(p);
  return neg ? -v : v;
}

int cb_proc_stat_parse(char *text, pid_t pid, struct cb_proc_stat *st) {
  char *lp = strchr(text, '('), *rp = strrchr(text, ')');
  if (!lp || !rp || rp < lp || rp[1] != ' ')
    return -1;
  memset(st, 0, sizeof *st);
  st->pid = pid;
  size_t cl = (size_t)(rp - lp - 1);
  if (cl >= sizeof st->comm)
    cl = sizeof st->comm - 1;
  memcpy(st->comm, lp + 1, cl);
  st->comm[cl] = '\0';
  /* Fields after comm, counted from 0: 0 state (field 3), 1 ppid, 11 utime, 12 stime,
   * 16 nice, 17 threads, 19 starttime, 20 vsize, 21 rss (field 24). */
  const char *p = rp + 2;
  int i = 0;
  while (*p && *p != '\n' && i <= 21) {
    switch (i) {
    case 0: st->state = *p; break;
    case 1: st->ppid = (pid_t)take_i64(&p); break;
    case 11: st->utime = take_u64(&p); break;
    case 12: st->stime = take_u64(&p); break;
    case 16: st->nice = (long)take_i64(&p); break;
    case 17: st->threads = (long)take_i64(&p); break;
    case 19: st->start_time = take_u64(&p); break;
    case 20: st->vsize = take_u64(&p); break;
    case 21: st->rss_pages = take_i64(&p); break;
    default: break;
    }
    while (*p && *p != ' ' && *p != '\n')
      p++;
    if (*p == ' ')
      p++;
    i++;
  }
  return i > 21 ? 0 : -1;
}

static uint64_t hex_u64(const char *s) {
  uint64_t v = 0;
  for (;; s++) {
    int d;
    if (*s >= '0' && *s <= '9')
      d = *s - '0';
    else if (*s >= 'a' && *s <= 'f')
      d = *s - 'a' + 10;
    else if (*s >= 'A' && *s <= 'F')
      d = *s - 'A' + 10;
    else
      return v;
    v = v << 4 | (uint64_t)d;
  }
}

/* Up to max numbers separated by blanks, from p to the end of its line. */
static int take_list(const char *p, uint64_t *out, int max) {
  int n = 0;
  while (n < max) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p < '0' || *p > '9')
      break;
    out[n++] = take_u64(&p);
  }
  return n;
}

void cb_proc_status_parse(const char *text, struct cb_proc_status *st) {
  memset(st, 0, sizeof *st);
  st->no_new_privs = st->seccomp = st->seccomp_filters = -1;
  for (const char *l = text; l && *l;) {
    const char *colon = strchr(l, ':');
    const char *nl = strchr(l, '\n');
    if (!colon || (nl && colon > nl)) {
      l = nl ? nl + 1 : NULL;
      continue;
    }
    size_t kl = (size_t)(colon - l);
    const char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
      v++;
#define KEY(k) (kl == sizeof(k) - 1 && !memcmp(l, k, kl))
    uint64_t ids[CB_PROC_NSPID_MAX];
    if (KEY("Uid") || KEY("Gid")) {
      int n = take_list(v, ids, 4);
      for (int i = 0; i < n; i++) {
        if (l[0] == 'U')
          st->uid[i] = (uid_t)ids[i];
        else
          st->gid[i] = (gid_t)ids[i];
      }
    } else if (KEY("Tgid")) {
      st->tgid = (pid_t)strtol(v, NULL, 10);
    } else if (KEY("NSpid")) {
      st->nspid_n = take_list(v, ids, CB_PROC_NSPID_MAX);
      for (int i = 0; i < st->nspid_n; i++)
        st->nspid[i] = (pid_t)ids[i];
    } else if (KEY("Threads")) {
      st->threads = strtol(v, NULL, 10);
    } else if (KEY("CapInh")) {
      st->cap_inh = hex_u64(v);
    } else if (KEY("CapPrm")) {
      st->cap_prm = hex_u64(v);
    } else if (KEY("CapEff")) {
      st->cap_eff = hex_u64(v);
    } else if (KEY("CapBnd")) {
      st->cap_bnd = hex_u64(v);
    } else if (KEY("CapAmb")) {
      st->cap_amb = hex_u64(v);
    } else if (KEY("NoNewPrivs")) {
      st->no_new_privs = (int)strtol(v, NULL, 10);
    } else if (KEY("Seccomp")) {
      st->seccomp = (int)strtol(v, NULL, 10);
    } else if (KEY("Seccomp_filters")) {
      st->seccomp_filters = (int)strtol(v, NULL, 10);
    }
#undef KEY
    l = nl ? nl + 1 : NULL;
  }
}

/* Read procfd/PID/name into buf (NUL-terminated); 0 bytes means the process is gone. */
static ssize_t read_pid_file(int procfd, pid_t pid, const char *name, char *buf, size_t size) {
  char rel[48];
  snprintf(rel, sizeof rel, "%s%d/%s", procfd == AT_FDCWD ? "/proc/" : "", pid, name);
  int fd = openat(procfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return -1;
  /* One read: seq files give their whole text at once when it fits. */
  ssize_t r;
  do
    r = read(fd, buf, size - 1);
  while (r < 0 && errno == EINTR);
  int e = errno;
  close(fd);
  if (r < 0) {
    errno = e;
    return -1;
  }
  buf[r] = '\0';
  return r;
}

static int read_cmdline(int procfd, pid_t pid, struct cb_proc_info *pi) {
  char rel[48];
  snprintf(rel, sizeof rel, "%s%d/cmdline", procfd == AT_FDCWD ? "/proc/" : "", pid);
  int fd = openat(procfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return -1;
  char first[4096];
  char *buf = first;
  size_t cap = sizeof first, n = 0;
  for (;;) {
    if (n == cap) {
      size_t ncap = cap * 2;
      char *nb = buf == first ? xmalloc(ncap) : xrealloc(buf, ncap);
      if (buf == first)
        memcpy(nb, first, n);
      buf = nb;
      cap = ncap;
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      close(fd);
      if (buf != first)
        free(buf);
      errno = e;
      return -1;
    }
    if (r == 0)
      break;
    n += (size_t)r;
    /* The kernel copies the whole argument area it is asked for: a short read is all of
     * it (one read, not two, per process). */
    if (n < cap)
      break;
  }
  close(fd);
  /* Drop the trailing NUL(s) of the last argument: cmdline_len covers the arguments. */
  while (n > 0 && buf[n - 1] == '\0')
    n--;
  pi->cmdline = xmalloc(n + 1);
  memcpy(pi->cmdline, buf, n);
  pi->cmdline[n] = '\0';
  pi->cmdline_len = n;
  if (buf != first)
    free(buf);
  return 0;
}

int cb_proc_read(int procfd, pid_t pid, unsigned what, struct cb_proc_info *pi, cb_error_t *err) {
  memset(pi, 0, sizeof *pi);
  char buf[8192];
  if (what & CB_PROC_READ_STAT) {
    ssize_t n = read_pid_file(procfd, pid, "stat", buf, sizeof buf);
    if (n == 0)
      errno = ESRCH;
    if (n <= 0)
      return cb_error_sys(err, "read /proc/%d/stat", pid);
    if (cb_proc_stat_parse(buf, pid, &pi->stat) < 0)
      return cb_error_make(err, 0, "malformed /proc/%d/stat", pid);
    pi->have |= CB_PROC_READ_STAT;
  }
  if (what & CB_PROC_READ_STATUS) {
    ssize_t n = read_pid_file(procfd, pid, "status", buf, sizeof buf);
    if (n == 0)
      errno = ESRCH;
    if (n <= 0)
      return cb_error_sys(err, "read /proc/%d/status", pid);
    cb_proc_status_parse(buf, &pi->status);
    pi->have |= CB_PROC_READ_STATUS;
  }
  if (what & CB_PROC_READ_STATM) {
    ssize_t n = read_pid_file(procfd, pid, "statm", buf, sizeof buf);
    if (n == 0)
      errno = ESRCH;
    if (n <= 0)
      return cb_error_sys(err, "read /proc/%d/statm", pid);
    uint64_t v[5] = {0};
    take_list(buf, v, 5);
    pi->statm = (struct cb_proc_statm){v[0], v[1], v[2], v[3], v[4]};
    pi->have |= CB_PROC_READ_STATM;
  }
  if (what & CB_PROC_READ_CMDLINE) {
    if (read_cmdline(procfd, pid, pi) < 0) {
      int e = errno;
      cb_proc_info_release(pi);
      errno = e;
      return cb_error_sys(err, "read /proc/%d/cmdline", pid);
    }
    pi->have |= CB_PROC_READ_CMDLINE;
  }
  return 0;
}

void cb_proc_info_release(struct cb_proc_info *pi) {
  free(pi->cmdline);
  pi->cmdline = NULL;
  pi->cmdline_len = 0;
}

char *cb_caps_names(uint64_t mask) {
  unsigned known = cap_max_bits();
  if (known > 64)
    known = 64;
  uint64_t all = known == 64 ? ~(uint64_t)0 : ((uint64_t)1 << known) - 1;
  if (known > 0 && (mask & all) == all && !(mask & ~all))
    return xstrdup("ALL");
  size_t cap = 64, len = 0;
  char *out = xmalloc(cap);
  out[0] = '\0';
  for (unsigned bit = 0; bit < 64; bit++) {
    if (!(mask & ((uint64_t)1 << bit)))
      continue;
    char one[64];
    char *name = bit < known ? cap_to_name((cap_value_t)bit) : NULL;
    if (name && !strncmp(name, "cap_", 4)) {
      size_t i = 0;
      for (const char *c = name; *c && i < sizeof one - 1; c++)
        one[i++] = (char)toupper((unsigned char)*c);
      one[i] = '\0';
    } else {
      snprintf(one, sizeof one, "CAP_%u", bit);
    }
    if (name)
      cap_free(name);
    size_t ol = strlen(one);
    if (len + ol + 2 > cap) {
      cap = (len + ol + 2) * 2;
      out = xrealloc(out, cap);
    }
    if (len)
      out[len++] = ' ';
    memcpy(out + len, one, ol + 1);
    len += ol;
  }
  return out;
}

static int fd_cmp(const void *a, const void *b) {
  const struct cb_proc_fd *x = a, *y = b;
  return (x->fd > y->fd) - (x->fd < y->fd);
}

int cb_proc_fds(int procfd, pid_t pid, struct cb_proc_fd **out, size_t *n, cb_error_t *err) {
  char rel[48];
  snprintf(rel, sizeof rel, "%s%d/fd", procfd == AT_FDCWD ? "/proc/" : "", pid);
  int dfd = openat(procfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return cb_error_sys(err, "open /proc/%d/fd", pid);
  DIR *d = fdopendir(dfd);
  if (!d) {
    close(dfd);
    return cb_error_sys(err, "open /proc/%d/fd", pid);
  }
  struct cb_proc_fd *v = NULL;
  size_t cnt = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    int fd;
    if (cb_parse_int(de->d_name, &fd) < 0)
      continue;
    char target[4096];
    ssize_t l = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);
    if (l < 0)
      continue; /* closed meanwhile */
    target[l] = '\0';
    if (cnt == cap) {
      cap = cap ? cap * 2 : 16;
      v = xrealloc(v, cap * sizeof *v);
    }
    v[cnt].fd = fd;
    v[cnt].target = xstrdup(target);
    cnt++;
  }
  closedir(d);
  if (cnt)
    qsort(v, cnt, sizeof *v, fd_cmp);
  *out = v;
  *n = cnt;
  return 0;
}

void cb_proc_fds_free(struct cb_proc_fd *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i].target);
  free(v);
}

int cb_proc_stat_open(int procfd, pid_t pid) {
  char rel[48];
  snprintf(rel, sizeof rel, "%s%d/stat", procfd == AT_FDCWD ? "/proc/" : "", pid);
  return openat(procfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
}

int cb_proc_stat_pread(int fd, pid_t pid, struct cb_proc_stat *st) {
  char buf[1024];
  ssize_t r;
  do
    r = pread(fd, buf, sizeof buf - 1, 0);
  while (r < 0 && errno == EINTR);
  if (r <= 0) {
    if (r == 0)
      errno = ESRCH;
    return -1;
  }
  buf[r] = '\0';
  if (cb_proc_stat_parse(buf, pid, st) < 0) {
    errno = EINVAL;
    return -1;
  }
  return 0;
}

/* The kernel's uapi for these is newer than the headers we build with: the first version
 * of struct pidfd_info (Linux 6.13, 64 bytes; later kernels take it as it is) and the
 * nsfs ioctl numbers. */
struct cb_pidfd_info_v0 {
  uint64_t mask;
  uint64_t cgroupid;
  uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
  uint32_t spare0;
};
#define CB_PIDFD_INFO_CREDS (1ULL << 1)
#define CB_PIDFD_GET_INFO _IOWR(0xFF, 11, struct cb_pidfd_info_v0)
#define CB_NS_GET_TGID_IN_PIDNS _IOR(0xb7, 0x9, int)

int cb_proc_ids(pid_t pid, struct cb_proc_ids *out) {
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0)
    return -1;
  struct cb_pidfd_info_v0 info;
  memset(&info, 0, sizeof info);
  info.mask = CB_PIDFD_INFO_CREDS;
  int r = ioctl(fd, CB_PIDFD_GET_INFO, &info);
  int e = errno;
  close(fd);
  if (r < 0) {
    errno = e;
    return -1;
  }
  if (!(info.mask & CB_PIDFD_INFO_CREDS)) {
    errno = ENOTTY;
    return -1;
  }
  out->ruid = info.ruid;
  out->euid = info.euid;
  out->rgid = info.rgid;
  out->egid = info.egid;
  out->ppid = (pid_t)info.ppid;
  return 0;
}

pid_t cb_pidns_tgid(int nsfd, pid_t pid) {
  int r = ioctl(nsfd, CB_NS_GET_TGID_IN_PIDNS, pid);
  if (r < 0 && errno == ESRCH)
    return 0;
  return r;
}
