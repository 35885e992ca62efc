/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Processes to containers by cgroup path; a container cgroup's use and limits. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crowbar/cgroup.h"
#include "crowbar/cgroupmap.h"
#include "crowbar/cleanup.h"
#include "crowbar/util.h"

#define CG_ROOT "/sys/fs/cgroup"

/* ---- crowbar: /crowbar/<id> ---- */

static const char *const crowbar_parents[] = {"crowbar", NULL};

static bool crowbar_match(const char *path, char id[CB_ID_LEN + 1]) {
  static const char prefix[] = "/crowbar/";
  if (strncmp(path, prefix, sizeof prefix - 1) != 0)
    return false;
  const char *p = path + sizeof prefix - 1;
  if (strnlen(p, CB_ID_LEN) < CB_ID_LEN || !cb_is_hex(p, CB_ID_LEN) ||
      (p[CB_ID_LEN] && p[CB_ID_LEN] != '/'))
    return false;
  memcpy(id, p, CB_ID_LEN);
  id[CB_ID_LEN] = '\0';
  return true;
}

const struct cb_cgroup_engine cb_cgroup_engine_crowbar = {
    .name = "crowbar",
    .parents = crowbar_parents,
    .match = crowbar_match,
};

/* ---- a process's container ---- */

int cb_cgroup_container_of(int procfd, pid_t pid, const struct cb_cgroup_engine *const *engines,
                           size_t n_engines, char id[CB_ID_LEN + 1],
                           const struct cb_cgroup_engine **engine, cb_error_t *err) {
  char rel[48];
  snprintf(rel, sizeof rel, "%s%d/cgroup", procfd == AT_FDCWD ? "/proc/" : "", pid);
  cleanup_free char *text = NULL;
  if (cb_read_file_at(procfd, rel, &text, NULL, err) < 0)
    return -1;
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    /* hierarchy-ID:controllers:path */
    char *c1 = strchr(l, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2)
      continue;
    for (size_t i = 0; i < n_engines; i++) {
      if (engines[i]->match(c2 + 1, id)) {
        if (engine)
          *engine = engines[i];
        return 1;
      }
    }
  }
  return 0;
}

/* ---- the scan ---- */

/* The hierarchy whose cgroup.procs files list the containers' processes. */
static int open_hierarchy(void) {
  if (cb_cgroup_detect() == CB_CGROUP_V2)
    return open(CG_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  static const char *const v1[] = {"memory", "pids", "cpuacct", "cpu,cpuacct", "unified"};
  for (size_t i = 0; i < sizeof v1 / sizeof v1[0]; i++) {
    char p[64];
    snprintf(p, sizeof p, CG_ROOT "/%s", v1[i]);
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      continue;
    if (faccessat(fd, "cgroup.procs", F_OK, 0) == 0)
      return fd;
    close(fd);
  }
  errno = ENOENT;
  return -1;
}

struct pidv {
  pid_t *v;
  size_t n, cap;
};

static void pidv_push(struct pidv *p, pid_t pid) {
  if (p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 64;
    p->v = xrealloc(p->v, p->cap * sizeof *p->v);
  }
  p->v[p->n++] = pid;
}

/* The cgroup.procs of the folder dfd, then of its subfolders (depth-limited: a container
 * makes its own folders, and we do not follow it forever). Takes dfd. */
static void collect(int dfd, struct pidv *out, int depth) {
  int fd = openat(dfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[16384];
    size_t have = 0;
    for (;;) {
      ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      have += (size_t)r;
      buf[have] = '\0';
      /* Take the complete lines; keep a partial last one for the next read. */
      char *p = buf, *nl;
      while ((nl = strchr(p, '\n'))) {
        long v = strtol(p, NULL, 10);
        if (v > 0)
          pidv_push(out, (pid_t)v);
        p = nl + 1;
      }
      have = strlen(p);
      memmove(buf, p, have);
    }
    close(fd);
  }
  DIR *d = depth < 8 ? fdopendir(dfd) : NULL;
  if (!d) {
    close(dfd);
    return;
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_type != DT_DIR || de->d_name[0] == '.')
      continue;
    int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (sub >= 0)
      collect(sub, out, depth + 1);
  }
  closedir(d);
}

static int pid_cmp(const void *a, const void *b) {
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
  return (x > y) - (x < y);
}

/* Sorted, each PID once (v1's cgroup.procs may repeat one). */
static void pidv_unique(struct pidv *p) {
  if (p->n < 2)
    return;
  qsort(p->v, p->n, sizeof *p->v, pid_cmp);
  size_t w = 1;
  for (size_t r = 1; r < p->n; r++)
    if (p->v[r] != p->v[w - 1])
      p->v[w++] = p->v[r];
  p->n = w;
}

int cb_cgroup_scan(const struct cb_cgroup_engine *const *engines, size_t n_engines,
                   cb_cgroup_found_fn fn, void *data, cb_error_t *err) {
  cleanup_close int root = open_hierarchy();
  if (root < 0)
    return 0; /* no cgroups, no containers */
  struct pidv pids = {0};
  int rc = 0;
  for (size_t e = 0; e < n_engines && rc == 0; e++) {
    for (const char *const *par = engines[e]->parents; *par && rc == 0; par++) {
      int pfd = openat(root, *par, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (pfd < 0)
        continue;
      DIR *d = fdopendir(pfd);
      if (!d) {
        close(pfd);
        continue;
      }
      struct dirent *de;
      while (rc == 0 && (de = readdir(d))) {
        if (de->d_type != DT_DIR || de->d_name[0] == '.')
          continue;
        char path[512];
        snprintf(path, sizeof path, "/%s/%s", *par, de->d_name);
        struct cb_cgroup_found f = {.engine = engines[e], .path = path};
        if (!engines[e]->match(path, f.id))
          continue;
        int cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (cfd < 0)
          continue;
        pids.n = 0;
        collect(cfd, &pids, 0);
        if (!pids.n)
          continue;
        pidv_unique(&pids);
        f.pids = pids.v;
        f.n_pids = pids.n;
        rc = fn(&f, data, err);
      }
      closedir(d);
    }
  }
  free(pids.v);
  return rc < 0 ? -1 : 0;
}

int cb_cgroup_path_pids(const char *path, pid_t **out, size_t *n, cb_error_t *err) {
  cleanup_close int root = open_hierarchy();
  if (root < 0)
    return cb_error_sys(err, "no cgroup hierarchy lists processes");
  const char *rel = path;
  while (*rel == '/')
    rel++;
  int cfd = openat(root, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cfd < 0)
    return cb_error_sys(err, "open cgroup `%s`", path);
  struct pidv pids = {0};
  collect(cfd, &pids, 0);
  pidv_unique(&pids);
  *out = pids.v;
  *n = pids.n;
  return 0;
}

/* ---- use and limits ---- */

/* The first line of dir/file, or -1. */
static int read_line(const char *dir, const char *file, char *buf, size_t size) {
  char p[600];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0)
    return -1;
  buf[n] = '\0';
  return (int)n;
}

/* A number, "max" as 0 (no limit), or -1 when unreadable. */
static int64_t read_limit(const char *dir, const char *file) {
  char buf[64];
  if (read_line(dir, file, buf, sizeof buf) < 0)
    return -1;
  if (!strncmp(buf, "max", 3))
    return 0;
  long long v = strtoll(buf, NULL, 10);
  /* v1's "no limit" is the largest page-aligned number, near 2^63. */
  if (v >= (1LL << 62))
    return 0;
  return v;
}

static int64_t stat_key(const char *text, const char *key) {
  size_t kl = strlen(key);
  for (const char *p = text; p && *p;) {
    if (!strncmp(p, key, kl) && p[kl] == ' ')
      return strtoll(p + kl + 1, NULL, 10);
    p = strchr(p, '\n');
    if (p)
      p++;
  }
  return -1;
}

void cb_cgroup_usage_read(const char *path, struct cb_cgroup_usage *u) {
  *u = (struct cb_cgroup_usage){-1, -1, -1, -1, false};
  char buf[4096];
  if (cb_cgroup_detect() == CB_CGROUP_V2) {
    char d[512];
    snprintf(d, sizeof d, CG_ROOT "%s", path);
    u->mem_usage = read_limit(d, "memory.current");
    u->mem_limit = read_limit(d, "memory.max");
    if (u->mem_usage > 0 && read_line(d, "memory.stat", buf, sizeof buf) > 0) {
      int64_t inactive = stat_key(buf, "inactive_file");
      if (inactive > 0 && inactive < u->mem_usage)
        u->mem_usage -= inactive;
    }
    u->pids = read_limit(d, "pids.current");
    u->pids_limit = read_limit(d, "pids.max");
    if (read_line(d, "cgroup.events", buf, sizeof buf) > 0)
      u->frozen = strstr(buf, "frozen 1") != NULL;
    return;
  }
  char d[512];
  snprintf(d, sizeof d, CG_ROOT "/memory%s", path);
  u->mem_usage = read_limit(d, "memory.usage_in_bytes");
  u->mem_limit = read_limit(d, "memory.limit_in_bytes");
  if (u->mem_usage > 0 && read_line(d, "memory.stat", buf, sizeof buf) > 0) {
    int64_t inactive = stat_key(buf, "total_inactive_file");
    if (inactive > 0 && inactive < u->mem_usage)
      u->mem_usage -= inactive;
  }
  snprintf(d, sizeof d, CG_ROOT "/pids%s", path);
  u->pids = read_limit(d, "pids.current");
  u->pids_limit = read_limit(d, "pids.max");
  snprintf(d, sizeof d, CG_ROOT "/freezer%s", path);
  if (read_line(d, "freezer.state", buf, sizeof buf) > 0)
    u->frozen = !strncmp(buf, "FROZEN", 6);
}
