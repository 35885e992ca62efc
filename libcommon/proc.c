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
  /* comm may hold spaces and parentheses: it ends at the last ')'. */
  char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
  if (!lp || !rp || rp < lp)
    return cb_error_make(err, 0, "malformed `%s`", path);
  memset(st, 0, sizeof *st);
  st->pid = pid;
  size_t cl = (size_t)(rp - lp - 1);
  if (cl >= sizeof st->comm)
    cl = sizeof st->comm - 1;
  memcpy(st->comm, lp + 1, cl);
  st->comm[cl] = '\0';
  /* Fields after comm: 3 state, 4 ppid, ... 14 utime 15 stime ... 19 nice 20 threads
   * ... 22 starttime 23 vsize 24 rss. */
  char *p = rp + 2;
  char *f[32] = {0};
  int n = 0;
  char *save = NULL;
  for (char *t = strtok_r(p, " ", &save); t && n < 32; t = strtok_r(NULL, " ", &save))
    f[n++] = t;
  if (n < 22)
    return cb_error_make(err, 0, "malformed `%s`", path);
  st->state = f[0][0];
  st->ppid = (pid_t)strtol(f[1], NULL, 10);
  st->utime = strtoull(f[11], NULL, 10);
  st->stime = strtoull(f[12], NULL, 10);
  st->nice = strtol(f[16], NULL, 10);
  st->threads = strtol(f[17], NULL, 10);
  st->start_time = strtoull(f[19], NULL, 10);
  st->vsize = strtoull(f[20], NULL, 10);
  st->rss_pages = strtoll(f[21], NULL, 10);
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
