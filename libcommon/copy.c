/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/copy.h"
#include "crowbar/fdstack.h"
#include "crowbar/security.h"
#include "crowbar/saferoot.h"
#include "crowbar/util.h"

int64_t cb_copy_data(int in, int out) {
  int64_t total = 0;
  bool cfr = true;
  for (;;) {
    if (cfr) {
      ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
      if (n > 0) {
        total += n;
        continue;
      }
      if (n == 0)
        return total;
      if (errno == EINTR)
        continue;
      if (total == 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
                         errno == EOPNOTSUPP || errno == EBADF || errno == EPERM)) {
        cfr = false;
        continue;
      }
      return -1;
    }
    static __thread char *buf;
    enum { BUFSZ = 256 * 1024 };
    if (!buf)
      buf = xmalloc(BUFSZ);
    ssize_t n = read(in, buf, BUFSZ);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (n == 0)
      return total;
    if (cb_write_all(out, buf, (size_t)n) < 0)
      return -1;
    total += n;
  }
}

struct link_ent {
  dev_t dev;
  ino_t ino;
  char *path; /* of the first copy, relative to the destination's top */
};

static int link_cmp(const void *a, const void *b) {
  const struct link_ent *x = a, *y = b;
  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino)
    return x->ino < y->ino ? -1 : 1;
  return 0;
}

struct cp {
  struct cb_copy *c;
  int dstdirfd;
  const char *dstname;
  bool merge_top;        /* dstname "." */
  struct cb_fdstack dst; /* the destination folders, one frame per depth */
  void *links;           /* tsearch tree of struct link_ent */
  char *rel;             /* scratch: destination-relative path of the entry */
};

static void link_free(void *p) {
  struct link_ent *l = p;
  free(l->path);
  free(l);
}

/* The destination path of an entry, for messages ("/tmp/x/a/b"). */
static char *dst_display(struct cp *s, const struct cb_sr_entry *e) {
  const char *dir = s->c->dst_dir_display ? s->c->dst_dir_display : ".";
  const char *top = s->merge_top ? "" : s->dstname;
  const char *sep1 = *top && strcmp(dir, "/") ? "/" : "";
  const char *sep2 = *e->path && (*top || strcmp(dir, "/")) ? "/" : "";
  cleanup_free char *full = xasprintf("%s%s%s%s%s", dir, sep1, top, sep2, e->path);
  return cb_path_abbrev(full, 400);
}

/* The destination path of an entry for a message, made only when one is (a deep tree's
 * paths are long). */
struct disp {
  struct cp *s;
  const struct cb_sr_entry *e;
  char *str;
};

static const char *D(struct disp *d) {
  if (!d->str) {
    int saved = errno;
    d->str = dst_display(d->s, d->e);
    errno = saved;
  }
  return d->str;
}

static void disp_release(struct disp *d) {
  free(d->str);
}
#define cleanup_disp __attribute__((cleanup(disp_release)))

static const char *dst_dir_display(struct cp *s) {
  return s->c->dst_dir_display ? s->c->dst_dir_display : ".";
}

/* The source's path of an entry, for messages (shortened when long), into buf. */
#define SRC_DISPLAY_MAX 400
static const char *src_display(const struct cb_sr_entry *e, char *buf) {
  const char *p = e->path[0] ? e->path : e->name[0] ? e->name : "the source";
  cleanup_free char *a = cb_path_abbrev(p, SRC_DISPLAY_MAX);
  snprintf(buf, SRC_DISPLAY_MAX + 1, "%s", a);
  return buf;
}

static void random_name(char *buf, size_t n) {
  char id[CB_ID_LEN + 1];
  if (cb_random_id(id, NULL) < 0)
    snprintf(id, sizeof id, "%ld", (long)getpid());
  snprintf(buf, n, ".cbcp-%.12s", id);
}

/* 1 when the copy of st gets an owner (*u, *g), 0 when not, -1 with err when the owner
 * to keep is out of the range a container may use. */
static int owner_change(const struct cb_copy *c, const struct stat *st, uid_t *u, gid_t *g,
                        struct disp *what, cb_error_t *err) {
  if (c->flags & CB_COPY_KEEP_OWNER) {
    if (!cb_id_valid(st->st_uid) || !cb_id_valid(st->st_gid))
      return cb_error_make(err, 0, "refusing \"%s\": owner %u:%u: " CB_ID_RANGE_MSG, D(what),
                           (unsigned)st->st_uid, (unsigned)st->st_gid);
    *u = st->st_uid;
    *g = st->st_gid;
    return 1;
  }
  if (c->flags & CB_COPY_CHOWN) {
    *u = c->uid;
    *g = c->gid;
    return 1;
  }
  return 0;
}

static bool copy_xattr_name(const char *name) {
  return strncmp(name, "trusted.overlay.", 16) && strcmp(name, "security.selinux");
}

/* Extended attributes of one descriptor onto another (both regular files or folders). A
 * destination that does not take them (ENOTSUP, EPERM) is not an error, as in Docker. */
static int copy_xattrs(int in, int out, struct disp *what, cb_error_t *err) {
  char lbuf[4096];
  ssize_t n = flistxattr(in, lbuf, sizeof lbuf);
  cleanup_free char *big = NULL;
  char *list = lbuf;
  if (n < 0 && errno == ERANGE) {
    n = flistxattr(in, NULL, 0);
    if (n > 0) {
      big = xmalloc((size_t)n);
      n = flistxattr(in, big, (size_t)n);
      list = big;
    }
  }
  if (n <= 0)
    return 0; /* none, or the source file system has none */
  for (char *name = list; name < list + n; name += strlen(name) + 1) {
    if (!copy_xattr_name(name))
      continue;
    char vbuf[4096];
    ssize_t vl = fgetxattr(in, name, vbuf, sizeof vbuf);
    cleanup_free char *vbig = NULL;
    char *val = vbuf;
    if (vl < 0 && errno == ERANGE) {
      vl = fgetxattr(in, name, NULL, 0);
      if (vl > 0) {
        vbig = xmalloc((size_t)vl);
        vl = fgetxattr(in, name, vbig, (size_t)vl);
        val = vbig;
      }
    }
    if (vl < 0)
      continue;
    if (fsetxattr(out, name, val, (size_t)vl, 0) < 0 && errno != ENOTSUP && errno != EPERM)
      return cb_error_sys(err, "set the attribute %s on \"%s\"", name, D(what));
  }
  return 0;
}

/* The same for a source named in a folder, without opening it (listxattrat/getxattrat,
 * Linux 6.13; before it, through /proc/self/fd). */
#ifndef SYS_listxattrat
#define SYS_listxattrat 465
#endif
#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif
static int copy_xattrs_at(int dirfd, const char *name, int out, struct disp *what,
                          cb_error_t *err) {
  char list[4096];
  long n = syscall(SYS_listxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, list, sizeof list);
  if (n == 0 || (n < 0 && errno != ENOSYS && errno != ERANGE))
    return 0;
  /* Attributes (or an old kernel): go through a descriptor after all. */
  cleanup_close int pin = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (pin < 0 || fstat(pin, &st) < 0 || !S_ISREG(st.st_mode))
    return 0;
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", pin);
  cleanup_close int in = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (in < 0)
    return 0;
  return copy_xattrs(in, out, what, err);
}

/* Owner, mode, xattrs and times of an open destination (file or folder). */
static int apply_meta_fd(struct cp *s, int in, int out, const struct stat *st, struct disp *what,
                         cb_error_t *err) {
  uid_t u = 0;
  gid_t g = 0;
  int oc = owner_change(s->c, st, &u, &g, what, err);
  if (oc < 0)
    return -1;
  if (oc && fchown(out, u, g) < 0)
    return cb_error_sys(err, "chown \"%s\"", D(what));
  if (fchmod(out, st->st_mode & 07777) < 0)
    return cb_error_sys(err, "chmod \"%s\"", D(what));
  if (in >= 0 && copy_xattrs(in, out, what, err) < 0)
    return -1;
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  if (futimens(out, ts) < 0)
    return cb_error_sys(err, "set the times of \"%s\"", D(what));
  return 0;
}

/* The destination folder for an entry at depth d (its parent's: the one on top). */
static int parent_fd(struct cp *s, int depth) {
  return depth == 0 ? s->dstdirfd : cb_fdstack_top(&s->dst);
}

/* The destination's top folder (the copy's own, or dstdirfd for a merge). */
static int top_fd(struct cp *s) {
  size_t n;
  return cb_fdstack_frame(&s->dst, 0, &n)[0];
}

/* chmod through a descriptor, O_PATH ones included (fchmod refuses those): fchmodat2
 * (Linux 6.6) on the descriptor itself, else its /proc/self/fd link, which is the inode
 * the descriptor holds, not a name looked up again. */
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
int cb_copy_chmod_fd(int fd, mode_t mode) {
  if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
    return 0;
  if (errno != ENOSYS && errno != EINVAL)
    return -1;
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  return chmod(proc, mode);
}

static const char *dst_name(struct cp *s, const struct cb_sr_entry *e) {
  return e->depth == 0 ? s->dstname : e->name;
}

/* The destination's relative path of an entry, from the destination's top. */
static const char *rel_path(const struct cb_sr_entry *e) {
  return e->path;
}

static int on_dir_pre(struct cp *s, const struct cb_sr_entry *e, cb_error_t *err) {
  int pfd = parent_fd(s, e->depth);
  if (e->depth == 0 && s->merge_top) {
    int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      return cb_error_sys(err, "open \"%s\"", dst_dir_display(s));
    cb_fdstack_push(&s->dst, &fd, NULL, 1);
    return 0;
  }
  const char *name = dst_name(s, e);
  struct stat st;
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      cleanup_free char *d = dst_display(s, e);
      return cb_error_make(err, 0, "cannot overwrite non-directory \"%s\" with directory \"%s\"", d,
                           dst_dir_display(s));
    }
  } else if (errno != ENOENT) {
    cleanup_free char *d = dst_display(s, e);
    return cb_error_sys(err, "lstat %s", d);
  } else if (mkdirat(pfd, name, 0700) < 0 && errno != EEXIST) {
    cleanup_free char *d = dst_display(s, e);
    return cb_error_sys(err, "mkdir %s", d);
  }
  int fd = cb_sr_openat_dir(pfd, name);
  if (fd < 0) {
    cleanup_disp struct disp d = {s, e, NULL};
    if (errno == ELOOP || errno == ENOTDIR)
      return cb_error_make(err, 0, "\"%s\" was replaced while being copied into", D(&d));
    return cb_error_sys(err, "open %s", D(&d));
  }
  cb_fdstack_push(&s->dst, &fd, NULL, 1);
  return 0;
}

static int on_dir_post(struct cp *s, const struct cb_sr_entry *e, cb_error_t *err) {
  int fd = cb_fdstack_top(&s->dst);
  int rc = 0;
  cleanup_disp struct disp d = {s, e, NULL};
  if (!(e->depth == 0 && s->merge_top))
    rc = apply_meta_fd(s, e->fd, fd, &e->st, &d, err);
  if (cb_fdstack_pop(&s->dst, err) < 0 && rc == 0)
    rc = cb_error_wrap(err, "%s", D(&d));
  s->c->entries++;
  return rc;
}

/* Owner, mode and times of the node just made as pfd/name (a symlink, device node or
 * FIFO), through an O_PATH descriptor on it, checked to be a node of the kind made: the
 * folder may be a container's, which can swap the name for a symlink (to a host path, as
 * this process resolves it) or anything else at any moment. Nothing is looked up by name
 * after the open. */
static int meta_node(struct cp *s, int pfd, const char *name, const struct stat *st,
                     struct disp *what, cb_error_t *err) {
  cleanup_close int fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  struct stat now;
  if (fd < 0 || fstat(fd, &now) < 0)
    return cb_error_sys(err, "open \"%s\"", D(what));
  if ((now.st_mode & S_IFMT) != (st->st_mode & S_IFMT) || now.st_nlink != 1)
    return cb_error_make(err, 0, "\"%s\" was replaced while being copied", D(what));
  uid_t u = 0;
  gid_t g = 0;
  int oc = owner_change(s->c, st, &u, &g, what, err);
  if (oc < 0)
    return -1;
  if (oc && fchownat(fd, "", u, g, AT_EMPTY_PATH) < 0)
    return cb_error_sys(err, "chown \"%s\"", D(what));
  if (!S_ISLNK(st->st_mode) && cb_copy_chmod_fd(fd, st->st_mode & 07777) < 0)
    return cb_error_sys(err, "chmod \"%s\"", D(what));
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  if (utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    return cb_error_sys(err, "set the times of \"%s\"", D(what));
  return 0;
}

/* Create the non-folder entry e under a temporary name in pfd (returned in tmp). */
static int make_leaf(struct cp *s, const struct cb_sr_entry *e, int pfd, const char *tmp,
                     struct disp *what, bool *created, cb_error_t *err) {
  *created = false;
  const struct stat *st = &e->st;
  char sd[SRC_DISPLAY_MAX + 1];
  /* An owner out of range is refused before anything is made. */
  uid_t u = 0;
  gid_t g = 0;
  if (owner_change(s->c, st, &u, &g, what, err) < 0)
    return -1;
  if (S_ISREG(st->st_mode) && st->st_size == 0 && *e->name) {
    /* Nothing to read: the source is not opened at all. */
    cleanup_close int out =
        openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
      return cb_error_sys(err, "create \"%s\"", D(what));
    *created = true;
    if (apply_meta_fd(s, -1, out, st, what, err) < 0)
      return -1;
    return copy_xattrs_at(e->dirfd, e->name, out, what, err);
  }
  if (S_ISREG(st->st_mode)) {
    /* O_PATH first: a FIFO or device swapped in since the stat is never opened. */
    cleanup_close int pin = *e->name ? openat(e->dirfd, e->name, O_PATH | O_NOFOLLOW | O_CLOEXEC)
                                     : fcntl(e->dirfd, F_DUPFD_CLOEXEC, 3);
    struct stat now;
    if (pin < 0 || fstat(pin, &now) < 0) {
      if (errno == ENOENT)
        return 1;
      return cb_error_sys(err, "open \"%s\"", src_display(e, sd));
    }
    if (!S_ISREG(now.st_mode))
      return cb_error_make(err, 0, "\"%s\" changed while being copied", src_display(e, sd));
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", pin);
    cleanup_close int in = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (in < 0)
      return cb_error_sys(err, "open \"%s\"", src_display(e, sd));
    cleanup_close int out =
        openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
      return cb_error_sys(err, "create \"%s\"", D(what));
    *created = true;
    int64_t n = cb_copy_data(in, out);
    if (n < 0)
      return cb_error_sys(err, "copy \"%s\"", D(what));
    s->c->bytes += (uint64_t)n;
    if (apply_meta_fd(s, in, out, &now, what, err) < 0)
      return -1;
    return 0;
  }
  if (S_ISLNK(st->st_mode)) {
    cleanup_free char *target = NULL;
    if (cb_sr_readlinkat(e->dirfd, e->name, &target) < 0) {
      if (errno == ENOENT)
        return 1;
      return cb_error_sys(err, "readlink \"%s\"", src_display(e, sd));
    }
    if (symlinkat(target, pfd, tmp) < 0)
      return cb_error_sys(err, "symlink \"%s\"", D(what));
    *created = true;
  } else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) || S_ISFIFO(st->st_mode)) {
    if (mknodat(pfd, tmp, (st->st_mode & S_IFMT) | 0600, st->st_rdev) < 0)
      return cb_error_sys(err, "mknod \"%s\"", D(what));
    *created = true;
  } else {
    return 1; /* sockets: skipped */
  }
  return meta_node(s, pfd, tmp, st, what, err);
}

/* A second name of a file already copied: link it to the first copy. Returns 1 when done,
 * 0 when it is the first of its kind (recorded), -1 on error. */
static int try_hardlink(struct cp *s, const struct cb_sr_entry *e, int pfd, const char *name,
                        bool replace, struct disp *what, cb_error_t *err) {
  if (!S_ISREG(e->st.st_mode) || e->st.st_nlink < 2 || e->depth == 0)
    return 0;
  struct link_ent key = {.dev = e->st.st_dev, .ino = e->st.st_ino};
  void *found = tfind(&key, &s->links, link_cmp);
  if (!found) {
    struct link_ent *l = xmalloc(sizeof *l);
    *l = key;
    l->path = xstrdup(rel_path(e));
    if (!tsearch(l, &s->links, link_cmp))
      oom();
    return 0;
  }
  const struct link_ent *l = *(struct link_ent **)found;
  if (!strcmp(l->path, rel_path(e)))
    return 0; /* this entry is the first copy (being made again under a temporary name) */
  /* The first copy, found again below the destination's top without any symlink. */
  cleanup_close int t =
      cb_sr_open(top_fd(s), l->path, O_PATH, CB_SR_BENEATH | CB_SR_NO_SYMLINKS | CB_SR_NOFOLLOW);
  if (t < 0)
    return 0; /* gone or moved: copy the data again */
  if (replace && unlinkat(pfd, name, 0) < 0 && errno != ENOENT)
    return cb_error_sys(err, "remove \"%s\"", D(what));
  if (linkat(t, "", pfd, name, AT_EMPTY_PATH) < 0)
    return cb_error_sys(err, "link \"%s\"", D(what));
  return 1;
}

static int on_leaf(struct cp *s, const struct cb_sr_entry *e, cb_error_t *err) {
  int pfd = parent_fd(s, e->depth);
  const char *name = e->depth == 0 && s->merge_top ? NULL : dst_name(s, e);
  cleanup_disp struct disp dwhat = {s, e, NULL};
  struct disp *what = &dwhat;
  if (!name)
    return cb_error_make(err, 0, "cannot overwrite directory \"%s\" with non-directory \"%s\"",
                         dst_dir_display(s), e->name);
  if (S_ISSOCK(e->st.st_mode))
    return 0;
  bool created = false;
  if (e->depth > 0) {
    /* Inside a tree a new name is made in place at once (O_EXCL, symlinkat, mknodat,
     * linkat: none follows or replaces anything); the name is looked at only when it
     * exists already. */
    int r = try_hardlink(s, e, pfd, name, false, what, err);
    if (r == 0)
      r = make_leaf(s, e, pfd, name, what, &created, err);
    if (r >= 0) {
      s->c->entries += r == 0;
      return 0;
    }
    if ((*err)->errno_ != EEXIST) {
      if (created)
        unlinkat(pfd, name, 0);
      return -1;
    }
    cb_error_release(err);
  }
  struct stat st;
  if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode))
      return cb_error_make(err, 0, "cannot overwrite directory \"%s\" with non-directory \"%s\"",
                           D(what), dst_dir_display(s));
  } else if (errno != ENOENT) {
    return cb_error_sys(err, "lstat %s", D(what));
  }
  /* The top, and what replaces an existing name, go through a temporary name and a rename:
   * the name never shows a half-written file, and an existing symlink is replaced, not
   * followed. */
  char tmp[64];
  random_name(tmp, sizeof tmp);
  int r = e->depth > 0 ? try_hardlink(s, e, pfd, tmp, false, what, err) : 0;
  if (r == 0)
    r = make_leaf(s, e, pfd, tmp, what, &created, err);
  if (r != 0) {
    unlinkat(pfd, tmp, 0);
    return r < 0 ? -1 : 0;
  }
  if (renameat(pfd, tmp, pfd, name) < 0) {
    int e2 = errno;
    unlinkat(pfd, tmp, 0);
    errno = e2;
    return cb_error_sys(err, "rename into \"%s\"", D(what));
  }
  s->c->entries++;
  return 0;
}

static int copy_cb(const struct cb_sr_entry *e, enum cb_sr_visit v, void *data, cb_error_t *err) {
  struct cp *s = data;
  switch (v) {
  case CB_SR_VISIT_PRE: return on_dir_pre(s, e, err);
  case CB_SR_VISIT_POST: return on_dir_post(s, e, err);
  case CB_SR_VISIT_LEAF: return on_leaf(s, e, err);
  }
  return 0;
}

int cb_copy_tree(int srcdirfd, const char *srcname, int dstdirfd, const char *dstname,
                 struct cb_copy *c, cb_error_t *err) {
  struct cp *s = xcalloc(1, sizeof *s);
  s->c = c;
  s->dstdirfd = dstdirfd;
  s->dstname = dstname;
  s->merge_top = !strcmp(dstname, ".");
  cb_fdstack_init(&s->dst, 0);
  unsigned wf = (c->flags & CB_COPY_SKIP_PSEUDO) ? CB_SR_WALK_SKIP_PSEUDO : 0;
  int rc = cb_sr_walk(srcdirfd, srcname, wf, copy_cb, s, err);
  cb_fdstack_release(&s->dst);
  tdestroy(s->links, link_free);
  free(s);
  return rc;
}
