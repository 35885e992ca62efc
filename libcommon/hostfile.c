/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Host files that a container can reach, through private read-only bind mounts. A
 * detached mount (open_tree OPEN_TREE_CLONE) belongs to no mount namespace: nobody can
 * mount over it, remount it writable or see it in a mount table, and it goes away with the
 * last descriptor or executable that uses it. Costs about 40 us (no copy), against 0.6 ms
 * for a sealed memfd copy of an 800 kB binary. */
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/hostfile.h"

/* A private clone of the mount at dirfd/path (just that file or folder), made read-only. */
static int clone_ro(int dirfd, const char *path, unsigned attrs, cb_error_t *err) {
  int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_SYMLINK_NOFOLLOW;
  if (!*path)
    flags |= AT_EMPTY_PATH;
  cleanup_close int t = open_tree(dirfd, path, (unsigned)flags);
  if (t < 0)
    return cb_error_sys(err, "clone a mount of `%s`", *path ? path : "(descriptor)");
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | attrs};
  if (mount_setattr(t, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    return cb_error_sys(err, "make a read-only mount of `%s`", *path ? path : "(descriptor)");
  return steal_fd(&t);
}

int cb_hostfile_open_ro(int dirfd, const char *path, cb_error_t *err) {
  int fd = clone_ro(dirfd, path, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, err);
  if (fd < 0)
    return -1;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return cb_error_make(err, 0, "`%s` is not a regular file", *path ? path : "(descriptor)");
  }
  return fd;
}

int cb_hostfile_open_null(int flags, cb_error_t *err) {
  cleanup_close int dev = clone_ro(AT_FDCWD, "/dev", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, err);
  if (dev < 0)
    return -1;
  int fd = openat(dev, "null", flags | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cb_error_sys(err, "open /dev/null");
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
    close(fd);
    return cb_error_make(err, 0, "/dev/null is not the null device");
  }
  return fd;
}
