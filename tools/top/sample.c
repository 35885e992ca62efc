/* SPDX-License-Identifier: GPL-2.0-or-later */
/* top's samples. One sample: the container cgroups are listed (one readdir per folder, one
 * read of cgroup.procs each), then each of their processes is read from /proc (stat,
 * status, cmdline: one open each) and each container's cgroup for its use and limits.
 * The engine is asked once per container for its name, the first time its cgroup shows,
 * never per process; no process is spawned. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crowbar/cgroup.h"
#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/proc.h"
#include "crowbar/saferoot.h"
#include "crowbar/security.h"
#include "sample.h"

struct top_known {
  char id[CB_ID_LEN + 1];
  char *name; /* NULL: not a container of this root */
  pid_t pid1; /* its PID 1 on the host as the engine recorded it (0: unknown) */
  /* Its /etc/passwd, read again only when the file changes. */
  struct top_names *names;
  bool names_tried;
  dev_t dev;
  ino_t ino;
  struct timespec mtime;
  off_t size;
};

/* What the previous sample saw of a process: its CPU ticks for %CPU, and what status and
 * cmdline said, so that a later sample need not read them again every time. */
struct top_prev {
  pid_t pid;
  uint64_t start, ticks;
  pid_t cpid;
  uid_t uid;
  char comm[64];
  char *cmd;
  int stat_fd; /* its /proc/PID/stat, kept open for the next sample; -1 if none */
};

/* status (for the user) and cmdline are read again every this many samples (each process
 * in its turn, by PID, so the cost spreads evenly), and cmdline also whenever the command
 * name changes (an exec). */
#define TOP_REREAD_EVERY 5

static struct top_prev *prev_find(const struct top_sampler *s, pid_t pid);
static void prev_free(struct top_prev *v, size_t n);

struct top_name {
  uid_t uid;
  char name[TOP_USER_LEN];
};

struct top_names {
  struct top_name *v;
  size_t n;
};

/* ---- small pieces ---- */

double top_cpu_percent(uint64_t ticks, uint64_t prev_ticks, bool have_prev, double interval,
                       uint64_t start, double uptime, long hz) {
  if (hz <= 0)
    return 0;
  if (interval > 0) {
    uint64_t used = have_prev ? (ticks >= prev_ticks ? ticks - prev_ticks : 0) : ticks;
    return (double)used * 100.0 / ((double)hz * interval);
  }
  double age = uptime - (double)start / (double)hz;
  if (age <= 0)
    return 0;
  return (double)ticks * 100.0 / ((double)hz * age);
}

char *top_printable(const char *s, size_t len, bool nul_is_space) {
  char *out = xmalloc(len + 1);
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\0' && nul_is_space)
      out[i] = ' ';
    else if (c < 0x20 || c >= 0x7f)
      out[i] = '?';
    else
      out[i] = (char)c;
  }
  out[len] = '\0';
  return out;
}

static int name_cmp(const void *a, const void *b) {
  const struct top_name *x = a, *y = b;
  return (x->uid > y->uid) - (x->uid < y->uid);
}

struct top_names *top_names_parse(const char *text, size_t len) {
  struct top_names *n = xcalloc(1, sizeof *n);
  size_t cap = 0;
  const char *end = text + len;
  for (const char *l = text; l < end;) {
    const char *nl = memchr(l, '\n', (size_t)(end - l));
    const char *le = nl ? nl : end;
    /* name:password:uid:... */
    const char *c1 = memchr(l, ':', (size_t)(le - l));
    const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(le - c1 - 1)) : NULL;
    const char *c3 = c2 ? memchr(c2 + 1, ':', (size_t)(le - c2 - 1)) : NULL;
    if (c3 && c1 > l && c3 > c2 + 1 && c3 - c2 - 1 < 11) {
      char num[12];
      memcpy(num, c2 + 1, (size_t)(c3 - c2 - 1));
      num[c3 - c2 - 1] = '\0';
      uint32_t uid;
      if (cb_parse_id(num, &uid) == 0) {
        if (n->n == cap) {
          cap = cap ? cap * 2 : 16;
          n->v = xrealloc(n->v, cap * sizeof *n->v);
        }
        struct top_name *e = &n->v[n->n++];
        e->uid = (uid_t)uid;
        size_t nl_len = (size_t)(c1 - l);
        if (nl_len > TOP_USER_LEN - 1)
          nl_len = TOP_USER_LEN - 1;
        cleanup_free char *p = top_printable(l, nl_len, false);
        memcpy(e->name, p, nl_len + 1);
      }
    }
    l = nl ? nl + 1 : end;
  }
  /* The first line of a uid wins, as getpwuid finds it: a stable sort keeps file order. */
  for (size_t i = 1; i < n->n; i++) {
    struct top_name t = n->v[i];
    size_t j = i;
    /* insertion sort is stable; passwd files are short and nearly sorted */
    while (j > 0 && name_cmp(&n->v[j - 1], &t) > 0) {
      n->v[j] = n->v[j - 1];
      j--;
    }
    n->v[j] = t;
  }
  return n;
}

const char *top_names_find(const struct top_names *n, uid_t uid) {
  if (!n)
    return NULL;
  size_t lo = 0, hi = n->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (n->v[mid].uid < uid)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n->n && n->v[lo].uid == uid ? n->v[lo].name : NULL;
}

void top_names_free(struct top_names *n) {
  if (!n)
    return;
  free(n->v);
  free(n);
}

/* ---- the sampler ---- */

int top_sampler_init(struct top_sampler *s, const struct cb_ctx *ctx, cb_error_t *err) {
  memset(s, 0, sizeof *s);
  s->ctx = ctx;
  s->procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->procfd < 0)
    return cb_error_sys(err, "open /proc");
  s->hz = cb_clock_ticks();
  s->fast_ids = true;
  /* Keeping each process's stat open makes a sample one pread per process: allow it as
   * many descriptors as the hard limit lets us, a few kept for everything else. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rlim_t want = rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
      struct rlimit nl = {want, rl.rlim_max};
      if (setrlimit(RLIMIT_NOFILE, &nl) == 0)
        rl.rlim_cur = want;
    }
    s->fd_budget = rl.rlim_cur > 256 ? (size_t)(rl.rlim_cur - 256) : 0;
  }
  long page = sysconf(_SC_PAGESIZE);
  s->page_kb = page > 0 ? page / 1024 : 4;
  return 0;
}

void top_sampler_release(struct top_sampler *s) {
  if (s->procfd >= 0)
    close(s->procfd);
  s->procfd = -1;
  for (size_t i = 0; i < s->n_known; i++) {
    free(s->known[i].name);
    top_names_free(s->known[i].names);
  }
  free(s->known);
  prev_free(s->prev, s->n_prev);
  free(s->only);
  s->known = NULL;
  s->prev = NULL;
  s->only = NULL;
}

void top_snapshot_release(struct top_snapshot *snap) {
  for (size_t i = 0; i < snap->nprocs; i++)
    free(snap->procs[i].cmd);
  for (size_t i = 0; i < snap->nctrs; i++) {
    free(snap->ctrs[i].name);
    free(snap->ctrs[i].cgroup);
  }
  free(snap->procs);
  free(snap->ctrs);
  memset(snap, 0, sizeof *snap);
}

/* The engine's word on a container ID: asked once per ID for the life of the sampler. */
static struct top_known *known_get(struct top_sampler *s, const char *id) {
  for (size_t i = 0; i < s->n_known; i++)
    if (!strcmp(s->known[i].id, id))
      return &s->known[i];
  if (s->n_known == s->cap_known) {
    s->cap_known = s->cap_known ? s->cap_known * 2 : 16;
    s->known = xrealloc(s->known, s->cap_known * sizeof *s->known);
  }
  struct top_known *k = &s->known[s->n_known++];
  memset(k, 0, sizeof *k);
  memcpy(k->id, id, CB_ID_LEN + 1);
  struct cb_container *c = NULL;
  cb_error_t e2 = NULL;
  if (!s->ctx) {
    k->name = xasprintf("%.12s", id); /* no engine: every cgroup the patterns match */
  } else if (cb_container_load(s->ctx, id, &c, &e2) == 0) {
    k->name = xstrdup(c->name ? c->name : id);
    k->pid1 = c->state.pid;
    cb_container_free(c);
  } else {
    cb_error_release(&e2); /* another root's container, or one being removed */
  }
  return k;
}

int top_sampler_only(struct top_sampler *s, const char *id, const char *name, pid_t pid1) {
  s->only = xrealloc(s->only, (s->n_only + 1) * sizeof *s->only);
  memcpy(s->only[s->n_only++], id, CB_ID_LEN + 1);
  /* The engine has named it already: no second look-up at the first sample. */
  for (size_t i = 0; i < s->n_known; i++)
    if (!strcmp(s->known[i].id, id))
      return 0;
  if (s->n_known == s->cap_known) {
    s->cap_known = s->cap_known ? s->cap_known * 2 : 16;
    s->known = xrealloc(s->known, s->cap_known * sizeof *s->known);
  }
  struct top_known *k = &s->known[s->n_known++];
  memset(k, 0, sizeof *k);
  memcpy(k->id, id, CB_ID_LEN + 1);
  k->name = xstrdup(name);
  k->pid1 = pid1;
  return 0;
}

static bool wanted(const struct top_sampler *s, const char *id) {
  if (!s->n_only)
    return true;
  for (size_t i = 0; i < s->n_only; i++)
    if (!strcmp(s->only[i], id))
      return true;
  return false;
}

struct scan_state {
  struct top_sampler *s;
  struct top_snapshot *snap;
  size_t cap_ctrs, cap_procs;
  int *fds; /* each process's stat descriptor, beside snap->procs */
  size_t fds_held;
  int nsfd; /* the PID namespace of the container being read, or -1 */
};

static void read_proc(struct scan_state *st, pid_t pid, size_t ctr) {
  struct top_sampler *s = st->s;
  struct cb_proc_info pi, more;
  cb_error_t e2 = NULL;
  memset(&pi, 0, sizeof pi);
  /* stat through the descriptor the last sample kept (one pread), else a new one. */
  struct top_prev *q = prev_find(s, pid);
  int fd = -1;
  if (q && q->stat_fd >= 0 && cb_proc_stat_pread(q->stat_fd, pid, &pi.stat) == 0) {
    fd = steal_fd(&q->stat_fd);
  } else {
    fd = cb_proc_stat_open(s->procfd, pid);
    if (fd < 0 || cb_proc_stat_pread(fd, pid, &pi.stat) < 0) {
      if (fd >= 0)
        close(fd);
      return; /* gone since the cgroup listed it */
    }
  }
  if (st->fds_held >= s->fd_budget) {
    close(fd);
    fd = -1;
  }
  if (q && q->start != pi.stat.start_time)
    q = NULL; /* another process under a reused PID */
  cleanup_free char *comm = top_printable(pi.stat.comm, strlen(pi.stat.comm), false);
  bool turn = (uint64_t)pid % TOP_REREAD_EVERY == s->samples % TOP_REREAD_EVERY;
  unsigned what = 0;
  /* The container PID and the user: from two ioctls when the kernel has them (its
   * container's PID namespace, the process's pidfd), else from the text of status. */
  bool need_ids = !q || turn, got_ids = false;
  pid_t fast_cpid = 0;
  uid_t fast_uid = 0;
  if (need_ids && s->fast_ids && st->nsfd >= 0) {
    struct cb_proc_ids ids;
    fast_cpid = cb_pidns_tgid(st->nsfd, pid);
    if (fast_cpid < 0 && (errno == ENOTTY || errno == EINVAL))
      s->fast_ids = false; /* an older kernel: status from now on */
    else if (fast_cpid > 0 && cb_proc_ids(pid, &ids) == 0)
      got_ids = true, fast_uid = ids.euid;
    else if (fast_cpid > 0 && (errno == ENOTTY || errno == EINVAL))
      s->fast_ids = false;
  }
  if (need_ids && !got_ids)
    what |= CB_PROC_READ_STATUS;
  if (!q || turn || strcmp(q->comm, comm) != 0)
    what |= CB_PROC_READ_CMDLINE;
  memset(&more, 0, sizeof more);
  if (what && cb_proc_read(s->procfd, pid, what, &more, &e2) < 0) {
    cb_error_release(&e2);
    if (fd >= 0)
      close(fd);
    return;
  }
  struct top_snapshot *snap = st->snap;
  if (snap->nprocs == st->cap_procs) {
    st->cap_procs = st->cap_procs ? st->cap_procs * 2 : 256;
    snap->procs = xrealloc(snap->procs, st->cap_procs * sizeof *snap->procs);
    st->fds = xrealloc(st->fds, st->cap_procs * sizeof *st->fds);
  }
  st->fds[snap->nprocs] = fd;
  if (fd >= 0)
    st->fds_held++;
  struct top_proc *p = &snap->procs[snap->nprocs++];
  memset(p, 0, sizeof *p);
  p->pid = pid;
  p->ppid = pi.stat.ppid;
  p->state = pi.stat.state;
  p->threads = pi.stat.threads;
  p->rss_kb = pi.stat.rss_pages > 0 ? (uint64_t)pi.stat.rss_pages * (uint64_t)s->page_kb : 0;
  p->ticks = pi.stat.utime + pi.stat.stime;
  p->start = pi.stat.start_time;
  p->ctr = ctr;
  snprintf(p->comm, sizeof p->comm, "%s", comm);
  if (got_ids) {
    p->cpid = fast_cpid;
    p->uid = fast_uid;
  } else if (what & CB_PROC_READ_STATUS) {
    p->cpid = cb_proc_status_cpid(&more.status);
    p->uid = more.status.uid[1];
  } else {
    p->cpid = q->cpid;
    p->uid = q->uid;
  }
  if (!(what & CB_PROC_READ_CMDLINE))
    p->cmd = xstrdup(q->cmd);
  else if (more.cmdline_len)
    p->cmd = top_printable(more.cmdline, more.cmdline_len, true);
  else
    p->cmd = xasprintf("[%s]", p->comm);
  cb_proc_info_release(&more);
}

/* pids is sorted. */
static bool pid_in(const pid_t *pids, size_t n, pid_t pid) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (pids[mid] < pid)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && pids[lo] == pid;
}

static int on_cgroup(const struct cb_cgroup_found *f, void *data, cb_error_t *err) {
  struct scan_state *st = data;
  if (!wanted(st->s, f->id))
    return 0;
  struct top_known *k = known_get(st->s, f->id);
  if (!k->name)
    return 0;
  struct top_snapshot *snap = st->snap;
  if (snap->nctrs == st->cap_ctrs) {
    st->cap_ctrs = st->cap_ctrs ? st->cap_ctrs * 2 : 16;
    snap->ctrs = xrealloc(snap->ctrs, st->cap_ctrs * sizeof *snap->ctrs);
  }
  size_t ci = snap->nctrs++;
  struct top_ctr *c = &snap->ctrs[ci];
  memset(c, 0, sizeof *c);
  memcpy(c->id, f->id, CB_ID_LEN + 1);
  c->name = xstrdup(k->name);
  c->cgroup = xstrdup(f->path);
  /* Its PID namespace, from its PID 1 (the engine's word; asked again if that process is
   * no longer in the cgroup: the container restarted). */
  if (st->s->ctx && k->pid1 && !pid_in(f->pids, f->n_pids, k->pid1)) {
    struct cb_container *rec = NULL;
    cb_error_t e2 = NULL;
    if (cb_container_load(st->s->ctx, f->id, &rec, &e2) == 0) {
      k->pid1 = rec->state.pid;
      cb_container_free(rec);
    } else {
      cb_error_release(&e2);
    }
  }
  st->nsfd = -1;
  if (st->s->fast_ids && k->pid1 && pid_in(f->pids, f->n_pids, k->pid1)) {
    char rel[48];
    snprintf(rel, sizeof rel, "%d/ns/pid", k->pid1);
    st->nsfd = openat(st->s->procfd, rel, O_RDONLY | O_CLOEXEC);
  }
  for (size_t i = 0; i < f->n_pids; i++)
    read_proc(st, f->pids[i], ci);
  if (st->nsfd >= 0)
    close(st->nsfd);
  st->nsfd = -1;
  cb_cgroup_usage_read(f->path, &c->usage);
  return 0;
}

/* The container's user names, from its own /etc/passwd (through its root, confined by
 * saferoot: the file is the container's to write), read again only when it changed. */
static void refresh_names(struct top_sampler *s, struct top_known *k, pid_t init_pid) {
  char rel[48];
  snprintf(rel, sizeof rel, "%d/root", init_pid);
  cleanup_close int root = openat(s->procfd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return;
  /* Pinned with O_PATH and opened only if it is a regular file: a FIFO there would hang
   * us, and a device node the container made (it may mknod any) would be opened by the
   * host with no device cgroup in the way (a watchdog's open arms it). */
  cleanup_close int pin = cb_sr_open(root, "/etc/passwd", O_PATH, 0);
  struct stat st;
  cleanup_close int fd = -1;
  if (pin >= 0 && fstat(pin, &st) == 0 && S_ISREG(st.st_mode)) {
    char self[48];
    snprintf(self, sizeof self, "/proc/self/fd/%d", pin);
    fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  }
  if (fd < 0) {
    top_names_free(k->names);
    k->names = NULL;
    k->names_tried = false;
    return;
  }
  if (k->names_tried && st.st_dev == k->dev && st.st_ino == k->ino && st.st_size == k->size &&
      st.st_mtim.tv_sec == k->mtime.tv_sec && st.st_mtim.tv_nsec == k->mtime.tv_nsec)
    return;
  k->names_tried = true;
  k->dev = st.st_dev;
  k->ino = st.st_ino;
  k->size = st.st_size;
  k->mtime = st.st_mtim;
  top_names_free(k->names);
  k->names = NULL;
  /* At most 1 MiB: a container's passwd is no reason to eat the host's memory. */
  size_t cap = st.st_size > 0 && st.st_size < (1 << 20) ? (size_t)st.st_size + 1 : (1 << 20);
  cleanup_free char *buf = xmalloc(cap);
  size_t n = 0;
  while (n < cap) {
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    n += (size_t)r;
  }
  k->names = top_names_parse(buf, n);
}

static void prev_free(struct top_prev *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].cmd);
    if (v[i].stat_fd >= 0)
      close(v[i].stat_fd); /* a process that is gone */
  }
  free(v);
}

static int prev_cmp(const void *a, const void *b) {
  const struct top_prev *x = a, *y = b;
  return (x->pid > y->pid) - (x->pid < y->pid);
}

static struct top_prev *prev_find(const struct top_sampler *s, pid_t pid) {
  size_t lo = 0, hi = s->n_prev;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (s->prev[mid].pid < pid)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < s->n_prev && s->prev[lo].pid == pid ? &s->prev[lo] : NULL;
}

static int ctr_name_cmp(const void *a, const void *b) {
  const struct top_ctr *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->id, y->id);
}

static int proc_ctr_pid_cmp(const void *a, const void *b) {
  const struct top_proc *x = a, *y = b;
  if (x->ctr != y->ctr)
    return x->ctr < y->ctr ? -1 : 1;
  return (x->pid > y->pid) - (x->pid < y->pid);
}

static void read_host(struct top_host *h) {
  char buf[4096];
  int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0) {
      buf[n] = '\0';
      sscanf(buf, "%lf %lf %lf", &h->load[0], &h->load[1], &h->load[2]);
    }
  }
  fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0) {
      buf[n] = '\0';
      uint64_t sreclaimable = 0;
      for (char *l = buf; l && *l;) {
        unsigned long long v;
        char key[32];
        if (sscanf(l, "%31[^:]: %llu", key, &v) == 2) {
          if (!strcmp(key, "MemTotal"))
            h->mem_total = v;
          else if (!strcmp(key, "MemFree"))
            h->mem_free = v;
          else if (!strcmp(key, "MemAvailable"))
            h->mem_avail = v;
          else if (!strcmp(key, "Buffers"))
            h->mem_buffers = v;
          else if (!strcmp(key, "Cached"))
            h->mem_cached = v;
          else if (!strcmp(key, "SReclaimable"))
            sreclaimable = v;
        }
        l = strchr(l, '\n');
        if (l)
          l++;
      }
      /* top's buff/cache counts the reclaimable slab with the page cache. */
      h->mem_cached += sreclaimable;
    }
  }
  h->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
}

int top_sample(struct top_sampler *s, struct top_snapshot *out, cb_error_t *err) {
  top_snapshot_release(out);
  struct timespec bt;
  clock_gettime(CLOCK_BOOTTIME, &bt);
  out->uptime = (double)bt.tv_sec + (double)bt.tv_nsec / 1e9;
  out->wall_ns = cb_now_ns();
  out->interval = s->have_prev ? out->uptime - s->prev_uptime : 0;
  if (s->have_prev && out->interval <= 0)
    out->interval = 1e-3;

  struct scan_state st = {.s = s, .snap = out, .nsfd = -1};
  const struct cb_cgroup_engine *engines[] = {&cb_cgroup_engine_crowbar};
  int rc = 0;
  if (s->n_only) {
    /* The containers asked for: their own cgroups, not the whole parent folder. */
    for (size_t i = 0; i < s->n_only && rc == 0; i++) {
      struct cb_cgroup_found f = {.engine = engines[0]};
      memcpy(f.id, s->only[i], CB_ID_LEN + 1);
      cleanup_free char *path = cb_cgroup_path(f.id);
      cleanup_free pid_t *pids = NULL;
      cb_error_t e2 = NULL;
      if (cb_cgroup_path_pids(path, &pids, &f.n_pids, &e2) < 0) {
        cb_error_release(&e2); /* it stopped since */
        continue;
      }
      if (!f.n_pids)
        continue;
      f.path = path;
      f.pids = pids;
      rc = on_cgroup(&f, &st, err);
    }
  } else {
    rc = cb_cgroup_scan(engines, 1, on_cgroup, &st, err);
  }
  if (rc < 0) {
    for (size_t i = 0; i < out->nprocs; i++)
      if (st.fds[i] >= 0)
        close(st.fds[i]);
    free(st.fds);
    top_snapshot_release(out);
    return -1;
  }

  /* %CPU against the previous sample, which this one then replaces. */
  struct top_prev *prev = xmalloc((out->nprocs ? out->nprocs : 1) * sizeof *prev);
  for (size_t i = 0; i < out->nprocs; i++) {
    struct top_proc *p = &out->procs[i];
    const struct top_prev *q = prev_find(s, p->pid);
    bool same = q && q->start == p->start;
    p->cpu = top_cpu_percent(p->ticks, same ? q->ticks : 0, same, out->interval, p->start,
                             out->uptime, s->hz);
    prev[i] = (struct top_prev){p->pid, p->start, p->ticks,        p->cpid,
                                p->uid, "",       xstrdup(p->cmd), st.fds[i]};
    memcpy(prev[i].comm, p->comm, sizeof prev[i].comm);
  }
  if (out->nprocs > 1)
    qsort(prev, out->nprocs, sizeof *prev, prev_cmp);
  prev_free(s->prev, s->n_prev);
  free(st.fds);
  s->prev = prev;
  s->n_prev = out->nprocs;
  s->prev_uptime = out->uptime;
  s->have_prev = true;
  s->samples++;

  /* Containers by name; their processes follow that order. */
  size_t *rank = xmalloc((out->nctrs ? out->nctrs : 1) * sizeof *rank);
  for (size_t i = 0; i < out->nctrs; i++)
    out->ctrs[i].nprocs = i; /* remember the old index through the sort */
  if (out->nctrs > 1)
    qsort(out->ctrs, out->nctrs, sizeof *out->ctrs, ctr_name_cmp);
  for (size_t i = 0; i < out->nctrs; i++) {
    rank[out->ctrs[i].nprocs] = i;
    out->ctrs[i].nprocs = 0;
  }
  for (size_t i = 0; i < out->nprocs; i++)
    out->procs[i].ctr = rank[out->procs[i].ctr];
  free(rank);
  if (out->nprocs > 1)
    qsort(out->procs, out->nprocs, sizeof *out->procs, proc_ctr_pid_cmp);

  for (size_t i = 0; i < out->nprocs; i++) {
    struct top_proc *p = &out->procs[i];
    struct top_ctr *c = &out->ctrs[p->ctr];
    c->nprocs++;
    c->cpu += p->cpu;
    c->rss_kb += p->rss_kb;
    if (p->cpid == 1 || !c->init_pid)
      c->init_pid = p->pid;
  }
  struct top_known **kv = xmalloc((out->nctrs ? out->nctrs : 1) * sizeof *kv);
  for (size_t ci = 0; ci < out->nctrs; ci++) {
    kv[ci] = known_get(s, out->ctrs[ci].id);
    if (out->ctrs[ci].init_pid)
      refresh_names(s, kv[ci], out->ctrs[ci].init_pid);
  }
  for (size_t i = 0; i < out->nprocs; i++) {
    struct top_proc *p = &out->procs[i];
    const char *name = top_names_find(kv[p->ctr]->names, p->uid);
    if (name)
      snprintf(p->user, sizeof p->user, "%s", name);
    else
      snprintf(p->user, sizeof p->user, "%u", (unsigned)p->uid);
  }
  free(kv);
  read_host(&out->host);
  return 0;
}
