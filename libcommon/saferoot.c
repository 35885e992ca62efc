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
#include "crowbar/dirlist.h"
#include "crowbar/fdstack.h"
#include "crowbar/saferoot.h"
#include "crowbar/util.h"

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

/* ---- the walk ------------------------------------------------------------------
 *
 * Iterative: one frame per folder on the way down, on the heap, and the folders'
 * descriptors in an fdstack (at most CB_FDSTACK_MAX_OPEN open, however deep the tree). */

struct wframe {
  struct cb_dirent *v; /* the folder's entries (NULL when it is not walked) */
  char *names;
  size_t n, next;
  const char *name; /* its name in its parent (in the parent's names, or the caller's) */
  size_t at;        /* the length of its relative path */
  int depth;
  struct stat st;
};

struct walk {
  unsigned flags;
  cb_sr_walk_fn fn;
  void *data;
  dev_t top_dev;
  int topdirfd; /* the caller's dirfd: the top's parent */
  char *path;   /* relative path of the current entry */
  size_t cap;
  struct cb_fdstack fds;
  struct wframe *f;
  size_t depth, fcap;
};

static void path_set(struct walk *w, size_t at, const char *name) {
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

/* For messages: the current path, shortened when long. */
static char *wpath(const struct walk *w) {
  return cb_path_abbrev(*w->path ? w->path : ".", 200);
}

static int walk_fail(struct walk *w, cb_error_t *err, const char *what) {
  int e = errno;
  cleanup_free char *p = wpath(w);
  errno = e;
  return cb_error_sys(err, "%s `%s`", what, p);
}

/* The parent's descriptor of the folder in frame i. */
static int frame_dirfd(struct walk *w, size_t i) {
  if (i == 0)
    return w->topdirfd;
  size_t n;
  return cb_fdstack_frame(&w->fds, i - 1, &n)[0];
}

static void frame_entry(struct walk *w, size_t i, struct cb_sr_entry *e) {
  struct wframe *f = &w->f[i];
  size_t n;
  *e = (struct cb_sr_entry){.dirfd = frame_dirfd(w, i),
                            .name = f->name,
                            .path = w->path,
                            .fd = cb_fdstack_frame(&w->fds, i, &n)[0],
                            .depth = f->depth,
                            .st = f->st};
}

/* A folder opened (fd taken over): a new frame, its PRE visit, its entries read. */
static int enter_dir(struct walk *w, int fd, const char *name, size_t at, int depth,
                     const struct stat *st, cb_error_t *err) {
  if (w->depth == w->fcap) {
    w->fcap = w->fcap ? w->fcap * 2 : 64;
    w->f = xrealloc(w->f, w->fcap * sizeof *w->f);
  }
  struct wframe *f = &w->f[w->depth++];
  *f = (struct wframe){.name = name, .at = at, .depth = depth, .st = *st};
  cb_fdstack_push(&w->fds, &fd, NULL, 1);
  struct cb_sr_entry e;
  frame_entry(w, w->depth - 1, &e);
  int r = w->fn(&e, CB_SR_VISIT_PRE, w->data, err);
  if (r < 0)
    return -1;
  bool descend = r == 0;
  if (descend && (w->flags & CB_SR_WALK_ONE_FS) && st->st_dev != w->top_dev)
    descend = false;
  if (descend && (w->flags & CB_SR_WALK_SKIP_PSEUDO) && depth > 0 && cb_sr_is_pseudo_fs(e.fd))
    descend = false;
  if (descend &&
      cb_dir_read(e.fd, w->flags & CB_SR_WALK_SORTED, &f->v, &f->n, &f->names, err) < 0) {
    cleanup_free char *p = wpath(w);
    return cb_error_wrap(err, "`%s`", p);
  }
  return 0;
}

/* Visit name in the folder on top (at: the length of that folder's path). */
static int walk_entry(struct walk *w, const char *name, size_t at, int depth, cb_error_t *err) {
  int dirfd = cb_fdstack_top(&w->fds);
  struct cb_sr_entry e = {.dirfd = dirfd, .name = name, .fd = -1, .depth = depth};
  path_set(w, at, name);
  e.path = w->path;
  if (fstatat(dirfd, name, &e.st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT)
      return 0; /* removed since the folder was read (a running container) */
    return walk_fail(w, err, "stat");
  }
  if (!S_ISDIR(e.st.st_mode))
    return w->fn(&e, CB_SR_VISIT_LEAF, w->data, err) < 0 ? -1 : 0;
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return 0;
    if (errno == ELOOP || errno == ENOTDIR) {
      /* Swapped for something else since the stat: report what is there now. */
      if (fstatat(dirfd, name, &e.st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : walk_fail(w, err, "stat");
      if (!S_ISDIR(e.st.st_mode))
        return w->fn(&e, CB_SR_VISIT_LEAF, w->data, err) < 0 ? -1 : 0;
      errno = ELOOP;
    }
    return walk_fail(w, err, "open");
  }
  if (fstat(fd, &e.st) < 0) {
    int saved = errno;
    close(fd);
    errno = saved;
    return walk_fail(w, err, "stat");
  }
  return enter_dir(w, fd, name, at + (at ? 1 : 0) + strlen(name), depth, &e.st, err);
}

static int walk_run(struct walk *w, cb_error_t *err) {
  while (w->depth > 0) {
    struct wframe *f = &w->f[w->depth - 1];
    if (f->next < f->n) {
      const char *name = f->v[f->next++].name;
      if (walk_entry(w, name, f->at, f->depth + 1, err) < 0)
        return -1;
      continue;
    }
    /* The folder is done: its POST visit, then out of it. */
    w->path[f->at] = '\0';
    struct cb_sr_entry e;
    frame_entry(w, w->depth - 1, &e);
    if (w->fn(&e, CB_SR_VISIT_POST, w->data, err) < 0)
      return -1;
    free(f->v);
    free(f->names);
    w->depth--;
    if (cb_fdstack_pop(&w->fds, err) < 0) {
      cleanup_free char *p = wpath(w);
      return cb_error_wrap(err, "`%s`", p);
    }
  }
  return 0;
}

int cb_sr_walk(int dirfd, const char *name, unsigned wflags, cb_sr_walk_fn fn, void *data,
               cb_error_t *err) {
  struct walk w = {.flags = wflags, .fn = fn, .data = data, .topdirfd = dirfd};
  cb_fdstack_init(&w.fds, 0);
  w.cap = 256;
  w.path = xmalloc(w.cap);
  w.path[0] = '\0';
  int rc = 0;
  struct cb_sr_entry e = {.dirfd = dirfd, .name = name, .path = w.path, .fd = -1};
  int fd = -1;
  if (!*name) {
    if (fstat(dirfd, &e.st) < 0)
      rc = cb_error_sys(err, "stat");
    else if (!S_ISDIR(e.st.st_mode))
      rc = fn(&e, CB_SR_VISIT_LEAF, data, err) < 0 ? -1 : 0;
    else if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
      rc = cb_error_sys(err, "open the folder");
  } else if (!strcmp(name, ".")) {
    if ((fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
      rc = cb_error_sys(err, "open the folder");
  } else if (!cb_sr_name_ok(name)) {
    errno = EINVAL;
    rc = cb_error_sys(err, "walk `%s`", name);
  } else if (fstatat(dirfd, name, &e.st, AT_SYMLINK_NOFOLLOW) < 0) {
    rc = cb_error_sys(err, "stat `%s`", name);
  } else if (!S_ISDIR(e.st.st_mode)) {
    rc = fn(&e, CB_SR_VISIT_LEAF, data, err) < 0 ? -1 : 0;
  } else if ((fd = cb_sr_openat_dir(dirfd, name)) < 0) {
    rc = cb_error_sys(err, "open `%s`", name);
  }
  if (rc == 0 && fd >= 0) {
    if (fstat(fd, &e.st) < 0) {
      rc = cb_error_sys(err, "open `%s`", *name ? name : ".");
      close(fd);
    } else {
      w.top_dev = e.st.st_dev;
      rc = enter_dir(&w, fd, name, 0, 0, &e.st, err);
      if (rc == 0)
        rc = walk_run(&w, err);
    }
  }
  for (size_t i = 0; i < w.depth; i++) {
    free(w.f[i].v);
    free(w.f[i].names);
  }
  free(w.f);
  cb_fdstack_release(&w.fds);
  free(w.path);
  return rc;
}
