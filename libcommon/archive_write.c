/* SPDX-License-Identifier: GPL-2.0-or-later */
/* archive.h, the writing side: a folder tree as a tar stream (libarchive's pax writer for
 * the headers, our own large reads and writes for the data). Kept apart from the
 * extraction code in archive.c. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "crowbar/archive.h"
#include "crowbar/saferoot.h"
#include "crowbar/cleanup.h"
#include "crowbar/dirlist.h"
#include "crowbar/fdstack.h"
#include "crowbar/util.h"

#define READ_BUF (1u << 20)
#define OUT_BUF (256u << 10)
#define PROGRESS_BYTES (4u << 20)
#define PROGRESS_ENTRIES 1000
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OPAQUE_XATTR "trusted.overlay.opaque"

/* ---- hard links: (dev, ino) -> first archive path ----------------------------------------- */

struct link {
  dev_t dev;
  ino_t ino;
  char *path; /* NULL: empty slot */
};

struct links {
  struct link *v;
  size_t cap, n;
};

static size_t link_hash(dev_t dev, ino_t ino, size_t cap) {
  uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;
  return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static struct link *link_slot(struct links *l, dev_t dev, ino_t ino) {
  size_t i = link_hash(dev, ino, l->cap);
  while (l->v[i].path && (l->v[i].dev != dev || l->v[i].ino != ino))
    i = (i + 1) & (l->cap - 1);
  return &l->v[i];
}

/* The first path of this inode, or NULL after recording path as the first. */
static const char *link_find_or_add(struct links *l, dev_t dev, ino_t ino, const char *path) {
  if (l->n * 2 >= l->cap) {
    struct links g = {xcalloc(l->cap ? l->cap * 2 : 64, sizeof *g.v), l->cap ? l->cap * 2 : 64,
                      l->n};
    for (size_t i = 0; i < l->cap; i++)
      if (l->v[i].path)
        *link_slot(&g, l->v[i].dev, l->v[i].ino) = l->v[i];
    free(l->v);
    *l = g;
  }
  struct link *s = link_slot(l, dev, ino);
  if (s->path)
    return s->path;
  s->dev = dev;
  s->ino = ino;
  s->path = xstrdup(path);
  l->n++;
  return NULL;
}

static void links_free(struct links *l) {
  for (size_t i = 0; i < l->cap; i++)
    free(l->v[i].path);
  free(l->v);
}

/* ---- the writer --------------------------------------------------------------------------- */

struct tw {
  struct archive *a;
  struct archive_entry *e;
  struct cb_tar_write *w;
  int out;
  int out_errno; /* the write error, for the message */
  bool unionfs;  /* the tree is a stack of overlay layers (cb_archive_write_union) */
  uint64_t *mnt; /* the mount of each layer's top folder */
  bool noatime;
  struct links links;
  char *path; /* the current archive name */
  size_t plen, pcap;
  char *buf; /* file data */
  char *obuf;
  size_t olen;
  uint64_t next_progress_bytes, next_progress_entries;
  char *xnames; /* listxattr buffer */
  size_t xcap;
  char *xval;
  size_t xvcap;
  struct pf *pf;         /* the metadata prefetcher, once a big folder started it */
  int pf_nest;           /* folders on the way down with a prefetch job */
  struct cb_fdstack fds; /* the folders on the way down (one frame per level) */
};

static int flush_out(struct tw *t) {
  if (t->olen && cb_write_all(t->out, t->obuf, t->olen) < 0) {
    t->out_errno = errno;
    return -1;
  }
  t->olen = 0;
  return 0;
}

static la_ssize_t out_write(struct archive *a, void *data, const void *buf, size_t len) {
  struct tw *t = data;
  if (len >= OUT_BUF) {
    if (flush_out(t) < 0 || cb_write_all(t->out, buf, len) < 0) {
      if (!t->out_errno)
        t->out_errno = errno;
      archive_set_error(a, t->out_errno, "write: %s", strerror(t->out_errno));
      return -1;
    }
  } else {
    if (t->olen + len > OUT_BUF && flush_out(t) < 0) {
      archive_set_error(a, t->out_errno, "write: %s", strerror(t->out_errno));
      return -1;
    }
    memcpy(t->obuf + t->olen, buf, len);
    t->olen += len;
  }
  t->w->stats.written += len;
  return (la_ssize_t)len;
}

static int out_close(struct archive *a, void *data) {
  struct tw *t = data;
  if (flush_out(t) < 0) {
    archive_set_error(a, t->out_errno, "write: %s", strerror(t->out_errno));
    return ARCHIVE_FATAL;
  }
  return ARCHIVE_OK;
}

static int archive_fail(struct tw *t, cb_error_t *err, const char *what) {
  if (t->out_errno)
    return cb_error_make(err, t->out_errno, "write the archive");
  const char *m = archive_error_string(t->a);
  return cb_error_make(err, 0, "%s `%s`: %s", what, t->path, m ? m : "archive error");
}

static void path_push(struct tw *t, const char *name, size_t *saved) {
  size_t nl = strlen(name);
  *saved = t->plen;
  if (t->plen + nl + 2 > t->pcap) {
    t->pcap = (t->plen + nl + 2) * 2;
    t->path = xrealloc(t->path, t->pcap);
  }
  if (t->plen)
    t->path[t->plen++] = '/';
  memcpy(t->path + t->plen, name, nl + 1);
  t->plen += nl;
}

static void path_pop(struct tw *t, size_t saved) {
  t->plen = saved;
  t->path[t->plen] = '\0';
}

static void progress(struct tw *t) {
  struct cb_tar_write *w = t->w;
  if (!w->progress)
    return;
  if (w->stats.data >= t->next_progress_bytes || w->stats.entries >= t->next_progress_entries) {
    w->progress(&w->stats, w->progress_arg);
    t->next_progress_bytes = w->stats.data + PROGRESS_BYTES;
    t->next_progress_entries = w->stats.entries + PROGRESS_ENTRIES;
  }
}

/* The overlay xattrs (after "trusted.overlay.") that only mean something in an upper dir:
 * inode identity and readdir bookkeeping, nothing of the files' contents. */
static bool upper_only_xattr(const char *name) {
  static const char *const v[] = {"origin", "impure", "uuid", "nlink", "upper"};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (!strcmp(name, v[i]))
      return true;
  return false;
}

/* listxattrat(2) and getxattrat(2) (Linux 6.13): the xattrs of dirfd/name without
 * opening it and without a trip through /proc. */
#ifndef SYS_getxattrat
#define SYS_getxattrat 464
#endif
#ifndef SYS_listxattrat
#define SYS_listxattrat 465
#endif
struct xattr_args_compat {
  uint64_t value;
  uint32_t size;
  uint32_t flags;
};
static _Atomic bool have_xattrat = true;

static ssize_t listxattr_at(int dirfd, const char *name, const char *proc, char *list,
                            size_t size) {
  if (have_xattrat) {
    long r = syscall(SYS_listxattrat, dirfd, name,
                     AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH), list, size);
    if (r >= 0 || errno != ENOSYS)
      return r;
    have_xattrat = false;
  }
  return llistxattr(proc, list, size);
}

static ssize_t getxattr_at(int dirfd, const char *name, const char *proc, const char *key,
                           char *value, size_t size) {
  if (have_xattrat) {
    struct xattr_args_compat args = {.value = (uint64_t)(uintptr_t)value, .size = (uint32_t)size};
    long r = syscall(SYS_getxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW | (*name ? 0 : AT_EMPTY_PATH),
                     key, &args, sizeof args);
    if (r >= 0 || errno != ENOSYS)
      return r;
    have_xattrat = false;
  }
  return lgetxattr(proc, key, value, size);
}

/* Add the xattrs of the entry (fd, or dirfd/name when fd < 0) to t->e; *opaque tells
 * whether trusted.overlay.opaque is "y". With CB_TAR_STRIP_UPPER, overlay's upper-only
 * xattrs are removed from the entry on the way. */
static int add_xattrs(struct tw *t, int fd, int dirfd, const char *name, bool *opaque,
                      cb_error_t *err) {
  char proc[64 + NAME_MAX];
  if (fd < 0)
    snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", dirfd, name);
  ssize_t n;
  for (;;) {
    n = fd >= 0 ? flistxattr(fd, t->xnames, t->xcap)
                : listxattr_at(dirfd, name, proc, t->xnames, t->xcap);
    if (n >= 0)
      break;
    if (errno == ENOTSUP || errno == ENOENT)
      return 0;
    if (errno != ERANGE)
      return cb_error_sys(err, "list the xattrs of `%s`", t->path);
    ssize_t need = fd >= 0 ? flistxattr(fd, NULL, 0) : listxattr_at(dirfd, name, proc, NULL, 0);
    if (need < 0)
      return cb_error_sys(err, "list the xattrs of `%s`", t->path);
    t->xcap = (size_t)need + 256;
    t->xnames = xrealloc(t->xnames, t->xcap);
  }
  bool strip = t->w->flags & CB_TAR_STRIP_UPPER;
  bool kept = false;
  for (char *x = t->xnames; x < t->xnames + n; x += strlen(x) + 1) {
    bool overlay = !strncmp(x, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX));
    if (overlay && strip && upper_only_xattr(x + strlen(OVERLAY_XATTR_PREFIX))) {
      int r = fd >= 0 ? fremovexattr(fd, x) : lremovexattr(proc, x);
      if (r < 0 && errno != ENODATA)
        return cb_error_sys(err, "remove the xattr %s of `%s`", x, t->path);
      continue;
    }
    if (overlay && !(opaque && !strcmp(x, OPAQUE_XATTR))) {
      kept = true;
      continue;
    }
    ssize_t v;
    for (;;) {
      v = fd >= 0 ? fgetxattr(fd, x, t->xval, t->xvcap)
                  : getxattr_at(dirfd, name, proc, x, t->xval, t->xvcap);
      if (v >= 0)
        break;
      if (errno == ENODATA)
        break;
      if (errno != ERANGE)
        return cb_error_sys(err, "read the xattr %s of `%s`", x, t->path);
      ssize_t need =
          fd >= 0 ? fgetxattr(fd, x, NULL, 0) : getxattr_at(dirfd, name, proc, x, NULL, 0);
      if (need < 0)
        return cb_error_sys(err, "read the xattr %s of `%s`", x, t->path);
      t->xvcap = (size_t)need + 256;
      t->xval = xrealloc(t->xval, t->xvcap);
    }
    if (v < 0)
      continue;
    if (overlay) {
      *opaque = v == 1 && t->xval[0] == 'y';
      continue;
    }
    archive_entry_xattr_add_entry(t->e, x, t->xval, (size_t)v);
  }
  if (kept && strip)
    t->w->stats.overlay_kept++;
  return 0;
}

static void entry_from_statx(struct archive_entry *e, const struct statx *st) {
  archive_entry_set_mode(e, st->stx_mode);
  archive_entry_set_uid(e, st->stx_uid);
  archive_entry_set_gid(e, st->stx_gid);
  archive_entry_set_mtime(e, st->stx_mtime.tv_sec, st->stx_mtime.tv_nsec);
}

static int write_header(struct tw *t, cb_error_t *err) {
  int r = archive_write_header(t->a, t->e);
  if (r < ARCHIVE_WARN)
    return archive_fail(t, err, "archive");
  t->w->stats.entries++;
  return 0;
}

/* Copy exactly size bytes of fd into the archive (zeros when it shrank). */
static int write_data(struct tw *t, int fd, uint64_t size, cb_error_t *err) {
  uint64_t left = size;
  bool eof = false;
  while (left > 0) {
    size_t want = left < READ_BUF ? (size_t)left : READ_BUF;
    ssize_t n = 0;
    if (!eof) {
      n = read(fd, t->buf, want);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return cb_error_sys(err, "read `%s`", t->path);
      }
      if (n == 0)
        eof = true;
    }
    if (eof) {
      n = (ssize_t)want;
      memset(t->buf, 0, want);
    }
    if (archive_write_data(t->a, t->buf, (size_t)n) < 0)
      return archive_fail(t, err, "archive");
    left -= (uint64_t)n;
    t->w->stats.data += (uint64_t)n;
  }
  return 0;
}

/* The data of a file read ahead: len bytes of buf, then zeros up to size (it shrank). */
static int write_buf(struct tw *t, const char *buf, size_t len, uint64_t size, cb_error_t *err) {
  if (len > size)
    len = (size_t)size;
  if (len && archive_write_data(t->a, buf, len) < 0)
    return archive_fail(t, err, "archive");
  if (size > len) {
    memset(t->buf, 0, (size_t)(size - len));
    if (archive_write_data(t->a, t->buf, (size_t)(size - len)) < 0)
      return archive_fail(t, err, "archive");
  }
  t->w->stats.data += size;
  return 0;
}

static int statx_at(int dirfd, const char *name, int flags, struct statx *st) {
  return statx(dirfd, name, flags | AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
               STATX_BASIC_STATS | STATX_MNT_ID, st);
}

/* /proc/self/fd, opened once: reopening "N" in it is one lookup, not four. */
static int proc_fd_dir(void) {
  static _Atomic int dir = -1;
  int d = atomic_load(&dir);
  if (d >= 0)
    return d;
  d = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
  int expected = -1;
  if (d >= 0 && !atomic_compare_exchange_strong(&dir, &expected, d)) {
    close(d);
    d = expected;
  }
  return d;
}

/* Open for reading what the O_PATH descriptor p is (the caller checked: a regular file). */
static int reopen_read(int p, bool *noatime) {
  char num[16];
  snprintf(num, sizeof num, "%d", p);
  int procdir = proc_fd_dir();
  if (procdir < 0)
    return -1;
  int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
  int fd = openat(procdir, num, flags | (*noatime ? O_NOATIME : 0));
  if (fd < 0 && errno == EPERM && *noatime) {
    *noatime = false;
    fd = openat(procdir, num, flags);
  }
  return fd;
}

/* Open dirfd/name for reading only if it is a regular file. It is opened O_PATH first and
 * reopened through /proc/self/fd only once statx says "regular": a device node or FIFO
 * that a container swapped in since the folder was read is never opened (opening some
 * devices acts: a watchdog starts, a tape rewinds). ENXIO when it is not regular. The
 * statx of what was opened goes to st. */
static int open_regular(int dirfd, const char *name, bool *noatime, struct statx *st) {
  /* name "": dirfd itself (an O_PATH descriptor on the file). */
  int p = *name ? openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC) : dirfd;
  if (p < 0)
    return -1;
  int fd = -1;
  if (statx_at(p, "", AT_EMPTY_PATH, st) < 0)
    goto out;
  if (!S_ISREG(st->stx_mode)) {
    errno = ENXIO;
    goto out;
  }
  fd = reopen_read(p, noatime);
out:;
  int e = errno;
  if (p != dirfd)
    close(p);
  errno = e;
  return fd;
}

/* ---- metadata prefetch -------------------------------------------------------------------
 *
 * In a big folder, a tree of small files costs two system calls per entry (statx and
 * listxattrat), and on overlayfs each is a few microseconds: a second thread makes them
 * for the entries ahead of the one being archived, so that both CPUs work. The archive is
 * unchanged: the writer still archives in order, and anything the prefetch could not
 * settle (an error, an entry with xattrs, a regular file with data, which is opened and
 * stat'ed again anyway) is done again by the writer itself. The thread only reads
 * metadata, relative to the folder's descriptor, the same calls the writer would make. */

#define PF_MIN 256    /* folders with fewer entries are not prefetched */
#define PF_WINDOW 256 /* entries ahead of the writer (each may hold an open file) */
#define PF_DATA 4096  /* files this small are read whole ahead of the writer */
#define PF_NEST 4     /* folders on the way down with a job at once (each pins its folder) */
#define PF_HELD 256   /* files the prefetcher holds open for the writer, all jobs together */

struct pf_res {
  struct statx st;
  int ok;       /* st is valid */
  int fd;       /* a regular file with data, opened; the writer takes it (else -1) */
  ssize_t xlen; /* the xattr list's size: 0 = none (else the writer looks itself) */
  bool whole;   /* data holds the whole file (fd already closed) */
  size_t dlen;
  char data[PF_DATA];
};

struct pf_job {
  int dirfd;
  struct cb_dirent *v;
  size_t n;
  atomic_size_t next;    /* the next index to claim */
  atomic_size_t emitted; /* entries the writer is done with */
  atomic_long data_bias; /* files with data seen minus empty ones, lately */
  struct pf_res *res;    /* PF_WINDOW slots, index % PF_WINDOW */
  atomic_long *done;     /* slot -> the index whose result it holds */
  struct pf_job *parent;
  int users;        /* the thread is working on this job (under mu) */
  atomic_int *held; /* descriptors held in results, all jobs together (PF_HELD at most) */
};

struct pf {
  pthread_t th;
  pthread_mutex_t mu;
  pthread_cond_t cv, idle;
  struct pf_job *_Atomic active;
  bool quit;
  atomic_int held;
};

static void pf_compute(struct pf_job *j, size_t k) {
  struct pf_res *r = &j->res[k % PF_WINDOW];
  const char *name = j->v[k].name;
  r->ok = 0;
  r->fd = -1;
  r->xlen = -1;
  r->whole = false;
  r->dlen = 0;
  bool noatime = true;
  int fd = -1;
  if (j->v[k].type == DT_DIR)
    goto out; /* folders are the writer's */
  /* Where most files have data, one O_PATH open and its statx (the opened file's, which is
   * what the archive describes) beat a statx by name and then the same again; where most
   * are empty, the statx by name alone does. */
  if (j->v[k].type == DT_REG && atomic_load_explicit(&j->data_bias, memory_order_relaxed) > 0) {
    int p = openat(j->dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (p < 0)
      goto out;
    if (statx_at(p, "", AT_EMPTY_PATH, &r->st) < 0 || !S_ISREG(r->st.stx_mode) ||
        r->st.stx_size == 0) {
      close(p);
      goto by_name;
    }
    fd = reopen_read(p, &noatime); /* a regular file: never a device or FIFO */
    close(p);
    if (fd < 0)
      goto out;
  } else {
    if (statx_at(j->dirfd, name, 0, &r->st) < 0)
      goto out;
  by_name:;
    mode_t fmt = r->st.stx_mode & S_IFMT;
    if (fmt == S_IFDIR)
      goto out;
    if (fmt != S_IFREG || r->st.stx_size == 0) {
      r->ok = 1;
      if (fmt == S_IFREG && atomic_load_explicit(&j->data_bias, memory_order_relaxed) > -64)
        atomic_fetch_sub_explicit(&j->data_bias, 1, memory_order_relaxed);
      if (have_xattrat)
        r->xlen = syscall(SYS_listxattrat, j->dirfd, name, AT_SYMLINK_NOFOLLOW, NULL, 0);
      goto out;
    }
    /* A file with data: opened as the writer would (never if it stopped being regular),
     * and stat'ed again through the descriptor. */
    fd = open_regular(j->dirfd, name, &noatime, &r->st);
    if (fd < 0)
      goto out;
  }
  if (atomic_load_explicit(&j->data_bias, memory_order_relaxed) < 64)
    atomic_fetch_add_explicit(&j->data_bias, 1, memory_order_relaxed);
  r->ok = 1;
  r->xlen = flistxattr(fd, NULL, 0);
  if (r->st.stx_size <= PF_DATA) {
    size_t want = (size_t)r->st.stx_size;
    while (r->dlen < want) {
      ssize_t n = read(fd, r->data + r->dlen, want - r->dlen);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      r->dlen += (size_t)n;
    }
    r->whole = true; /* short: the writer pads with zeros, as for a file that shrank */
    close(fd);
  } else if (atomic_fetch_add(j->held, 1) < PF_HELD) {
    r->fd = fd; /* the writer's now (it counts it out of held) */
  } else {
    atomic_fetch_sub(j->held, 1);
    close(fd); /* enough held: the writer opens this one itself */
  }
out:
  atomic_store_explicit(&j->done[k % PF_WINDOW], (long)k, memory_order_release);
}

/* Claim and compute one entry of j; false when there is none to claim now. */
static bool pf_step(struct pf_job *j) {
  size_t k = atomic_load(&j->next);
  if (k >= j->n || k >= atomic_load(&j->emitted) + PF_WINDOW)
    return false;
  if (atomic_compare_exchange_weak(&j->next, &k, k + 1))
    pf_compute(j, k);
  return true;
}

static bool pf_claimable(struct pf_job *j) {
  size_t k = atomic_load(&j->next);
  return k < j->n && k < atomic_load(&j->emitted) + PF_WINDOW;
}

static void *pf_thread(void *arg) {
  struct pf *pf = arg;
  pthread_mutex_lock(&pf->mu);
  for (;;) {
    struct pf_job *j = atomic_load(&pf->active);
    if (pf->quit)
      break;
    if (!j || !pf_claimable(j)) {
      pthread_cond_wait(&pf->cv, &pf->mu);
      continue;
    }
    j->users++;
    pthread_mutex_unlock(&pf->mu);
    while (atomic_load(&pf->active) == j && pf_step(j))
      ;
    pthread_mutex_lock(&pf->mu);
    if (--j->users == 0)
      pthread_cond_broadcast(&pf->idle);
  }
  pthread_mutex_unlock(&pf->mu);
  return NULL;
}

static struct pf *pf_get(struct tw *t) {
  if (t->pf)
    return t->pf;
  static long ncpu;
  if (!ncpu)
    ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < 2)
    return NULL;
  struct pf *pf = xcalloc(1, sizeof *pf);
  pthread_mutex_init(&pf->mu, NULL);
  pthread_cond_init(&pf->cv, NULL);
  pthread_cond_init(&pf->idle, NULL);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int r = pthread_create(&pf->th, NULL, pf_thread, pf);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r != 0) {
    free(pf);
    return NULL;
  }
  t->pf = pf;
  return pf;
}

static void pf_stop(struct tw *t) {
  struct pf *pf = t->pf;
  if (!pf)
    return;
  pthread_mutex_lock(&pf->mu);
  pf->quit = true;
  pthread_cond_broadcast(&pf->cv);
  pthread_mutex_unlock(&pf->mu);
  pthread_join(pf->th, NULL);
  pthread_mutex_destroy(&pf->mu);
  pthread_cond_destroy(&pf->cv);
  pthread_cond_destroy(&pf->idle);
  free(pf);
  t->pf = NULL;
}

static bool pf_begin(struct tw *t, struct pf_job *j, int dirfd, struct cb_dirent *v, size_t n) {
  if (n < PF_MIN || t->pf_nest >= PF_NEST)
    return false;
  struct pf *pf = pf_get(t);
  if (!pf)
    return false;
  j->dirfd = dirfd;
  j->v = v;
  j->n = n;
  atomic_init(&j->next, 0);
  atomic_init(&j->emitted, 0);
  atomic_init(&j->data_bias, 0);
  j->res = xmalloc(PF_WINDOW * sizeof *j->res);
  j->done = xmalloc(PF_WINDOW * sizeof *j->done);
  for (size_t i = 0; i < PF_WINDOW; i++)
    atomic_init(&j->done[i], -1);
  j->users = 0;
  j->held = &pf->held;
  t->pf_nest++;
  pthread_mutex_lock(&pf->mu);
  j->parent = atomic_load(&pf->active);
  atomic_store(&pf->active, j);
  pthread_cond_signal(&pf->cv);
  pthread_mutex_unlock(&pf->mu);
  return true;
}

/* taken: the entries handed to the writer (they own their descriptors). */
static void pf_end(struct tw *t, struct pf_job *j, size_t taken) {
  struct pf *pf = t->pf;
  pthread_mutex_lock(&pf->mu);
  atomic_store(&pf->active, j->parent);
  while (j->users > 0)
    pthread_cond_wait(&pf->idle, &pf->mu);
  pthread_cond_signal(&pf->cv);
  pthread_mutex_unlock(&pf->mu);
  size_t next = atomic_load(&j->next);
  for (size_t k = taken; k < next; k++) {
    struct pf_res *r = &j->res[k % PF_WINDOW];
    if (atomic_load(&j->done[k % PF_WINDOW]) == (long)k && r->fd >= 0) {
      close(r->fd);
      atomic_fetch_sub(&pf->held, 1);
    }
  }
  free(j->res);
  free(j->done);
  t->pf_nest--;
}

/* The prefetched metadata of entry i, helping with the entries ahead while the thread
 * still works on it. (The writer never makes entry i itself instead: the thread would
 * then still hold its slot while the writer moves on and reuses it.) */
static const struct pf_res *pf_wait(struct tw *t, struct pf_job *j, size_t i) {
  atomic_store(&j->emitted, i);
  if (i % (PF_WINDOW / 8) == 0) {
    pthread_mutex_lock(&t->pf->mu);
    pthread_cond_signal(&t->pf->cv);
    pthread_mutex_unlock(&t->pf->mu);
  }
  for (unsigned spins = 0;; spins++) {
    if (atomic_load_explicit(&j->done[i % PF_WINDOW], memory_order_acquire) == (long)i)
      return &j->res[i % PF_WINDOW];
    if (!pf_step(j) && spins > 64)
      sched_yield();
  }
}

/* A folder to walk: its folders (one, or the layers of a union folder), descriptors and
 * layer numbers. */
struct child {
  int *fds;
  size_t *layers;
  size_t n;
};

static int open_noatime(struct tw *t, int dirfd, const char *name, int flags) {
  if (t->noatime) {
    int fd = openat(dirfd, name, flags | O_NOATIME);
    if (fd >= 0 || errno != EPERM)
      return fd;
    t->noatime = false;
  }
  return openat(dirfd, name, flags);
}

static bool is_whiteout_at(int dirfd, const char *name) {
  struct statx st;
  return statx_at(dirfd, name, 0, &st) == 0 && S_ISCHR(st.stx_mode) && st.stx_rdev_major == 0 &&
         st.stx_rdev_minor == 0;
}

/* The folders a union folder is made of, below its topmost one (fd, at fds[k], taken
 * over): the same name in the deeper layers while they hold a folder, stopping after an
 * opaque one. At the top (name ""), the deeper layers' own top folders. The descriptors
 * are new. */
static int union_children(struct tw *t, const int *fds, const size_t *layers, size_t n, size_t k,
                          const char *name, int fd, bool opaque, struct child *c, cb_error_t *err) {
  c->fds = xmalloc((n - k) * sizeof *c->fds);
  c->layers = xmalloc((n - k) * sizeof *c->layers);
  c->n = 0;
  c->fds[c->n] = fd;
  c->layers[c->n++] = layers[k];
  for (size_t j = k + 1; j < n && !opaque; j++) {
    int d = openat(fds[j], *name ? name : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0) {
      if (errno == ENOENT)
        continue;
      if (errno == ENOTDIR || errno == ELOOP)
        break; /* a file, a symlink or a whiteout: nothing below shows through */
      cleanup_free char *p = cb_path_abbrev(t->path, 200);
      return cb_error_sys(err, "open a lower layer's `%s`", p);
    }
    char x[2];
    opaque = fgetxattr(d, OPAQUE_XATTR, x, sizeof x) == 1 && x[0] == 'y';
    c->fds[c->n] = d;
    c->layers[c->n++] = layers[j];
  }
  return 0;
}

static void child_release(struct child *c) {
  for (size_t i = 0; i < c->n; i++)
    if (c->fds[i] >= 0)
      close(c->fds[i]);
  free(c->fds);
  free(c->layers);
  memset(c, 0, sizeof *c);
}

/* One entry: fds[k]/name (name "" for that folder itself), archived as t->path. fds and
 * layers (their layer numbers) are the folders of the union folder it is in (one folder
 * outside union mode). top: the walk's first entry (archived only when it has a name).
 * A folder whose entries are to be archived next is left in *c (n > 0), for the caller to
 * walk. */
static int write_entry(struct tw *t, const int *fds, const size_t *layers, size_t n, size_t k,
                       const char *name, unsigned char type, bool top, bool emit,
                       const struct pf_res *pre, struct child *c, cb_error_t *err) {
  int dirfd = fds[k];
  struct statx st;
  cleanup_close int fd = -1;
  const char *at = *name ? name : "";
  int empty = *name ? 0 : AT_EMPTY_PATH;
  if (pre && pre->ok && pre->fd >= 0) {
    fd = pre->fd; /* ours now, whatever happens */
    ((struct pf_res *)pre)->fd = -1;
    atomic_fetch_sub(&t->pf->held, 1);
  }
  /* Folders are opened at once; a regular file only once statx says it has data: an
   * empty file (most of a tree of small files) costs a statx and a listxattrat, no open,
   * which on overlayfs is the most expensive call of all. */
  if (type == DT_DIR) {
    int oflags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_DIRECTORY;
    fd = *name ? open_noatime(t, dirfd, name, oflags) : openat(dirfd, ".", oflags);
    if (fd < 0 && errno == ENOENT && !top)
      return 0; /* gone since the folder was read */
    if (fd < 0 && errno != ELOOP && errno != ENOTDIR && errno != ENXIO)
      return cb_error_sys(err, "open `%s`", t->path);
    /* Not what readdir said any more: look again. */
  }
  if (pre && pre->ok)
    st = pre->st;
  else if (fd >= 0 ? statx_at(fd, "", AT_EMPTY_PATH, &st) : statx_at(dirfd, at, empty, &st)) {
    if (errno == ENOENT && !top)
      return 0;
    return cb_error_sys(err, "stat `%s`", t->path);
  }
  if (!(t->w->flags & CB_TAR_CROSS_MOUNTS) && !top && (st.stx_mask & STATX_MNT_ID) &&
      st.stx_mnt_id != t->mnt[layers[k]])
    return 0; /* another mount */
  mode_t fmt = st.stx_mode & S_IFMT;
  bool read_ahead = pre && pre->ok && pre->whole;
  if (fd < 0 && ((fmt == S_IFREG && st.stx_size > 0 && !read_ahead) || fmt == S_IFDIR)) {
    /* A file with data, or readdir said something else (or nothing): open it now. */
    if (fmt == S_IFREG)
      fd = open_regular(dirfd, name, &t->noatime, &st);
    else
      fd = *name ? open_noatime(t, dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_DIRECTORY)
                 : openat(dirfd, ".", O_RDONLY | O_CLOEXEC | O_DIRECTORY);
    if (fd < 0 && errno == ENOENT && !top)
      return 0;
    if (fd < 0)
      return cb_error_sys(err, "open `%s`", t->path);
    if (fmt != S_IFREG && statx_at(fd, "", AT_EMPTY_PATH, &st) < 0)
      return cb_error_sys(err, "stat `%s`", t->path);
    fmt = st.stx_mode & S_IFMT;
  }
  if (fmt == S_IFSOCK)
    return 0;
  if (t->unionfs && fmt == S_IFCHR && st.stx_rdev_major == 0 && st.stx_rdev_minor == 0)
    return 0; /* a whiteout: it hides, it is not there */

  struct archive_entry *e = t->e;
  archive_entry_clear(e);
  bool whiteouts = t->w->flags & CB_TAR_WHITEOUTS;
  if (whiteouts && fmt == S_IFCHR && st.stx_rdev_major == 0 && st.stx_rdev_minor == 0) {
    /* An overlay whiteout: ".wh.NAME", an empty file. */
    if (!emit)
      return 0;
    char *slash = strrchr(t->path, '/');
    size_t dl = slash ? (size_t)(slash - t->path) + 1 : 0;
    cleanup_free char *wh = xasprintf("%.*s.wh.%s", (int)dl, t->path, t->path + dl);
    archive_entry_copy_pathname(e, wh);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0600);
    archive_entry_set_uid(e, st.stx_uid);
    archive_entry_set_gid(e, st.stx_gid);
    archive_entry_set_mtime(e, st.stx_mtime.tv_sec, st.stx_mtime.tv_nsec);
    archive_entry_set_size(e, 0);
    if (write_header(t, err) < 0)
      return -1;
    progress(t);
    return 0;
  }

  archive_entry_copy_pathname(e, t->path);
  entry_from_statx(e, &st);
  bool opaque = false;
  if (fmt == S_IFREG && st.stx_nlink > 1) {
    const char *first = link_find_or_add(&t->links, makedev(st.stx_dev_major, st.stx_dev_minor),
                                         st.stx_ino, t->path);
    if (first) {
      archive_entry_copy_hardlink(e, first);
      archive_entry_set_size(e, 0);
      if (emit && write_header(t, err) < 0)
        return -1;
      progress(t);
      return 0;
    }
  }
  switch (fmt) {
  case S_IFREG: archive_entry_set_size(e, (la_int64_t)st.stx_size); break;
  case S_IFLNK: {
    size_t cap = st.stx_size ? st.stx_size + 1 : PATH_MAX;
    cleanup_free char *target = xmalloc(cap + 1);
    ssize_t tl = readlinkat(dirfd, at, target, cap);
    if (tl < 0) {
      if (errno == ENOENT && !top)
        return 0;
      return cb_error_sys(err, "read the symlink `%s`", t->path);
    }
    target[tl] = '\0';
    archive_entry_copy_symlink(e, target);
    break;
  }
  case S_IFCHR:
  case S_IFBLK:
    archive_entry_set_rdevmajor(e, st.stx_rdev_major);
    archive_entry_set_rdevminor(e, st.stx_rdev_minor);
    break;
  default: break;
  }
  bool no_xattrs = pre && pre->ok && pre->xlen == 0;
  if (!no_xattrs &&
      add_xattrs(t, fd, dirfd, at, (whiteouts || t->unionfs) && fmt == S_IFDIR ? &opaque : NULL,
                 err) < 0)
    return -1;
  if (emit) {
    if (write_header(t, err) < 0)
      return -1;
    if (fmt == S_IFREG && st.stx_size > 0) {
      if (read_ahead) {
        if (write_buf(t, pre->data, pre->dlen, st.stx_size, err) < 0)
          return -1;
      } else if (write_data(t, fd, st.stx_size, err) < 0) {
        return -1;
      }
    }
    if (opaque && whiteouts) {
      /* The opaque marker right after its folder, as Docker writes it. */
      size_t saved;
      path_push(t, ".wh..wh..opq", &saved);
      archive_entry_clear(e);
      archive_entry_copy_pathname(e, t->path);
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, st.stx_mode & 0777);
      archive_entry_set_uid(e, st.stx_uid);
      archive_entry_set_gid(e, st.stx_gid);
      archive_entry_set_mtime(e, st.stx_mtime.tv_sec, st.stx_mtime.tv_nsec);
      archive_entry_set_size(e, 0);
      int r = write_header(t, err);
      path_pop(t, saved);
      if (r < 0)
        return -1;
    }
  }
  progress(t);
  if (fmt != S_IFDIR)
    return 0;
  /* Crossing into another mount (CB_TAR_CROSS_MOUNTS): a kernel pseudo file system is
   * archived as an empty folder (CB_TAR_SKIP_PSEUDO). */
  if ((t->w->flags & CB_TAR_SKIP_PSEUDO) && !top && (st.stx_mask & STATX_MNT_ID) &&
      st.stx_mnt_id != t->mnt[layers[k]] && cb_sr_is_pseudo_fs(fd))
    return 0;
  if (!t->unionfs) {
    c->fds = xmalloc(sizeof *c->fds);
    c->layers = xmalloc(sizeof *c->layers);
    c->fds[0] = steal_fd(&fd);
    c->layers[0] = layers[k];
    c->n = 1;
    return 0;
  }
  if (union_children(t, fds, layers, n, k, name, steal_fd(&fd), opaque, c, err) < 0) {
    child_release(c);
    return -1;
  }
  return 0;
}

struct uent {
  const char *name;
  unsigned char type;
  size_t k; /* the index of its folder in the union */
};

/* The entries of a union folder: the topmost of each name, whiteouts hiding the names
 * below them. */
static int union_listing(const int *fds, size_t n, struct uent **out, size_t *nout,
                         struct cb_dirent **lists, char **names, cb_error_t *err) {
  size_t total = 0;
  size_t *counts = xcalloc(n, sizeof *counts);
  for (size_t i = 0; i < n; i++) {
    if (cb_dir_read(fds[i], true, &lists[i], &counts[i], &names[i], err) < 0) {
      free(counts);
      return -1;
    }
    total += counts[i];
  }
  struct uent *v = xmalloc((total ? total : 1) * sizeof *v);
  size_t m = 0;
  /* Each list is sorted: merge them, the first folder winning a name. */
  size_t *pos = xcalloc(n, sizeof *pos);
  for (;;) {
    const char *min = NULL;
    for (size_t i = 0; i < n; i++)
      if (pos[i] < counts[i] && (!min || strcmp(lists[i][pos[i]].name, min) < 0))
        min = lists[i][pos[i]].name;
    if (!min)
      break;
    bool taken = false;
    const char *key = min;
    for (size_t i = 0; i < n; i++) {
      if (pos[i] >= counts[i] || strcmp(lists[i][pos[i]].name, key))
        continue;
      struct cb_dirent *d = &lists[i][pos[i]++];
      if (taken)
        continue;
      taken = true;
      if ((d->type == DT_CHR || d->type == DT_UNKNOWN) && is_whiteout_at(fds[i], d->name))
        continue; /* hidden, here and below */
      v[m++] = (struct uent){d->name, d->type, i};
    }
  }
  free(pos);
  free(counts);
  *out = v;
  *nout = m;
  return 0;
}

/* ---- the walk: iterative, one frame per folder on the way down ---------------------------- */

struct tframe {
  struct uent *v; /* the entries to archive */
  size_t m, next;
  struct cb_dirent **lists; /* what they point into: one listing per folder */
  char **names;
  size_t n;       /* folders (layers of a union folder; 1 outside union mode) */
  size_t *layers; /* their layer numbers (their descriptors are in t->fds) */
  bool pf;        /* the prefetcher works on this folder (its descriptor is pinned) */
  struct pf_job job;
  size_t saved; /* the path's length before the folder's name */
};

static void frame_free(struct tw *t, struct tframe *f) {
  if (f->pf)
    pf_end(t, &f->job, f->next);
  free(f->v);
  for (size_t i = 0; i < f->n; i++) {
    free(f->lists[i]);
    free(f->names[i]);
  }
  free(f->lists);
  free(f->names);
  free(f->layers);
  free(f);
}

/* A folder to walk (c, taken over): a new frame with its entries, and the prefetcher on
 * them when there are many. */
static struct tframe *frame_open(struct tw *t, struct child *c, size_t saved, cb_error_t *err) {
  struct tframe *f = xcalloc(1, sizeof *f);
  f->n = c->n;
  f->layers = steal_pointer(&c->layers);
  f->saved = saved;
  f->lists = xcalloc(f->n, sizeof *f->lists);
  f->names = xcalloc(f->n, sizeof *f->names);
  int tags[f->n];
  for (size_t i = 0; i < f->n; i++)
    tags[i] = (int)f->layers[i];
  cb_fdstack_push(&t->fds, c->fds, tags, c->n);
  free(c->fds);
  memset(c, 0, sizeof *c);
  size_t nf;
  const int *fds = cb_fdstack_frame(&t->fds, t->fds.depth - 1, &nf);
  int rc = 0;
  if (f->n == 1) {
    struct cb_dirent *d = NULL;
    if (cb_dir_read(fds[0], true, &d, &f->m, &f->names[0], err) < 0) {
      rc = -1;
    } else {
      f->lists[0] = d;
      f->v = xmalloc((f->m ? f->m : 1) * sizeof *f->v);
      for (size_t i = 0; i < f->m; i++)
        f->v[i] = (struct uent){d[i].name, d[i].type, 0};
    }
  } else {
    rc = union_listing(fds, f->n, &f->v, &f->m, f->lists, f->names, err);
  }
  if (rc < 0) {
    cleanup_free char *p = cb_path_abbrev(t->plen ? t->path : ".", 200);
    cb_error_wrap(err, "`%s`", p);
    frame_free(t, f);
    cb_error_t e2 = NULL;
    if (cb_fdstack_pop(&t->fds, &e2) < 0)
      cb_error_release(&e2);
    return NULL;
  }
  /* One folder (not a union): its entries' metadata prefetched on the other CPU. */
  if (f->n == 1 && pf_begin(t, &f->job, fds[0], f->lists[0], f->m)) {
    f->pf = true;
    cb_fdstack_pin(&t->fds);
  }
  return f;
}

/* Walk the folder c (taken over) and everything below it, depth first, in order. */
static int walk_tree(struct tw *t, struct child *c, cb_error_t *err) {
  struct tframe **st = NULL;
  size_t depth = 0, cap = 0;
  int rc = 0;
  struct tframe *f = frame_open(t, c, t->plen, err);
  if (!f)
    return -1;
  st = xmalloc((cap = 64) * sizeof *st);
  st[depth++] = f;
  while (depth > 0) {
    f = st[depth - 1];
    if (f->next < f->m) {
      size_t e = f->next++;
      size_t saved, nf;
      path_push(t, f->v[e].name, &saved);
      const int *fds = cb_fdstack_frame(&t->fds, t->fds.depth - 1, &nf);
      struct child ch = {0};
      rc = write_entry(t, fds, f->layers, f->n, f->v[e].k, f->v[e].name, f->v[e].type, false, true,
                       f->pf ? pf_wait(t, &f->job, e) : NULL, &ch, err);
      if (rc < 0)
        break;
      if (ch.n == 0) {
        path_pop(t, saved);
        continue;
      }
      struct tframe *sub = frame_open(t, &ch, saved, err);
      if (!sub) {
        rc = -1;
        break;
      }
      if (depth == cap)
        st = xrealloc(st, (cap *= 2) * sizeof *st);
      st[depth++] = sub;
      continue;
    }
    /* Done with this folder: back to its parent. */
    path_pop(t, f->saved);
    frame_free(t, f);
    depth--;
    if (cb_fdstack_pop(&t->fds, err) < 0) {
      cleanup_free char *p = cb_path_abbrev(t->plen ? t->path : ".", 200);
      rc = cb_error_wrap(err, "`%s`", p);
      break;
    }
  }
  /* After a failure: the frames left, deepest first (their prefetch jobs end in order). */
  while (depth > 0) {
    frame_free(t, st[--depth]);
    cb_error_t e2 = NULL;
    if (cb_fdstack_pop(&t->fds, &e2) < 0)
      cb_error_release(&e2);
  }
  free(st);
  return rc;
}

/* Set up the writer; the caller walks, then calls tw_finish. */
static int tw_start(struct tw *t, struct cb_tar_write *w, int out, locale_t *utf8, locale_t *saved,
                    cb_error_t *err) {
  memset(&w->stats, 0, sizeof w->stats);
  *t = (struct tw){.w = w, .out = out, .noatime = true};
  cb_fdstack_init(&t->fds, 0);
  t->pcap = PATH_MAX;
  t->path = xcalloc(t->pcap, 1);
  t->buf = xmalloc(READ_BUF);
  t->obuf = xmalloc(OUT_BUF);
  t->xcap = 1024;
  t->xnames = xmalloc(t->xcap);
  t->xvcap = 1024;
  t->xval = xmalloc(t->xvcap);
  t->next_progress_bytes = PROGRESS_BYTES;
  t->next_progress_entries = PROGRESS_ENTRIES;

  /* A pipe as large as we may make it: fewer wake-ups of the reader. */
  struct stat ost;
  if (fstat(out, &ost) == 0 && S_ISFIFO(ost.st_mode))
    fcntl(out, F_SETPIPE_SZ, 1 << 20);

  /* Names are bytes; libarchive converts them from the locale's charset to pax's UTF-8:
   * with C.UTF-8 valid UTF-8 names go as they are (invalid ones get hdrcharset=BINARY). */
  *utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
  *saved = *utf8 ? uselocale(*utf8) : (locale_t)0;

  t->a = archive_write_new();
  t->e = archive_entry_new();
  if (!t->a || !t->e)
    oom();
  if (archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(t->a, 0) != ARCHIVE_OK)
    return cb_error_make(err, 0, "tar writer: %s", archive_error_string(t->a));
  /* xattrs as SCHILY.xattr records only, the form GNU tar and Go read (not also libarchive's
   * own LIBARCHIVE.xattr, which GNU tar warns about). */
  if (archive_write_set_format_option(t->a, "pax", "xattrheader", "SCHILY") < ARCHIVE_WARN)
    return cb_error_make(err, 0, "tar writer: %s", archive_error_string(t->a));
  if (archive_write_open2(t->a, t, NULL, out_write, out_close, NULL) != ARCHIVE_OK)
    return cb_error_make(err, 0, "tar writer: %s", archive_error_string(t->a));
  return 0;
}

static int tw_finish(struct tw *t, int rc, locale_t utf8, locale_t saved, cb_error_t *err) {
  pf_stop(t);
  cb_fdstack_release(&t->fds);
  if (rc == 0 && archive_write_close(t->a) != ARCHIVE_OK)
    rc = archive_fail(t, err, "finish");
  if (rc == 0 && t->w->progress)
    t->w->progress(&t->w->stats, t->w->progress_arg);
  archive_write_free(t->a);
  archive_entry_free(t->e);
  if (utf8) {
    uselocale(saved);
    freelocale(utf8);
  }
  links_free(&t->links);
  free(t->mnt);
  free(t->path);
  free(t->buf);
  free(t->obuf);
  free(t->xnames);
  free(t->xval);
  return rc;
}

int cb_archive_write_tree(int dirfd, const char *path, int out, struct cb_tar_write *w,
                          cb_error_t *err) {
  struct tw t;
  locale_t utf8, saved;
  int rc = tw_start(&t, w, out, &utf8, &saved, err);
  cleanup_close int topfd = -1;
  const char *name = w->name && *w->name ? w->name : NULL;
  const char *rel = path && *path ? path : "";
  struct statx st;
  if (rc < 0)
    goto out;
  /* The top: never through a symlink. */
  rc = -1;
  if (statx_at(dirfd, rel, *rel ? 0 : AT_EMPTY_PATH, &st) < 0) {
    cb_error_sys(err, "stat `%s`", *rel ? rel : ".");
    goto out;
  }
  t.mnt = xmalloc(sizeof *t.mnt);
  t.mnt[0] = st.stx_mnt_id;
  bool isdir = S_ISDIR(st.stx_mode);
  if (!isdir && !name) {
    cb_error_make(err, 0, "`%s` is not a folder: the archive needs a name for it", rel);
    goto out;
  }
  if (name) {
    size_t saved_len;
    path_push(&t, name, &saved_len);
  }
  size_t layer0 = 0;
  if (isdir) {
    topfd = *rel ? openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                 : openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (topfd < 0) {
      cb_error_sys(err, "open `%s`", *rel ? rel : ".");
      goto out;
    }
    struct child c = {0};
    if (write_entry(&t, &topfd, &layer0, 1, 0, "", DT_DIR, true, name != NULL, NULL, &c, err) < 0)
      goto out;
    if (c.n && walk_tree(&t, &c, err) < 0)
      goto out;
  } else {
    /* A single file: its parent folder is dirfd (or rel's). */
    cleanup_free char *copy = xstrdup(rel);
    char *slash = strrchr(copy, '/');
    cleanup_close int pfd = -1;
    const char *base = copy;
    if (slash) {
      *slash = '\0';
      base = slash + 1;
      pfd = openat(dirfd, *copy ? copy : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (pfd < 0) {
        cb_error_sys(err, "open `%s`", copy);
        goto out;
      }
    }
    int parent = pfd >= 0 ? pfd : dirfd;
    unsigned char type = S_ISREG(st.stx_mode) ? DT_REG : DT_UNKNOWN;
    struct child c = {0};
    if (write_entry(&t, &parent, &layer0, 1, 0, base, type, true, true, NULL, &c, err) < 0)
      goto out;
    child_release(&c); /* not a folder: nothing to walk */
  }
  rc = 0;
out:
  return tw_finish(&t, rc, utf8, saved, err);
}

int cb_archive_write_union(const int *layers, size_t n, int out, struct cb_tar_write *w,
                           cb_error_t *err) {
  struct tw t;
  locale_t utf8, saved;
  int rc = tw_start(&t, w, out, &utf8, &saved, err);
  const char *name = w->name && *w->name ? w->name : NULL;
  size_t *idx = xmalloc((n ? n : 1) * sizeof *idx);
  int *fds = xmalloc((n ? n : 1) * sizeof *fds);
  if (rc < 0)
    goto out;
  rc = -1;
  if (n == 0) {
    cb_error_make(err, EINVAL, "no layers");
    goto out;
  }
  t.unionfs = true;
  t.mnt = xmalloc(n * sizeof *t.mnt);
  for (size_t i = 0; i < n; i++) {
    struct statx st;
    if (statx_at(layers[i], "", AT_EMPTY_PATH, &st) < 0 || !S_ISDIR(st.stx_mode)) {
      cb_error_sys(err, "layer %zu is not a folder", i);
      goto out;
    }
    t.mnt[i] = st.stx_mnt_id;
    idx[i] = i;
    fds[i] = layers[i];
  }
  if (name) {
    size_t saved_len;
    path_push(&t, name, &saved_len);
  }
  /* The top folder of the union is the topmost layer's; below it, the others'. */
  struct child c = {0};
  if (write_entry(&t, fds, idx, n, 0, "", DT_DIR, true, name != NULL, NULL, &c, err) < 0)
    goto out;
  if (c.n && walk_tree(&t, &c, err) < 0)
    goto out;
  rc = 0;
out:
  free(idx);
  free(fds);
  return tw_finish(&t, rc, utf8, saved, err);
}
