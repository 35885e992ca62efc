/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A tar stream extracted into a folder descriptor with docker cp's rules (copy.h,
 * cb_copy_untar): libarchive only reads the stream; every entry is made by this process
 * one name at a time relative to a folder it holds open, as cb_copy_tree makes a tree, so
 * that the destination may be a running container's, busy swapping names for symlinks:
 *
 *   - member names are cleaned and confined to the destination ("../x" fails the whole
 *     extraction, a leading "/" is dropped, "." is the destination itself and left alone,
 *     as Docker does);
 *   - the folders on the way are opened one name at a time with O_NOFOLLOW (missing ones
 *     made 0755), held in an fdstack (any depth, few descriptors): a symlink on the way,
 *     the archive's own or the container's, fails the extraction, never is written
 *     through; a path string is never resolved again;
 *   - a folder onto a folder merges, a folder onto anything else or anything else onto a
 *     folder fails ("cannot overwrite ..."), anything else is made under a temporary name
 *     and renamed over what is there;
 *   - owners (with CB_COPY_KEEP_OWNER; else the files are root's), modes with set-id bits,
 *     times and xattrs (but trusted.overlay.*) are set through a descriptor on the node
 *     made, checked to be that node (O_PATH, never a name looked up again); a folder's
 *     times are set again whenever the extraction leaves it, so that its own entries do
 *     not leave it with their time;
 *   - hard links point at a member already extracted, found below the destination without
 *     following any symlink; sockets are skipped. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/copy.h"
#include "crowbar/fdstack.h"
#include "crowbar/saferoot.h"
#include "crowbar/security.h"
#include "crowbar/util.h"

struct dtimes {
  dev_t dev;
  ino_t ino;
  struct timespec ts[2];
};

static int dtimes_cmp(const void *a, const void *b) {
  const struct dtimes *x = a, *y = b;
  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino)
    return x->ino < y->ino ? -1 : 1;
  return 0;
}

struct ut {
  struct cb_copy *c;
  struct archive *a;
  struct cb_fdstack dirs; /* frame 0: the destination; frame i: component i of cur */
  char *cur;              /* the path of the folder on top, "" for the destination */
  size_t curlen, curcap;
  size_t *ends; /* per frame (i >= 1): where its component ends in cur */
  size_t ecap;
  void *times; /* tsearch of struct dtimes: folders' times, set when left */
};

/* "DIR/rel" as the user names the destination, shortened when long. */
static char *display(const struct ut *u, const char *rel) {
  const char *dir = u->c->dst_dir_display ? u->c->dst_dir_display : ".";
  cleanup_free char *full = !*rel               ? xstrdup(dir)
                            : !strcmp(dir, "/") ? xasprintf("/%s", rel)
                                                : xasprintf("%s/%s", dir, rel);
  return cb_path_abbrev(full, 400);
}

static int fail_sys(const struct ut *u, cb_error_t *err, const char *what, const char *rel) {
  int e = errno;
  cleanup_free char *d = display(u, rel);
  errno = e;
  return cb_error_sys(err, "%s \"%s\"", what, d);
}

/* The folder on top is left: its times as its entry said, if it had one. */
static int leave_dir(struct ut *u, cb_error_t *err) {
  if (u->times) {
    struct stat st;
    int fd = cb_fdstack_top(&u->dirs);
    if (fstat(fd, &st) == 0) {
      struct dtimes key = {.dev = st.st_dev, .ino = st.st_ino};
      void *found = tfind(&key, &u->times, dtimes_cmp);
      if (found && futimens(fd, (*(struct dtimes **)found)->ts) < 0)
        return fail_sys(u, err, "set the times of", u->cur);
    }
  }
  size_t depth = u->dirs.depth;
  if (cb_fdstack_pop(&u->dirs, err) < 0) {
    cleanup_free char *d = display(u, u->cur);
    return cb_error_wrap(err, "%s", d);
  }
  u->curlen = depth >= 3 ? u->ends[depth - 3] : 0;
  u->cur[u->curlen] = '\0';
  return 0;
}

/* Make the folder "parent" (relative to the destination, "" for it) the top: leave the
 * folders not on its way, enter (or make) the ones missing, one name at a time, never
 * through a symlink. */
static int enter_path(struct ut *u, const char *parent, cb_error_t *err) {
  size_t plen = strlen(parent);
  /* Out of what is not a prefix of parent (at a component boundary). */
  while (u->dirs.depth > 1 && !(u->curlen <= plen && !memcmp(u->cur, parent, u->curlen) &&
                                (parent[u->curlen] == '/' || parent[u->curlen] == '\0')))
    if (leave_dir(u, err) < 0)
      return -1;
  /* Down the components of parent beyond cur. */
  const char *p = parent + u->curlen;
  while (*p == '/')
    p++;
  while (*p) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    char name[n + 1];
    memcpy(name, p, n);
    name[n] = '\0';
    size_t at = u->curlen;
    if (u->curlen + n + 2 > u->curcap) {
      u->curcap = (u->curlen + n + 2) * 2;
      u->cur = xrealloc(u->cur, u->curcap);
    }
    if (at)
      u->cur[u->curlen++] = '/';
    memcpy(u->cur + u->curlen, name, n + 1);
    u->curlen += n;
    int top = cb_fdstack_top(&u->dirs);
    int fd = openat(top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      if (mkdirat(top, name, 0755) < 0 && errno != EEXIST)
        return fail_sys(u, err, "mkdir", u->cur);
      fd = openat(top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      if (errno == ELOOP || errno == ENOTDIR) {
        cleanup_free char *d = display(u, u->cur);
        return cb_error_make(err, 0, "refusing to write through the symlink or file \"%s\"", d);
      }
      return fail_sys(u, err, "open", u->cur);
    }
    if (u->dirs.depth >= u->ecap) {
      u->ecap = u->ecap ? u->ecap * 2 : 64;
      u->ends = xrealloc(u->ends, u->ecap * sizeof *u->ends);
    }
    u->ends[u->dirs.depth - 1] = u->curlen;
    cb_fdstack_push(&u->dirs, &fd, NULL, 1);
    p += n;
    while (*p == '/')
      p++;
  }
  return 0;
}

static bool xattr_ok(const char *name) {
  return strncmp(name, "trusted.overlay.", 16) && strcmp(name, "security.selinux");
}

/* Owner, mode, xattrs and times of the entry onto fd: an open file or folder (xattrs too),
 * or an O_PATH descriptor on a symlink or node. */
static int apply_meta(struct ut *u, struct archive_entry *e, int fd, bool opened, const char *rel,
                      cb_error_t *err) {
  mode_t type = archive_entry_filetype(e);
  if ((u->c->flags & CB_COPY_KEEP_OWNER) &&
      fchownat(fd, "", (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e), AT_EMPTY_PATH) < 0)
    return fail_sys(u, err, "chown", rel);
  if (type != AE_IFLNK && cb_copy_chmod_fd(fd, archive_entry_perm(e) & 07777) < 0)
    return fail_sys(u, err, "chmod", rel);
  if (opened && archive_entry_xattr_reset(e) > 0) {
    const char *name;
    const void *value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      if (!xattr_ok(name))
        continue;
      if (fsetxattr(fd, name, value, size, 0) < 0 && errno != ENOTSUP && errno != EPERM)
        return fail_sys(u, err, "set an attribute of", rel);
    }
  }
  struct timespec ts[2] = {
      {archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e),
       archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e) : archive_entry_mtime_nsec(e)},
      {archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
  };
  if (utimensat(fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
    return fail_sys(u, err, "set the times of", rel);
  if (type == AE_IFDIR) {
    struct stat st;
    if (fstat(fd, &st) == 0) {
      struct dtimes *t = xmalloc(sizeof *t);
      *t = (struct dtimes){.dev = st.st_dev, .ino = st.st_ino, .ts = {ts[0], ts[1]}};
      void *slot = tsearch(t, &u->times, dtimes_cmp);
      if (!slot)
        oom();
      if (*(struct dtimes **)slot != t) {
        memcpy((*(struct dtimes **)slot)->ts, t->ts, sizeof t->ts);
        free(t);
      }
    }
  }
  return 0;
}

static int extract_dir(struct ut *u, struct archive_entry *e, int pfd, const char *base,
                       const char *rel, cb_error_t *err) {
  struct stat st;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      cleanup_free char *d = display(u, rel);
      cleanup_free char *top = display(u, "");
      return cb_error_make(err, 0, "cannot overwrite non-directory \"%s\" with directory \"%s\"", d,
                           top);
    }
  } else if (errno != ENOENT) {
    return fail_sys(u, err, "lstat", rel);
  } else if (mkdirat(pfd, base, 0700) < 0 && errno != EEXIST) {
    return fail_sys(u, err, "mkdir", rel);
  }
  cleanup_close int fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP || errno == ENOTDIR) {
      cleanup_free char *d = display(u, rel);
      return cb_error_make(err, 0, "\"%s\" was replaced while being copied into", d);
    }
    return fail_sys(u, err, "open", rel);
  }
  return apply_meta(u, e, fd, true, rel, err);
}

/* The data of the entry into fd (holes left where the archive has them). */
static int write_data(struct ut *u, struct archive_entry *e, int fd, const char *rel,
                      cb_error_t *err) {
  for (;;) {
    const void *buf;
    size_t size;
    la_int64_t off;
    int r = archive_read_data_block(u->a, &buf, &size, &off);
    if (r == ARCHIVE_EOF)
      break;
    if (r < ARCHIVE_WARN)
      return cb_error_make(err, 0, "invalid tar archive: %s", archive_error_string(u->a));
    for (size_t done = 0; done < size;) {
      ssize_t n = pwrite(fd, (const char *)buf + done, size - done, off + (off_t)done);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return fail_sys(u, err, "write", rel);
      }
      done += (size_t)n;
    }
    u->c->bytes += size;
  }
  if (ftruncate(fd, archive_entry_size(e)) < 0)
    return fail_sys(u, err, "write", rel);
  return 0;
}

/* Make the non-folder entry under the name tmp in pfd. Returns 1 for what is skipped. */
static int make_node(struct ut *u, struct archive_entry *e, int pfd, const char *tmp,
                     const char *rel, cb_error_t *err) {
  const char *link = archive_entry_hardlink(e);
  if (link) {
    cleanup_free char *target = cb_path_clean(link);
    if (!target || !strcmp(target, "."))
      return cb_error_make(err, 0,
                           "refusing the hard link `%s` to `%s`: the target is outside the "
                           "destination",
                           rel, link);
    size_t n;
    int top = cb_fdstack_frame(&u->dirs, 0, &n)[0];
    cleanup_close int t =
        cb_sr_open(top, target, O_PATH, CB_SR_BENEATH | CB_SR_NO_SYMLINKS | CB_SR_NOFOLLOW);
    struct stat st;
    if (t < 0 || fstat(t, &st) < 0)
      return fail_sys(u, err, "link to", target);
    if (S_ISDIR(st.st_mode)) {
      cleanup_free char *d = display(u, target);
      return cb_error_make(err, 0, "refusing the hard link `%s` to the folder \"%s\"", rel, d);
    }
    if (linkat(t, "", pfd, tmp, AT_EMPTY_PATH) < 0)
      return fail_sys(u, err, "link", rel);
    return 0;
  }
  mode_t type = archive_entry_filetype(e);
  if (type == AE_IFREG) {
    cleanup_close int fd =
        openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
      return fail_sys(u, err, "create", rel);
    if (write_data(u, e, fd, rel, err) < 0)
      return -1;
    return apply_meta(u, e, fd, true, rel, err);
  }
  if (type == AE_IFLNK) {
    const char *target = archive_entry_symlink(e);
    if (!target || symlinkat(target, pfd, tmp) < 0)
      return fail_sys(u, err, "symlink", rel);
  } else if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO) {
    if (mknodat(pfd, tmp, type | 0600, archive_entry_rdev(e)) < 0)
      return fail_sys(u, err, "mknod", rel);
  } else {
    return 1; /* sockets and what no tar should hold */
  }
  /* Through a descriptor on what was made, checked to be it (the folder may be a
   * container's: the name can be swapped for a symlink to a host path at any time). */
  cleanup_close int fd = openat(pfd, tmp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0)
    return fail_sys(u, err, "open", rel);
  if ((st.st_mode & S_IFMT) != type || st.st_nlink != 1) {
    cleanup_free char *d = display(u, rel);
    return cb_error_make(err, 0, "\"%s\" was replaced while being copied", d);
  }
  return apply_meta(u, e, fd, false, rel, err);
}

static int extract_other(struct ut *u, struct archive_entry *e, int pfd, const char *base,
                         const char *rel, cb_error_t *err) {
  if (archive_entry_filetype(e) == AE_IFSOCK)
    return 0;
  struct stat st;
  if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode)) {
      cleanup_free char *d = display(u, rel);
      cleanup_free char *top = display(u, "");
      return cb_error_make(err, 0, "cannot overwrite directory \"%s\" with non-directory \"%s\"", d,
                           top);
    }
  } else if (errno != ENOENT) {
    return fail_sys(u, err, "lstat", rel);
  }
  char tmp[64];
  char id[CB_ID_LEN + 1];
  if (cb_random_id(id, NULL) < 0)
    snprintf(id, sizeof id, "%ld", (long)getpid());
  snprintf(tmp, sizeof tmp, ".cbcp-%.12s", id);
  int r = make_node(u, e, pfd, tmp, rel, err);
  if (r != 0) {
    unlinkat(pfd, tmp, 0);
    return r < 0 ? -1 : 0;
  }
  if (renameat(pfd, tmp, pfd, base) < 0) {
    int saved = errno;
    unlinkat(pfd, tmp, 0);
    errno = saved;
    return fail_sys(u, err, "rename into", rel);
  }
  return 0;
}

static int untar(struct ut *u, cb_error_t *err) {
  for (;;) {
    struct archive_entry *e;
    int r = archive_read_next_header(u->a, &e);
    if (r == ARCHIVE_EOF)
      break;
    if (r < ARCHIVE_WARN || r == ARCHIVE_RETRY) {
      const char *m = archive_error_string(u->a);
      return cb_error_make(err, 0, "invalid tar archive: %s", m ? m : "read error");
    }
    const char *name = archive_entry_pathname(e);
    if (!name)
      return cb_error_make(err, 0, "invalid tar archive: a member has no usable name");
    cleanup_free char *rel = cb_path_clean(name);
    if (!rel)
      return cb_error_make(err, 0, "refusing `%s`: the path leads outside the destination", name);
    /* An owner out of range would become root (4294967296 is 0 to chown(2)). */
    if ((u->c->flags & CB_COPY_KEEP_OWNER) &&
        (!cb_id_valid(archive_entry_uid(e)) || !cb_id_valid(archive_entry_gid(e))))
      return cb_error_make(err, 0, "refusing `%s`: owner %lld:%lld: " CB_ID_RANGE_MSG, name,
                           (long long)archive_entry_uid(e), (long long)archive_entry_gid(e));
    if (!strcmp(rel, "."))
      continue; /* the destination itself: left as it is, as Docker does */
    char *slash = strrchr(rel, '/');
    const char *base = slash ? slash + 1 : rel;
    if (slash)
      *slash = '\0';
    int rc = enter_path(u, slash ? rel : "", err);
    if (slash)
      *slash = '/';
    if (rc < 0)
      return -1;
    int pfd = cb_fdstack_top(&u->dirs);
    if (archive_entry_filetype(e) == AE_IFDIR && !archive_entry_hardlink(e))
      rc = extract_dir(u, e, pfd, base, rel, err);
    else
      rc = extract_other(u, e, pfd, base, rel, err);
    if (rc < 0)
      return -1;
    u->c->entries++;
  }
  while (u->dirs.depth > 1)
    if (leave_dir(u, err) < 0)
      return -1;
  return 0;
}

int cb_copy_untar(int in, int dstdirfd, struct cb_copy *c, cb_error_t *err) {
  struct ut u = {.c = c};
  u.a = archive_read_new();
  if (!u.a)
    oom();
  /* Any compression libarchive knows (decompressed here, on the host side), tar only. */
  archive_read_support_filter_all(u.a);
  archive_read_support_format_tar(u.a);
  archive_read_support_format_gnutar(u.a);
  int rc = 0;
  if (archive_read_open_fd(u.a, in, 256 * 1024) != ARCHIVE_OK) {
    const char *m = archive_error_string(u.a);
    cb_error_make(err, 0, "invalid tar archive: %s", m ? m : "read error");
    archive_read_free(u.a);
    return -1;
  }
  int top = fcntl(dstdirfd, F_DUPFD_CLOEXEC, 3);
  if (top < 0) {
    archive_read_free(u.a);
    return cb_error_sys(err, "open the destination");
  }
  cb_fdstack_init(&u.dirs, 0);
  cb_fdstack_push(&u.dirs, &top, NULL, 1);
  u.curcap = 256;
  u.cur = xcalloc(u.curcap, 1);
  rc = untar(&u, err);
  archive_read_free(u.a);
  cb_fdstack_release(&u.dirs);
  free(u.cur);
  free(u.ends);
  tdestroy(u.times, free);
  return rc;
}
