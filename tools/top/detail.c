/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/proc.h"
#include "crowbar/util.h"
#include "detail.h"
#include "sample.h"

static void add(struct top_detail *d, bool section, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(struct top_detail *d, bool section, const char *label, const char *fmt, ...) {
  if (d->n == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 64;
    d->v = xrealloc(d->v, d->cap * sizeof *d->v);
  }
  char *raw = NULL;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&raw, fmt, ap) < 0)
      oom();
    va_end(ap);
  }
  struct top_detail_line *l = &d->v[d->n++];
  l->section = section;
  l->label = xstrdup(label ? label : "");
  l->value = raw ? top_printable(raw, strlen(raw), false) : xstrdup("");
  free(raw);
}

static const char *state_name(char s) {
  switch (s) {
  case 'R': return "running";
  case 'S': return "sleeping";
  case 'D': return "disk sleep";
  case 'Z': return "zombie";
  case 'T': return "stopped";
  case 't': return "tracing stop";
  case 'X': return "dead";
  case 'I': return "idle";
  case 'P': return "parked";
  default: return "?";
  }
}

/* A small file of pid, NUL-terminated, or NULL. */
static char *pid_file(int procfd, pid_t pid, const char *name, size_t *len) {
  char rel[64];
  snprintf(rel, sizeof rel, "%d/%s", pid, name);
  char *text = NULL;
  cb_error_t e2 = NULL;
  if (cb_read_file_at(procfd, rel, &text, len, &e2) < 0) {
    cb_error_release(&e2);
    return NULL;
  }
  return text;
}

static void add_namespaces(struct top_detail *d, int procfd, pid_t pid) {
  static const char *const ns[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
  add(d, true, "Namespaces", NULL);
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
    char rel[64], self[64];
    snprintf(rel, sizeof rel, "%d/ns/%s", pid, ns[i]);
    snprintf(self, sizeof self, "self/ns/%s", ns[i]);
    char target[128], host[128];
    ssize_t l = readlinkat(procfd, rel, target, sizeof target - 1);
    if (l < 0)
      continue;
    target[l] = '\0';
    ssize_t hl = readlinkat(procfd, self, host, sizeof host - 1);
    bool shared = hl == l && !memcmp(host, target, (size_t)l);
    /* Ours are the host's: top runs there. */
    add(d, false, ns[i], "%s%s", target, hl < 0 ? "" : shared ? "  (the host's)" : "  (its own)");
  }
}

static void add_cgroup(struct top_detail *d, int procfd, pid_t pid) {
  add(d, true, "Cgroup", NULL);
  cleanup_free char *text = pid_file(procfd, pid, "cgroup", NULL);
  if (!text)
    return;
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    /* ID:controllers:path */
    char *c1 = strchr(l, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    *c2 = '\0';
    const char *ctl = c1[1] ? c1 + 1 : "(v2)";
    add(d, false, ctl, "%s", c2 + 1);
  }
}

static void add_security(struct top_detail *d, const struct cb_proc_status *st) {
  add(d, true, "Security", NULL);
  struct {
    const char *label;
    uint64_t mask;
  } sets[] = {
      {"CapEff", st->cap_eff}, {"CapPrm", st->cap_prm}, {"CapBnd", st->cap_bnd},
      {"CapInh", st->cap_inh}, {"CapAmb", st->cap_amb},
  };
  for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
    cleanup_free char *names = cb_caps_names(sets[i].mask);
    add(d, false, sets[i].label, "%016llx %s", (unsigned long long)sets[i].mask,
        *names ? names : "(none)");
  }
  const char *mode = st->seccomp == 0   ? "disabled"
                     : st->seccomp == 1 ? "strict"
                     : st->seccomp == 2 ? "filter"
                                        : "unknown";
  if (st->seccomp == 2 && st->seccomp_filters >= 0)
    add(d, false, "Seccomp", "%s (%d filter%s)", mode, st->seccomp_filters,
        st->seccomp_filters == 1 ? "" : "s");
  else
    add(d, false, "Seccomp", "%s", mode);
  add(d, false, "NoNewPrivs", "%s",
      st->no_new_privs < 0 ? "unknown"
      : st->no_new_privs   ? "yes"
                           : "no");
}

static void add_files(struct top_detail *d, int procfd, pid_t pid) {
  struct cb_proc_fd *fds = NULL;
  size_t nfds = 0;
  cb_error_t e2 = NULL;
  if (cb_proc_fds(procfd, pid, &fds, &nfds, &e2) < 0) {
    add(d, true, "Open files", NULL);
    add(d, false, "", "%s", cb_error_text(e2));
    cb_error_release(&e2);
    return;
  }
  add(d, true, "Open files", NULL);
  struct cb_proc_socket *socks = NULL;
  size_t nsocks = 0;
  bool socks_read = false;
  for (size_t i = 0; i < nfds; i++) {
    char label[16];
    snprintf(label, sizeof label, "%d", fds[i].fd);
    unsigned long long ino;
    if (sscanf(fds[i].target, "socket:[%llu]", &ino) == 1) {
      if (!socks_read) {
        socks_read = true;
        if (cb_proc_sockets(procfd, pid, &socks, &nsocks, &e2) < 0)
          cb_error_release(&e2);
      }
      const struct cb_proc_socket *s = cb_proc_socket_find(socks, nsocks, ino);
      if (s && s->remote)
        add(d, false, label, "%s %s %s -> %s %s", fds[i].target, s->proto, s->local, s->remote,
            s->state);
      else if (s)
        add(d, false, label, "%s %s %s %s", fds[i].target, s->proto,
            *s->local ? s->local : "(unnamed)", s->state);
      else
        add(d, false, label, "%s", fds[i].target);
      continue;
    }
    add(d, false, label, "%s", fds[i].target);
  }
  if (!nfds)
    add(d, false, "", "(none)");
  cb_proc_sockets_free(socks, nsocks);
  cb_proc_fds_free(fds, nfds);
}

static void add_environment(struct top_detail *d, int procfd, pid_t pid) {
  add(d, true, "Environment", NULL);
  size_t len = 0;
  cleanup_free char *env = pid_file(procfd, pid, "environ", &len);
  if (!env)
    return;
  size_t count = 0;
  for (size_t i = 0; i < len;) {
    size_t l = strnlen(env + i, len - i);
    if (l)
      add(d, false, "", "%.*s", (int)l, env + i), count++;
    i += l + 1;
  }
  if (!count)
    add(d, false, "", "(empty)");
}

static void add_waiting(struct top_detail *d, int procfd, pid_t pid) {
  add(d, true, "Kernel", NULL);
  cleanup_free char *wchan = pid_file(procfd, pid, "wchan", NULL);
  add(d, false, "wchan", "%s", wchan && *wchan && strcmp(wchan, "0") ? wchan : "-");
  cleanup_free char *stack = pid_file(procfd, pid, "stack", NULL);
  if (!stack)
    return;
  int shown = 0;
  char *save = NULL;
  for (char *l = strtok_r(stack, "\n", &save); l && shown < 8;
       l = strtok_r(NULL, "\n", &save), shown++)
    add(d, false, shown ? "" : "stack", "%s", l);
}

int top_detail_read(int procfd, pid_t pid, uint64_t start, const char *ctr_name, const char *ctr_id,
                    struct top_detail *d, cb_error_t *err) {
  memset(d, 0, sizeof *d);
  struct cb_proc_info pi;
  if (cb_proc_read(procfd, pid, CB_PROC_READ_STAT | CB_PROC_READ_STATUS | CB_PROC_READ_CMDLINE, &pi,
                   err) < 0)
    return -1;
  if (start && pi.stat.start_time != start) {
    cb_proc_info_release(&pi);
    errno = ESRCH;
    return cb_error_sys(err, "process %d", pid);
  }
  long hz = cb_clock_ticks();
  add(d, true, "Process", NULL);
  add(d, false, "PID", "%d (in the container: %d)", pid, cb_proc_status_cpid(&pi.status));
  if (ctr_name)
    add(d, false, "Container", "%s (%.12s)", ctr_name, ctr_id ? ctr_id : "");
  cleanup_free char *cmd = pi.cmdline_len ? top_printable(pi.cmdline, pi.cmdline_len, true)
                                          : xasprintf("[%s]", pi.stat.comm);
  add(d, false, "Command", "%s", cmd);
  add(d, false, "State", "%c (%s), %ld thread%s, nice %ld", pi.stat.state,
      state_name(pi.stat.state), pi.stat.threads, pi.stat.threads == 1 ? "" : "s", pi.stat.nice);
  add(d, false, "Parent", "%d", pi.stat.ppid);
  add(d, false, "Uid", "%u real, %u effective, %u saved, %u fs", pi.status.uid[0], pi.status.uid[1],
      pi.status.uid[2], pi.status.uid[3]);
  add(d, false, "Gid", "%u real, %u effective, %u saved, %u fs", pi.status.gid[0], pi.status.gid[1],
      pi.status.gid[2], pi.status.gid[3]);
  add(d, false, "CPU time", "%.2f s user, %.2f s system", (double)pi.stat.utime / (double)hz,
      (double)pi.stat.stime / (double)hz);
  double age = cb_uptime() - (double)pi.stat.start_time / (double)hz;
  add(d, false, "Running for", "%.0f s", age > 0 ? age : 0);
  char rel[64], exe[4096];
  snprintf(rel, sizeof rel, "%d/exe", pid);
  ssize_t el = readlinkat(procfd, rel, exe, sizeof exe - 1);
  if (el >= 0) {
    exe[el] = '\0';
    add(d, false, "Executable", "%s", exe);
  }
  snprintf(rel, sizeof rel, "%d/cwd", pid);
  el = readlinkat(procfd, rel, exe, sizeof exe - 1);
  if (el >= 0) {
    exe[el] = '\0';
    add(d, false, "Working dir", "%s", exe);
  }
  add_namespaces(d, procfd, pid);
  add_cgroup(d, procfd, pid);
  add_security(d, &pi.status);
  add_files(d, procfd, pid);
  add_environment(d, procfd, pid);
  add_waiting(d, procfd, pid);
  cb_proc_info_release(&pi);
  return 0;
}

void top_detail_release(struct top_detail *d) {
  for (size_t i = 0; i < d->n; i++) {
    free(d->v[i].label);
    free(d->v[i].value);
  }
  free(d->v);
  memset(d, 0, sizeof *d);
}
