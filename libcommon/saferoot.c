/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/saferoot.h"

/* openat2 answers EAGAIN when a rename or mount raced with a ".." step; a hostile
 * container can keep that up, so the retries are bounded. */
#define SR_RETRIES 256

static uint64_t sr_resolve(unsigned flags) {
  uint64_t r = RESOLVE_NO_MAGICLINKS;
  r |= (flags & CB_SR_BENEATH) ? RESOLVE_BENEATH : RESOLVE_IN_ROOT;
  if (flags & CB_SR_NO_XDEV)
    r |= RESOLVE_NO_XDEV;
  if (flags & CB_SR_NO_SYMLINKS)
    r |= RESOLVE_NO_SYMLINKS;
  return r;
}

static const char *sr_rel(const char *path) {
  while (*path == '/')
    path++;
  return *path ? path : ".";
}

int cb_sr_open_mode(int rootfd, const char *path, int oflags, mode_t mode, unsigned flags) {
  if (flags & CB_SR_NOFOLLOW)
    oflags |= O_NOFOLLOW;
  struct open_how how = {
      .flags = (uint64_t)(unsigned)(oflags | O_CLOEXEC),
      .mode = (oflags & (O_CREAT | __O_TMPFILE)) ? mode : 0,
      .resolve = sr_resolve(flags),
  };
  path = sr_rel(path);
  for (int i = 0;; i++) {
    long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
    if (fd >= 0)
      return (int)fd;
    if ((errno != EAGAIN && errno != EINTR) || i >= SR_RETRIES)
      return -1;
    if (i > 8)
      sched_yield();
  }
}

int cb_sr_open(int rootfd, const char *path, int oflags, unsigned flags) {
  return cb_sr_open_mode(rootfd, path, oflags, 0, flags);
}

/* Split path into a parent (malloc'd, "." when none) and its last component. */
static int sr_split(const char *path, char **dir, char **base) {
  path = sr_rel(path);
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/')
    n--;
  const char *end = path + n;
  const char *b = end;
  while (b > path && b[-1] != '/')
    b--;
  size_t bl = (size_t)(end - b);
  if (bl == 0 || (bl == 1 && b[0] == '.') || (bl == 2 && b[0] == '.' && b[1] == '.')) {
    errno = EINVAL;
    return -1;
  }
  *base = strndup(b, bl);
  *dir = b > path ? strndup(path, (size_t)(b - path)) : strdup(".");
  if (!*base || !*dir)
    oom();
  return 0;
}

int cb_sr_open_parent(int rootfd, const char *path, unsigned flags, char **base) {
  cleanup_free char *dir = NULL;
  char *b = NULL;
  if (sr_split(path, &dir, &b) < 0)
    return -1;
  int fd = cb_sr_open(rootfd, dir, O_PATH | O_DIRECTORY, flags & ~CB_SR_NOFOLLOW);
  if (fd < 0) {
    free(b);
    return -1;
  }
  *base = b;
  return fd;
}

int cb_sr_stat(int rootfd, const char *path, unsigned flags, struct stat *st) {
  cleanup_close int fd = cb_sr_open(rootfd, path, O_PATH, flags);
  if (fd < 0)
    return -1;
  return fstat(fd, st);
}

/* readlinkat on an O_PATH descriptor of a symlink ("" relative to it) or a name. */
static int sr_readlink_fd(int dirfd, const char *name, char **target) {
  size_t size = 256;
  for (;;) {
    char *buf = malloc(size);
    if (!buf)
      oom();
    ssize_t n = readlinkat(dirfd, name, buf, size);
    if (n < 0) {
      int e = errno;
      free(buf);
      errno = e;
      return -1;
    }
    if ((size_t)n < size) {
      buf[n] = '\0';
      *target = buf;
      return 0;
    }
    free(buf);
    if (size >= (size_t)PATH_MAX * 4) {
      errno = ENAMETOOLONG;
      return -1;
    }
    size *= 2;
  }
}

int cb_sr_readlink(int rootfd, const char *path, char **target) {
  cleanup_close int fd = cb_sr_open(rootfd, path, O_PATH, CB_SR_NOFOLLOW);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat(fd, &st) < 0)
    return -1;
  if (!S_ISLNK(st.st_mode)) {
    errno = EINVAL;
    return -1;
  }
  return sr_readlink_fd(fd, "", target);
}

int cb_sr_readlinkat(int dirfd, const char *name, char **target) {
  if (*name && !cb_sr_name_ok(name)) {
    errno = EINVAL;
    return -1;
  }
  return sr_readlink_fd(dirfd, name, target);
}

int cb_sr_mkdir(int rootfd, const char *path, mode_t mode) {
  cleanup_free char *base = NULL;
  cleanup_close int parent = cb_sr_open_parent(rootfd, path, 0, &base);
  if (parent < 0)
    return -1;
  return mkdirat(parent, base, mode);
}

int cb_sr_mkdir_all(int rootfd, const char *path, mode_t mode) {
  cleanup_free char *copy = strdup(sr_rel(path));
  if (!copy)
    oom();
  /* Each prefix is resolved from the root again, so symlinks on the way resolve (inside
   * the root) as they would for the container's own processes. */
  for (char *p = copy;;) {
    while (*p == '/')
      p++;
    char *slash = strchr(p, '/');
    if (slash)
      *slash = '\0';
    if (*p) {
      int fd = cb_sr_open(rootfd, copy, O_PATH | O_DIRECTORY, 0);
      if (fd < 0) {
        if (errno != ENOENT)
          return -1;
        if (cb_sr_mkdir(rootfd, copy, mode) < 0 && errno != EEXIST)
          return -1;
      } else {
        close(fd);
      }
    }
    if (!slash)
      break;
    *slash = '/';
    p = slash + 1;
  }
  return cb_sr_open(rootfd, copy, O_RDONLY | O_DIRECTORY, 0);
}

int cb_sr_create(int rootfd, const char *path, int oflags, mode_t mode) {
  cleanup_free char *base = NULL;
  cleanup_close int parent = cb_sr_open_parent(rootfd, path, 0, &base);
  if (parent < 0)
    return -1;
  return openat(parent, base, oflags | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
}

int cb_sr_rename_into(int olddirfd, const char *oldname, int rootfd, const char *path,
                      unsigned rflags) {
  cleanup_free char *base = NULL;
  cleanup_close int parent = cb_sr_open_parent(rootfd, path, 0, &base);
  if (parent < 0)
    return -1;
  return renameat2(olddirfd, oldname, parent, base, rflags);
}

int cb_sr_unlink(int rootfd, const char *path, int atflags) {
  cleanup_free char *base = NULL;
  cleanup_close int parent = cb_sr_open_parent(rootfd, path, 0, &base);
  if (parent < 0)
    return -1;
  return unlinkat(parent, base, atflags);
}

bool cb_sr_name_ok(const char *name) {
  return name && *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

int cb_sr_openat_dir(int dirfd, const char *name) {
  if (!cb_sr_name_ok(name)) {
    errno = EINVAL;
    return -1;
  }
  return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int cb_sr_openat(int dirfd, const char *name, int oflags, mode_t mode) {
  if (!cb_sr_name_ok(name)) {
    errno = EINVAL;
    return -1;
  }
  return openat(dirfd, name, oflags | O_NOFOLLOW | O_CLOEXEC, mode);
}

bool cb_sr_is_pseudo_fs(int fd) {
  struct statfs sf;
  if (fstatfs(fd, &sf) < 0)
    return false;
  switch ((unsigned long)sf.f_type) {
  case PROC_SUPER_MAGIC:
  case SYSFS_MAGIC:
  case CGROUP_SUPER_MAGIC:
  case CGROUP2_SUPER_MAGIC:
  case DEVPTS_SUPER_MAGIC:
  case 0x19800202: /* mqueue */
  case DEBUGFS_MAGIC:
  case TRACEFS_MAGIC:
  case SECURITYFS_MAGIC:
  case SELINUX_MAGIC:
  case BPF_FS_MAGIC:
  case PSTOREFS_MAGIC:
  case NSFS_MAGIC:
  case BINFMTFS_MAGIC:
  case EFIVARFS_MAGIC:
  case 0x62656570: /* configfs */
  case 0x65735543: /* fusectl */ return true;
  default: return false;
  }
}

/* ---- the walk ------------------------------------------------------------------ */

struct dent {
  char *name;
};

struct walk {
  unsigned flags;
  cb_sr_walk_fn fn;
  void *data;
  dev_t top_dev;
  char *path; /* relative path of the current entry */
  size_t cap;
};

static int dent_cmp(const void *a, const void *b) {
  return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

/* Every name in the folder (but "." and ".."), read with getdents64. */
static int read_names(int fd, struct dent **out, size_t *n, cb_error_t *err) {
  size_t cap = 0, len = 0;
  struct dent *v = NULL;
  char buf[32 * 1024] __attribute__((aligned(8)));
  for (;;) {
    long r = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      for (size_t i = 0; i < len; i++)
        free(v[i].name);
      free(v);
      errno = e;
      return cb_error_sys(err, "read a folder");
    }
    if (r == 0)
      break;
    for (long off = 0; off < r;) {
      struct dirent64 *d = (struct dirent64 *)(buf + off);
      off += d->d_reclen;
      if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
        continue;
      if (len == cap) {
        cap = cap ? cap * 2 : 64;
        v = xrealloc(v, cap * sizeof *v);
      }
      v[len++].name = xstrdup(d->d_name);
    }
  }
  *out = v;
  *n = len;
  return 0;
}

static void path_push(struct walk *w, size_t at, const char *name) {
  size_t nl = strlen(name);
  size_t need = at + 1 + nl + 1;
  if (need > w->cap) {
    w->cap = need * 2;
    w->path = xrealloc(w->path, w->cap);
  }
  if (at > 0)
    w->path[at++] = '/';
  memcpy(w->path + at, name, nl + 1);
}

static int walk_dir(struct walk *w, struct cb_sr_entry *e, cb_error_t *err);

/* Visit name in dirfd; at is the length of the parent's relative path. */
static int walk_entry(struct walk *w, int dirfd, const char *name, size_t at, int depth,
                      cb_error_t *err) {
  struct cb_sr_entry e = {.dirfd = dirfd, .name = name, .fd = -1, .depth = depth};
  path_push(w, at, name);
  e.path = w->path;
  if (fstatat(dirfd, name, &e.st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT)
      return 0; /* removed since the folder was read (a running container) */
    return cb_error_sys(err, "stat `%s`", w->path);
  }
  if (!S_ISDIR(e.st.st_mode)) {
    int r = w->fn(&e, CB_SR_VISIT_LEAF, w->data, err);
    return r < 0 ? -1 : 0;
  }
  cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return 0;
    if (errno == ELOOP || errno == ENOTDIR) {
      /* Swapped for something else since the stat: report what is there now. */
      if (fstatat(dirfd, name, &e.st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : cb_error_sys(err, "stat `%s`", w->path);
      if (!S_ISDIR(e.st.st_mode)) {
        int r = w->fn(&e, CB_SR_VISIT_LEAF, w->data, err);
        return r < 0 ? -1 : 0;
      }
      errno = ELOOP;
    }
    return cb_error_sys(err, "open `%s`", w->path);
  }
  if (fstat(fd, &e.st) < 0)
    return cb_error_sys(err, "stat `%s`", w->path);
  e.fd = fd;
  return walk_dir(w, &e, err);
}

static int walk_dir(struct walk *w, struct cb_sr_entry *e, cb_error_t *err) {
  int r = w->fn(e, CB_SR_VISIT_PRE, w->data, err);
  if (r < 0)
    return -1;
  bool descend = r == 0;
  if (descend && (w->flags & CB_SR_WALK_ONE_FS) && e->st.st_dev != w->top_dev)
    descend = false;
  if (descend && (w->flags & CB_SR_WALK_SKIP_PSEUDO) && e->depth > 0 && cb_sr_is_pseudo_fs(e->fd))
    descend = false;
  if (descend) {
    struct dent *v = NULL;
    size_t n = 0;
    if (read_names(e->fd, &v, &n, err) < 0)
      return cb_error_wrap(err, "`%s`", *e->path ? e->path : ".");
    if (w->flags & CB_SR_WALK_SORTED)
      qsort(v, n, sizeof *v, dent_cmp);
    size_t at = strlen(e->path);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
      if (rc == 0 && walk_entry(w, e->fd, v[i].name, at, e->depth + 1, err) < 0)
        rc = -1;
      free(v[i].name);
    }
    free(v);
    /* Entries reallocate the path buffer: point at it again, cut back to ours. */
    w->path[at] = '\0';
    e->path = w->path;
    if (rc < 0)
      return -1;
  }
  r = w->fn(e, CB_SR_VISIT_POST, w->data, err);
  return r < 0 ? -1 : 0;
}

int cb_sr_walk(int dirfd, const char *name, unsigned wflags, cb_sr_walk_fn fn, void *data,
               cb_error_t *err) {
  struct walk w = {.flags = wflags, .fn = fn, .data = data};
  w.cap = 256;
  w.path = xmalloc(w.cap);
  w.path[0] = '\0';
  int rc;
  struct cb_sr_entry e = {.dirfd = dirfd, .name = name, .path = w.path, .fd = -1};
  if (!*name) {
    if (fstat(dirfd, &e.st) < 0) {
      rc = cb_error_sys(err, "stat");
    } else if (!S_ISDIR(e.st.st_mode)) {
      rc = fn(&e, CB_SR_VISIT_LEAF, data, err) < 0 ? -1 : 0;
    } else {
      cleanup_close int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0 || fstat(fd, &e.st) < 0) {
        rc = cb_error_sys(err, "open the folder");
      } else {
        w.top_dev = e.st.st_dev;
        e.fd = fd;
        rc = walk_dir(&w, &e, err);
      }
    }
  } else if (!strcmp(name, ".")) {
    cleanup_close int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &e.st) < 0) {
      rc = cb_error_sys(err, "open the folder");
    } else {
      w.top_dev = e.st.st_dev;
      e.fd = fd;
      rc = walk_dir(&w, &e, err);
    }
  } else if (!cb_sr_name_ok(name)) {
    errno = EINVAL;
    rc = cb_error_sys(err, "walk `%s`", name);
  } else if (fstatat(dirfd, name, &e.st, AT_SYMLINK_NOFOLLOW) < 0) {
    rc = cb_error_sys(err, "stat `%s`", name);
  } else if (!S_ISDIR(e.st.st_mode)) {
    rc = fn(&e, CB_SR_VISIT_LEAF, data, err) < 0 ? -1 : 0;
  } else {
    cleanup_close int fd = cb_sr_openat_dir(dirfd, name);
    if (fd < 0 || fstat(fd, &e.st) < 0) {
      rc = cb_error_sys(err, "open `%s`", name);
    } else {
      w.top_dev = e.st.st_dev;
      e.fd = fd;
      rc = walk_dir(&w, &e, err);
    }
  }
  free(w.path);
  return rc;
}
