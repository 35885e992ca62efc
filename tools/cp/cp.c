/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar cp, after the docker CLI's cp.go and moby's pkg/archive/copy.go, minus the tar
 * in the middle: a copy between the container and the host walks one tree by descriptor
 * and recreates it under a folder descriptor on the other side (copy.h). Every container
 * path is resolved once, with openat2(RESOLVE_IN_ROOT), on a descriptor of the container's
 * root (rootfs.h), and everything after that is relative to the descriptors it gave.
 *
 *   cp CTR:SRC DEST   SRC resolved in the root (its last symlink not followed unless -L
 *                     or a trailing "/"), DEST an ordinary host path;
 *   cp CTR:SRC -      the same source, as a tar stream on stdout;
 *   cp SRC CTR:DEST   DEST's folder resolved in the root, symlinks followed inside it;
 *   cp - CTR:DEST     a tar stream on stdin (decompressed here, on the host side),
 *                     extracted by this process into DEST's descriptor one name at a time
 *                     (copy.h's cb_copy_untar): no chroot, no program and no library of
 *                     the container is ever involved (CVE-2019-14271), and no symlink or
 *                     magic link of the container is ever followed below DEST. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cp.h"
#include "crowbar/archive.h"
#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/copy.h"
#include "crowbar/cppath.h"
#include "crowbar/json.h"
#include "crowbar/rootfs.h"
#include "crowbar/saferoot.h"
#include "crowbar/util.h"

void cp_split_arg(const char *arg, char **container, char **path) {
  const char *colon = strchr(arg, ':');
  if (arg[0] == '/' || !colon || colon == arg || arg[0] == '.') {
    *container = NULL;
    *path = xstrdup(arg);
    return;
  }
  *container = strndup(arg, (size_t)(colon - arg));
  if (!*container)
    oom();
  *path = xstrdup(colon + 1);
}

/* Go's error text for errno: "no such file or directory". */
static const char *go_strerror(int e, char *buf, size_t n) {
  snprintf(buf, n, "%s", strerror(e));
  if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
    buf[0] = (char)(buf[0] - 'A' + 'a');
  return buf;
}

/* "OP PATH: error", as Go's *PathError prints. */
static int path_error(cb_error_t *err, int e, const char *op, const char *path) {
  char b[128];
  return cb_error_make(err, 0, "%s %s: %s", op, path, go_strerror(e, b, sizeof b));
}

static int open_root(const struct cb_ctx *ctx, const char *ref, bool writable,
                     struct cb_container **c, struct cb_rootfs *r, cb_error_t *err) {
  if (cb_container_locate(ctx, ref, c, err) < 0)
    return -1;
  /* A running container with a read-only root may still have writable volumes: its tree
   * is opened as it is, and check_writable() says no where Docker says no. */
  if (writable && cb_container_is_running(*c) &&
      cb_json_get_bool((*c)->json, "HostConfig.ReadonlyRootfs", false))
    writable = false;
  unsigned fl = CB_ROOTFS_MOUNTS | (writable ? CB_ROOTFS_WRITABLE : 0);
  if (cb_rootfs_open(ctx, *c, fl, r, err) < 0)
    return -1;
  return 0;
}

/* The name of the source's top entry: its base name, "." for "DIR/." (its contents), and
 * "." for "/" too (Docker names its entries "/", "/bin"...: the same tree). */
static char *top_name(const char *path) {
  cleanup_free char *dir = NULL;
  char *base = NULL;
  cb_cp_split(path, &dir, &base);
  if (!strcmp(base, "/")) {
    free(base);
    base = xstrdup(".");
  }
  return base;
}

/* Follow symlinks at the end of path by name, as Docker's CLI does (a relative target is
 * joined to the link's folder, lexically), at most max times; each step is looked up
 * inside the root. Returns the path reached (malloc'd). */
static char *follow_by_name(int rootfd, const char *path, int max) {
  char *p = xstrdup(path);
  for (int n = 0; n < max; n++) {
    struct stat st;
    cleanup_close int l = cb_sr_open(rootfd, p, O_PATH, CB_SR_NOFOLLOW);
    if (l < 0 || fstat(l, &st) < 0 || !S_ISLNK(st.st_mode))
      break;
    cleanup_free char *target = NULL;
    if (cb_sr_readlinkat(l, "", &target) < 0)
      break;
    char *next;
    if (target[0] == '/') {
      next = cb_go_clean(target);
    } else {
      cleanup_free char *pdir = cb_go_dir(p);
      cleanup_free char *j = xasprintf("%s/%s", pdir, target);
      next = cb_go_clean(j);
    }
    free(p);
    p = next;
  }
  return p;
}

/* ---- container -> host -------------------------------------------------------------- */

struct dest {
  char *path; /* after following symlinks at the end, as Docker does */
  bool exists, is_dir;
};

static void dest_release(struct dest *d) {
  free(d->path);
}

/* archive.CopyInfoDestinationPath on the host, with the checks of the CLI's
 * ValidateOutputPath before it. */
static int host_dest(const char *path, struct dest *d, cb_error_t *err) {
  char b[128];
  cleanup_free char *clean = cb_go_clean(path);
  cleanup_free char *dir = cb_go_dir(clean);
  struct stat st;
  if (stat(dir, &st) < 0 && errno == ENOENT)
    return cb_error_make(err, 0, "invalid output path: directory \"%s\" does not exist", dir);
  if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
    return cb_error_make(
        err, 0, "invalid output path: \"%s\" must be a directory or a regular file: %s", path,
        S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "got a device" : "got an irregular file");
  d->path = xstrdup(path);
  int r = lstat(d->path, &st);
  for (int n = 0; r == 0 && S_ISLNK(st.st_mode); n++) {
    if (n > 10)
      return cb_error_make(err, 0, "too many symlinks in %s", path);
    char target[PATH_MAX];
    ssize_t tl = readlink(d->path, target, sizeof target - 1);
    if (tl < 0)
      return path_error(err, errno, "readlink", d->path);
    target[tl] = '\0';
    char *next;
    if (target[0] == '/') {
      next = cb_go_clean(target);
    } else {
      cleanup_free char *pdir = cb_go_dir(d->path);
      cleanup_free char *j = xasprintf("%s/%s", pdir, target);
      next = cb_go_clean(j);
    }
    free(d->path);
    d->path = next;
    r = lstat(d->path, &st);
  }
  if (r == 0) {
    d->exists = true;
    d->is_dir = S_ISDIR(st.st_mode);
    return 0;
  }
  if (errno != ENOENT)
    return path_error(err, errno, "lstat", d->path);
  cleanup_free char *pdir = NULL, *pbase = NULL;
  cb_cp_split(d->path, &pdir, &pbase);
  if (stat(pdir, &st) < 0)
    return cb_error_make(err, 0, "stat %s: %s", pdir, go_strerror(errno, b, sizeof b));
  if (!S_ISDIR(st.st_mode))
    return cb_error_make(err, 0, "not a directory");
  return 0;
}

/* archive.PrepareArchiveCopy: where the source goes (a folder and a name in it; the name
 * "." merges a source folder's entries into the folder). */
static int prepare_copy(const char *top, bool src_dir, const struct dest *d, char **dir,
                        char **name, cb_error_t *err) {
  if (d->exists && d->is_dir) {
    *dir = xstrdup(d->path);
    *name = xstrdup(top);
    return 0;
  }
  if (d->exists && src_dir)
    return cb_error_make(err, 0, "cannot copy directory");
  if (!d->exists && !src_dir && cb_cp_asserts_dir(d->path))
    return cb_error_make(err, 0, "no such directory");
  cb_cp_split(d->path, dir, name);
  if (!strcmp(*name, ".") || !strcmp(*name, "/")) {
    free(*name);
    *name = xstrdup(top);
  }
  return 0;
}

/* The source as a tar on stdout. A folder is walked from its descriptor; anything else
 * from its parent folder (resolved again inside the root, and checked to hold the very
 * file the first resolution found). */
static int tar_out(int rootfd, const char *path, int srcfd, const struct stat *st, const char *name,
                   cb_error_t *err) {
  struct cb_tar_write w = {.name = name, .flags = CB_TAR_CROSS_MOUNTS | CB_TAR_SKIP_PSEUDO};
  if (S_ISDIR(st->st_mode))
    return cb_archive_write_tree(srcfd, "", STDOUT_FILENO, &w, err);
  cleanup_free char *base = NULL;
  cleanup_close int pfd = cb_sr_open_parent(rootfd, path, 0, &base);
  struct stat again;
  if (pfd < 0 || fstatat(pfd, base, &again, AT_SYMLINK_NOFOLLOW) < 0 ||
      again.st_dev != st->st_dev || again.st_ino != st->st_ino)
    return cb_error_make(err, 0, "%s changed while being copied", path);
  return cb_archive_write_tree(pfd, base, STDOUT_FILENO, &w, err);
}

static int copy_out(const struct cb_ctx *ctx, const struct cp_opts *o, cb_error_t *err) {
  cleanup_container struct cb_container *c = NULL;
  cleanup_rootfs struct cb_rootfs r = CB_ROOTFS_INIT;
  if (!*o->src)
    return cb_error_make(err, 0, "path cannot be empty");
  if (open_root(ctx, o->container, false, &c, &r, err) < 0)
    return -1;
  cleanup_free char *cpath = cb_cp_container_path(o->src);
  /* With -L, a symlink named last is followed by name as Docker does (its target joined
   * to the link's folder), and named after the link. */
  cleanup_free char *spath = o->follow ? follow_by_name(r.fd, cpath, 40) : xstrdup(cpath);
  /* The resolution of the source, inside the root; then everything is relative to this
   * descriptor. A symlink named last is copied as a symlink. */
  cleanup_close int srcfd = cb_sr_open(r.fd, spath, O_PATH, CB_SR_NOFOLLOW);
  if (srcfd < 0) {
    if (errno == ENOENT)
      return cb_error_make(err, 0, "No such container:path: %s:%s", o->container, o->src);
    return path_error(err, errno, "lstat", cpath);
  }
  struct stat st;
  if (fstat(srcfd, &st) < 0)
    return path_error(err, errno, "lstat", cpath);
  cleanup_free char *top = top_name(cpath);

  if (!strcmp(o->dst, "-"))
    return tar_out(r.fd, spath, srcfd, &st, top, err);

  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd))
    return cb_error_sys(err, "getcwd");
  cleanup_free char *hpath = cb_cp_local_path(o->dst, cwd);
  struct dest d = {0};
  cleanup_free char *dir = NULL, *name = NULL;
  int rc = host_dest(hpath, &d, err);
  if (rc == 0)
    rc = prepare_copy(top, S_ISDIR(st.st_mode), &d, &dir, &name, err);
  dest_release(&d);
  if (rc < 0)
    return -1;
  cleanup_close int dstfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dstfd < 0)
    return path_error(err, errno, "open", dir);
  struct cb_copy cc = {
      .flags = CB_COPY_SKIP_PSEUDO | (o->archive ? CB_COPY_KEEP_OWNER : 0),
      .dst_dir_display = dir,
  };
  return cb_copy_tree(srcfd, "", dstfd, name, &cc, err);
}

/* ---- host -> container -------------------------------------------------------------- */

/* Where DEST is in the container (the CLI's stat, then the daemon's resolution): a
 * symlink at the end is followed by name, as Docker does (so that `cp f CTR:/link` writes
 * the link's target, and a dangling one is created), every lookup confined to the root. */
static int container_dest(int rootfd, const char *cpath, struct dest *d) {
  d->path = follow_by_name(rootfd, cpath, 10);
  struct stat st;
  cleanup_close int fd = cb_sr_open(rootfd, d->path, O_PATH, 0);
  if (fd >= 0 && fstat(fd, &st) == 0) {
    d->exists = true;
    d->is_dir = S_ISDIR(st.st_mode);
  }
  return 0;
}

static int mnt_id(int fd, uint64_t *id) {
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0)
    return -1;
  *id = sx.stx_mnt_id;
  return 0;
}

/* Docker refuses to write into a read-only root file system (unless into a volume) and
 * into a read-only volume, before it writes anything. */
static int check_writable(const struct cb_container *c, int rootfd, int dirfd, cb_error_t *err) {
  uint64_t a, b;
  if (mnt_id(rootfd, &a) < 0 || mnt_id(dirfd, &b) < 0)
    return cb_error_sys(err, "statx");
  if (a == b) {
    if (cb_json_get_bool(c->json, "HostConfig.ReadonlyRootfs", false))
      return cb_error_make(err, 0, "container rootfs is marked read-only");
    return 0;
  }
  struct statvfs sv;
  if (fstatvfs(dirfd, &sv) == 0 && (sv.f_flag & ST_RDONLY))
    return cb_error_make(err, 0, "mounted volume is marked read-only");
  return 0;
}

/* The extraction folder (Docker's dstDir), resolved in the root, symlinks followed. */
static int open_extract_dir(int rootfd, const struct cp_opts *o, const char *dir, cb_error_t *err) {
  int fd = cb_sr_open(rootfd, dir, O_PATH | O_DIRECTORY, 0);
  if (fd >= 0)
    return fd;
  if (errno == ENOENT)
    return cb_error_make(err, 0, "No such container:path: %s:%s", o->container, dir);
  if (errno == ENOTDIR)
    return cb_error_make(err, 0, "extraction point is not a directory");
  return path_error(err, errno, "lstat", dir);
}

static int copy_in(const struct cb_ctx *ctx, const struct cp_opts *o, cb_error_t *err) {
  cleanup_container struct cb_container *c = NULL;
  cleanup_rootfs struct cb_rootfs r = CB_ROOTFS_INIT;
  if (!*o->dst)
    return cb_error_make(err, 0, "path cannot be empty");
  /* The local source first, as the CLI does before it asks the daemon anything. */
  cleanup_close int srcfd = -1;
  cleanup_free char *lpath = NULL;
  struct stat st = {0};
  bool from_tar = !strcmp(o->src, "-");
  if (!from_tar) {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
      return cb_error_sys(err, "getcwd");
    lpath = cb_cp_local_path(o->src, cwd);
    srcfd = open(lpath, O_PATH | O_CLOEXEC | (o->follow ? 0 : O_NOFOLLOW));
    if (srcfd < 0 || fstat(srcfd, &st) < 0)
      return path_error(err, errno, "lstat", lpath);
  }
  if (open_root(ctx, o->container, true, &c, &r, err) < 0)
    return -1;
  cleanup_free char *cpath = cb_cp_container_path(o->dst);
  struct dest d = {0};
  container_dest(r.fd, cpath, &d);
  cleanup_free char *dir = NULL, *name = NULL;
  int rc = 0;
  if (from_tar) {
    if (!d.exists || !d.is_dir)
      rc = cb_error_make(err, 0, "destination \"%s:%s\" must be a directory", o->container, o->dst);
    else
      dir = xstrdup(d.path);
  } else {
    cleanup_free char *top = top_name(lpath);
    rc = prepare_copy(top, S_ISDIR(st.st_mode), &d, &dir, &name, err);
  }
  dest_release(&d);
  if (rc < 0)
    return -1;
  cleanup_close int dirfd = open_extract_dir(r.fd, o, dir, err);
  if (dirfd < 0 || check_writable(c, r.fd, dirfd, err) < 0)
    return -1;
  if (from_tar) {
    struct cb_copy cc = {
        .flags = o->archive ? CB_COPY_KEEP_OWNER : 0,
        .dst_dir_display = dir,
    };
    return cb_copy_untar(STDIN_FILENO, dirfd, &cc, err);
  }
  struct cb_copy cc = {
      .flags = o->archive ? CB_COPY_KEEP_OWNER : CB_COPY_CHOWN,
      .uid = 0,
      .gid = 0,
      .dst_dir_display = dir,
  };
  return cb_copy_tree(srcfd, "", dirfd, name, &cc, err);
}

int cp_run(const struct cb_ctx *ctx, const struct cp_opts *o, cb_error_t *err) {
  return o->to_container ? copy_in(ctx, o, err) : copy_out(ctx, o, err);
}
