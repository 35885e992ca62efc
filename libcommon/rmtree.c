/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rm -rf under a folder descriptor (util.h), for trees of any depth: the walk keeps its
 * folders on the heap and at most CB_FDSTACK_MAX_OPEN descriptors open (fdstack.h), never
 * recurses and never resolves a path string, so a container's 100,000-level chain of
 * folders goes like any other tree. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/dirlist.h"
#include "crowbar/fdstack.h"
#include "crowbar/util.h"

/* A folder being emptied: the names of its subfolders (the rest went when it was read). */
struct rmframe {
  char *names; /* NUL-separated */
  size_t *off;
  size_t n, next;
  size_t plen; /* the length of the path before this folder's name */
};

struct rm {
  struct cb_fdstack fds;
  struct rmframe *v;
  size_t depth, cap;
  dev_t dev;
  char *path; /* of the current folder, for messages */
  size_t plen, pcap;
};

static void path_push(struct rm *r, const char *name) {
  size_t nl = strlen(name);
  if (r->plen + nl + 2 > r->pcap) {
    r->pcap = (r->plen + nl + 2) * 2;
    r->path = xrealloc(r->path, r->pcap);
  }
  if (r->plen)
    r->path[r->plen++] = '/';
  memcpy(r->path + r->plen, name, nl + 1);
  r->plen += nl;
}

/* The current folder's path, or name in it, for a message (long ones shortened). */
static char *where(const struct rm *r, const char *name) {
  cleanup_free char *full = *r->path ? xasprintf("%s/%s", r->path, name) : xstrdup(name);
  return cb_path_abbrev(full, 200);
}

static int rm_fail(struct rm *r, cb_error_t *err, const char *what, const char *name) {
  int e = errno;
  cleanup_free char *p = where(r, name);
  errno = e;
  return cb_error_sys(err, "%s `%s`", what, p);
}

/* Read the folder on top: unlink what is not a folder, keep the subfolders' names. */
static int empty_files(struct rm *r, struct rmframe *f, cb_error_t *err) {
  int fd = cb_fdstack_top(&r->fds);
  struct cb_dirent *v = NULL;
  size_t n = 0;
  cleanup_free char *names = NULL;
  if (cb_dir_read(fd, false, &v, &n, &names, err) < 0) {
    cleanup_free char *p = cb_path_abbrev(*r->path ? r->path : ".", 200);
    return cb_error_wrap(err, "`%s`", p);
  }
  cleanup_free struct cb_dirent *vv = v;
  size_t len = 0, nd = 0;
  for (size_t i = 0; i < n; i++) {
    bool dir = v[i].type == DT_DIR;
    if (v[i].type == DT_UNKNOWN) {
      struct stat st;
      if (fstatat(fd, v[i].name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
          continue;
        return rm_fail(r, err, "stat", v[i].name);
      }
      dir = S_ISDIR(st.st_mode);
    }
    if (dir) {
      /* Kept, compacted at the front of the names block (names only move down). */
      size_t l = strlen(v[i].name) + 1;
      memmove(names + len, v[i].name, l);
      v[nd++].name = (char *)(uintptr_t)len;
      len += l;
      continue;
    }
    if (unlinkat(fd, v[i].name, 0) < 0 && errno != ENOENT) {
      if (errno != EISDIR)
        return rm_fail(r, err, "unlink", v[i].name);
      /* A folder now (renamed in since the read): removed as one. */
      size_t l = strlen(v[i].name) + 1;
      memmove(names + len, v[i].name, l);
      v[nd++].name = (char *)(uintptr_t)len;
      len += l;
    }
  }
  f->n = nd;
  f->next = 0;
  if (nd) {
    f->names = xrealloc(steal_pointer(&names), len);
    f->off = xmalloc(nd * sizeof *f->off);
    for (size_t i = 0; i < nd; i++)
      f->off[i] = (size_t)(uintptr_t)v[i].name;
  }
  return 0;
}

static int push_dir(struct rm *r, int fd, cb_error_t *err) {
  if (r->depth == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 64;
    r->v = xrealloc(r->v, r->cap * sizeof *r->v);
  }
  struct rmframe *f = &r->v[r->depth++];
  memset(f, 0, sizeof *f);
  cb_fdstack_push(&r->fds, &fd, NULL, 1);
  return empty_files(r, f, err);
}

static void frame_free(struct rmframe *f) {
  free(f->names);
  free(f->off);
  f->names = NULL;
  f->off = NULL;
}

/* Remove the contents of the folder fd (taken over). */
static int rm_contents(struct rm *r, int fd, cb_error_t *err) {
  if (push_dir(r, fd, err) < 0)
    return -1;
  while (r->depth > 0) {
    struct rmframe *f = &r->v[r->depth - 1];
    int top = cb_fdstack_top(&r->fds);
    if (f->next < f->n) {
      const char *name = f->names + f->off[f->next++];
      int c = openat(top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (c < 0) {
        if (errno == ENOENT)
          continue;
        if (errno == ENOTDIR || errno == ELOOP) {
          /* Not a folder any more: it goes as a file. */
          if (unlinkat(top, name, 0) < 0 && errno != ENOENT)
            return rm_fail(r, err, "unlink", name);
          continue;
        }
        return rm_fail(r, err, "open", name);
      }
      struct stat st;
      if (fstat(c, &st) < 0) {
        close(c);
        return rm_fail(r, err, "stat", name);
      }
      if (st.st_dev != r->dev) {
        close(c);
        cleanup_free char *p = where(r, name);
        return cb_error_make(err, EBUSY, "refusing to remove mount point `%s`", p);
      }
      size_t plen = r->plen;
      path_push(r, name);
      if (push_dir(r, c, err) < 0)
        return -1;
      r->v[r->depth - 1].plen = plen;
      continue;
    }
    /* Empty now: out of it, and remove it from its parent (unless it is the top). */
    size_t plen = f->plen;
    frame_free(f);
    r->depth--;
    if (cb_fdstack_pop(&r->fds, err) < 0) {
      cleanup_free char *p = cb_path_abbrev(r->path, 200);
      return cb_error_wrap(err, "`%s`", p);
    }
    if (r->depth == 0)
      break;
    const char *name = r->path + plen + (plen ? 1 : 0);
    if (unlinkat(cb_fdstack_top(&r->fds), name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
      int e = errno;
      cleanup_free char *n = xstrdup(name);
      r->plen = plen;
      r->path[plen] = '\0';
      errno = e;
      return rm_fail(r, err, "rmdir", n);
    }
    r->plen = plen;
    r->path[plen] = '\0';
  }
  return 0;
}

int cb_rm_rf_at(int dirfd, const char *name, cb_error_t *err) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT)
      return 0;
    return cb_error_sys(err, "stat `%s`", name);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
      return cb_error_sys(err, "unlink `%s`", name);
    return 0;
  }
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cb_error_sys(err, "open `%s`", name);
  struct rm r = {.dev = st.st_dev};
  cb_fdstack_init(&r.fds, 0);
  r.pcap = 256;
  r.path = xmalloc(r.pcap);
  r.path[0] = '\0';
  int rc = rm_contents(&r, fd, err);
  for (size_t i = 0; i < r.depth; i++)
    frame_free(&r.v[i]);
  free(r.v);
  free(r.path);
  cb_fdstack_release(&r.fds);
  if (rc < 0)
    return cb_error_wrap(err, "remove `%s`", name);
  if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return cb_error_sys(err, "rmdir `%s`", name);
  return 0;
}

int cb_rm_rf(const char *path, cb_error_t *err) {
  return cb_rm_rf_at(AT_FDCWD, path, err);
}
