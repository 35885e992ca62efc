/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Path resolution confined to a root folder (a container's "/"), after the lesson of
 * CVE-2018-15664 (docker cp's symlink-exchange race).
 *
 * Every path is resolved by the kernel with openat2(RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS) against a descriptor on the root: an absolute symlink in the
 * container ("/evil -> /etc/shadow") means the container's /etc/shadow, ".." stops at the
 * root, /proc/self/root and other magic links are refused (ELOOP), and a container that
 * swaps a folder for a symlink while we resolve cannot make the walk leave the root (the
 * kernel checks for concurrent renames and answers EAGAIN, which is retried here).
 *
 * Operations that create or change something resolve the *parent* this way and then act
 * on a single name relative to the parent's descriptor, never following a symlink in that
 * last name (O_NOFOLLOW, O_EXCL, AT_SYMLINK_NOFOLLOW, mkdirat, renameat2).
 *
 * Below a folder already resolved, walk by descriptor: cb_sr_openat_dir() and
 * cb_sr_walk() open one name at a time relative to their parent with O_NOFOLLOW, so a
 * tree is copied without ever resolving a path string from the root again.
 *
 * The primitives behave like system calls: they return a descriptor or 0, or -1 with
 * errno set (ENOENT, ENOTDIR, ELOOP for a refused symlink or magic link, EXDEV for a
 * crossing refused by CB_SR_NO_XDEV or CB_SR_BENEATH, ...). Descriptors are O_CLOEXEC.
 * Paths may be absolute or relative: both are taken from the root. */
#ifndef CROWBAR_SAFEROOT_H
#define CROWBAR_SAFEROOT_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "crowbar/error.h"

enum {
  /* A symlink as the last component is not followed: O_PATH opens the link itself, other
   * opens fail with ELOOP. A trailing "/" still follows, as for every path lookup. */
  CB_SR_NOFOLLOW = 1u << 0,
  /* Refuse to cross a mount point (RESOLVE_NO_XDEV): EXDEV. */
  CB_SR_NO_XDEV = 1u << 1,
  /* Treat the descriptor as a floor rather than a root (RESOLVE_BENEATH): an absolute
   * path or symlink, or ".." above it, fails with EXDEV instead of being re-rooted. */
  CB_SR_BENEATH = 1u << 2,
  /* Refuse every symlink on the way (RESOLVE_NO_SYMLINKS): ELOOP. */
  CB_SR_NO_SYMLINKS = 1u << 3,
};

/* Open path inside the root with open(2) flags (O_CLOEXEC is added; O_CREAT needs mode). */
int cb_sr_open(int rootfd, const char *path, int oflags, unsigned flags);
int cb_sr_open_mode(int rootfd, const char *path, int oflags, mode_t mode, unsigned flags);
/* The parent folder of path, resolved inside the root (symlinks followed, confined), as an
 * O_PATH descriptor, and the last component in *base (malloc'd). Trailing slashes are
 * ignored. A path whose last component is "", "." or ".." (the root itself, "a/..") has no
 * usable parent: EINVAL. */
int cb_sr_open_parent(int rootfd, const char *path, unsigned flags, char **base);
/* stat of path inside the root (lstat with CB_SR_NOFOLLOW). */
int cb_sr_stat(int rootfd, const char *path, unsigned flags, struct stat *st);
/* The target of the symlink path (the link itself, not followed). Malloc'd. */
int cb_sr_readlink(int rootfd, const char *path, char **target);
/* The target of the symlink name in dirfd (name "": dirfd is an O_PATH descriptor on the
 * symlink itself). Malloc'd. */
int cb_sr_readlinkat(int dirfd, const char *name, char **target);
/* mkdir path inside the root: its parent is resolved, the last name is created there. */
int cb_sr_mkdir(int rootfd, const char *path, mode_t mode);
/* mkdir -p inside the root; returns an O_RDONLY|O_DIRECTORY descriptor on the result. */
int cb_sr_mkdir_all(int rootfd, const char *path, mode_t mode);
/* Create (or open) the file path with O_CREAT | O_NOFOLLOW | oflags: an existing symlink
 * there is refused (ELOOP), never written through. */
int cb_sr_create(int rootfd, const char *path, int oflags, mode_t mode);
/* Move olddirfd/oldname to path inside the root (renameat2 flags: 0, RENAME_NOREPLACE,
 * RENAME_EXCHANGE). An existing symlink at path is replaced, not followed. */
int cb_sr_rename_into(int olddirfd, const char *oldname, int rootfd, const char *path,
                      unsigned rflags);
/* unlinkat(parent, base, atflags) of path inside the root (AT_REMOVEDIR for a folder). */
int cb_sr_unlink(int rootfd, const char *path, int atflags);

/* Relative to a resolved folder: name must be one component (no '/', not "." or ".."),
 * else EINVAL; it is never followed if it is a symlink (ELOOP; ENOTDIR for a folder
 * open, as O_DIRECTORY checks first). */
int cb_sr_openat_dir(int dirfd, const char *name);
int cb_sr_openat(int dirfd, const char *name, int oflags, mode_t mode);
/* True for a name cb_sr_openat accepts. */
bool cb_sr_name_ok(const char *name);

/* A walk of the tree below dirfd/name by descriptor, depth first, parents before their
 * children (and again after them). Nothing is ever resolved from a path string: a folder
 * is opened relative to its parent's descriptor with O_NOFOLLOW, and its stat is taken
 * from the opened descriptor, so a folder swapped for a symlink mid-walk is refused
 * (ELOOP) and one swapped for another folder is simply the one walked. */
enum cb_sr_visit {
  CB_SR_VISIT_LEAF, /* anything but a folder */
  CB_SR_VISIT_PRE,  /* a folder, before its entries (fd open on it) */
  CB_SR_VISIT_POST, /* the same folder after its entries */
};
struct cb_sr_entry {
  int dirfd;        /* the parent folder's descriptor */
  const char *name; /* the name in the parent */
  const char *path; /* relative to the top: "" for the top itself, "a/b" below it */
  int fd;           /* PRE/POST: an O_RDONLY|O_DIRECTORY descriptor on the folder; else -1 */
  int depth;        /* 0 for the top */
  struct stat st;   /* lstat of the entry (for folders, fstat of fd) */
};
enum {
  CB_SR_WALK_SORTED = 1u << 0,      /* entries of a folder in strcmp order */
  CB_SR_WALK_ONE_FS = 1u << 1,      /* do not descend into another file system */
  CB_SR_WALK_SKIP_PSEUDO = 1u << 2, /* nor into proc, sysfs, cgroup, devpts, mqueue, ... */
};
/* The callback returns 0 to go on, 1 (on PRE) to skip the folder's entries, < 0 with err
 * set to stop the walk. */
typedef int (*cb_sr_walk_fn)(const struct cb_sr_entry *e, enum cb_sr_visit v, void *data,
                             cb_error_t *err);
/* Walk dirfd/name: name "." for the folder dirfd itself, "" for whatever dirfd is (an
 * O_PATH descriptor on a file or symlink is then the top, reported with dirfd and the
 * name ""). The top is reported as a LEAF if it is not a folder (a symlink top is not
 * followed). */
int cb_sr_walk(int dirfd, const char *name, unsigned wflags, cb_sr_walk_fn fn, void *data,
               cb_error_t *err);

/* True when the file system of fd is a kernel pseudo file system (proc, sysfs, ...). */
bool cb_sr_is_pseudo_fs(int fd);

#endif
