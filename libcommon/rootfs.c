/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container's root filesystem, whatever its state (see rootfs.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/json.h"
#include "crowbar/lock.h"
#include "crowbar/proc.h"
#include "crowbar/rootfs.h"
#include "crowbar/stack.h"
#include "crowbar/util.h"

/* The longest string fsconfig(FSCONFIG_SET_STRING) takes (fs/fsopen.c: strndup_user(, 256)). */
#define FSCONFIG_STRING_MAX 255
/* The longest mount(2) data (one page). */
#define MOUNT_DATA_MAX 4095

int cb_container_layer_paths(const struct cb_container *c, struct cb_layer_paths *out,
                             cb_error_t *err) {
  memset(out, 0, sizeof *out);
  const char *lower = cb_json_get_str(c->json, "GraphDriver.Data.LowerDir", NULL);
  const char *upper = cb_json_get_str(c->json, "GraphDriver.Data.UpperDir", NULL);
  const char *work = cb_json_get_str(c->json, "GraphDriver.Data.WorkDir", NULL);
  const char *merged = cb_json_get_str(c->json, "GraphDriver.Data.MergedDir", "");
  if (!lower || !upper || !work || !*lower || !*upper || !*work)
    return cb_error_make(err, 0, "container %s has no recorded layers", c->id);
  out->upper = xstrdup(upper);
  out->work = xstrdup(work);
  out->merged = xstrdup(merged);
  out->lowers = xcalloc(1, sizeof *out->lowers);
  cleanup_free char *copy = xstrdup(lower);
  char *save = NULL;
  for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save))
    cb_strv_append(&out->lowers, t);
  out->nown = cb_container_own_layers(c);
  if (out->nown > cb_strv_len(out->lowers))
    out->nown = cb_strv_len(out->lowers);
  return 0;
}

void cb_layer_paths_release(struct cb_layer_paths *p) {
  free(p->upper);
  free(p->work);
  free(p->merged);
  cb_strv_free(p->lowers);
  memset(p, 0, sizeof *p);
}

/* ---- detached overlay mounts ----------------------------------------------------------- */

/* The messages the kernel left on an fs_context descriptor, for an error. */
static void fs_messages(int fs, char *buf, size_t len) {
  size_t n = 0;
  buf[0] = '\0';
  for (;;) {
    char m[512];
    ssize_t r = read(fs, m, sizeof m - 1);
    if (r <= 0)
      break;
    m[r] = '\0';
    if (m[r - 1] == '\n')
      m[--r] = '\0';
    /* "e overlayfs: message" */
    const char *text = r > 2 && m[1] == ' ' ? m + 2 : m;
    int w = snprintf(buf + n, len - n, "%s%s", n ? "; " : "", text);
    if (w < 0 || (size_t)w >= len - n)
      break;
    n += (size_t)w;
  }
}

static int fsconfig_str(int fs, const char *key, const char *value) {
  return (int)syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, key, value, 0);
}

static int fs_error(int fs, cb_error_t *err, const char *what) {
  int e = errno;
  char msg[1024];
  fs_messages(fs, msg, sizeof msg);
  if (*msg)
    return cb_error_make(err, e, "%s (%s)", what, msg);
  return cb_error_make(err, e, "%s", what);
}

int cb_overlay_fsmount(char *const *lowers, const char *upper, const char *work, int *fd,
                       cb_error_t *err) {
  cleanup_close int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  if (fs < 0) {
    if (errno == ENOSYS || errno == EPERM)
      return 1;
    return cb_error_sys(err, "fsopen overlay");
  }
  /* One layer per "lowerdir+" (6.8+), no escaping and no length limit but PATH_MAX. */
  bool plus = true;
  for (size_t i = 0; lowers[i]; i++) {
    if (strlen(lowers[i]) > FSCONFIG_STRING_MAX)
      return 1;
    if (fsconfig_str(fs, "lowerdir+", lowers[i]) < 0) {
      if (i == 0 && errno == EINVAL) {
        plus = false;
        break;
      }
      return fs_error(fs, err, "overlay lower dir");
    }
  }
  if (!plus) {
    /* An older kernel: the whole list in one string, if it fits. */
    close(fs);
    fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    if (fs < 0)
      return cb_error_sys(err, "fsopen overlay");
    size_t len = 0;
    for (size_t i = 0; lowers[i]; i++)
      len += strlen(lowers[i]) + 1;
    if (len > FSCONFIG_STRING_MAX + 1)
      return 1;
    cleanup_free char *list = xcalloc(len + 1, 1);
    for (size_t i = 0; lowers[i]; i++) {
      if (strchr(lowers[i], ':') || strchr(lowers[i], ','))
        return 1;
      if (i)
        strcat(list, ":");
      strcat(list, lowers[i]);
    }
    if (fsconfig_str(fs, "lowerdir", list) < 0)
      return fs_error(fs, err, "overlay lower dirs");
  }
  if (upper && (fsconfig_str(fs, "upperdir", upper) < 0 || fsconfig_str(fs, "workdir", work) < 0))
    return fs_error(fs, err, "overlay upper dir");
  if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return fs_error(fs, err, "mount the overlay");
  cleanup_close int mnt =
      (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, upper ? 0 : MOUNT_ATTR_RDONLY);
  if (mnt < 0)
    return fs_error(fs, err, "mount the overlay");
  *fd = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (*fd < 0)
    return cb_error_sys(err, "open the overlay");
  return 0;
}

/* mount(2) data for an overlay: "lowerdir=A:B[,upperdir=U,workdir=W]", with overlay's
 * escapes for ':' ',' and '\' in paths. NULL when it does not fit a page. */
static char *overlay_data(char *const *lowers, const char *upper, const char *work) {
  size_t cap = 64;
  for (size_t i = 0; lowers[i]; i++)
    cap += 2 * strlen(lowers[i]) + 1;
  if (upper)
    cap += 2 * (strlen(upper) + strlen(work));
  char *d = xmalloc(cap);
  size_t n = 0;
#define PUT(s)                                                                                     \
  do {                                                                                             \
    for (const char *p_ = (s); *p_; p_++) {                                                        \
      if (*p_ == ':' || *p_ == ',' || *p_ == '\\')                                                 \
        d[n++] = '\\';                                                                             \
      d[n++] = *p_;                                                                                \
    }                                                                                              \
  } while (0)
  memcpy(d, "lowerdir=", 9);
  n = 9;
  for (size_t i = 0; lowers[i]; i++) {
    if (i)
      d[n++] = ':';
    PUT(lowers[i]);
  }
  if (upper) {
    memcpy(d + n, ",upperdir=", 10);
    n += 10;
    PUT(upper);
    memcpy(d + n, ",workdir=", 9);
    n += 9;
    PUT(work);
  }
#undef PUT
  d[n] = '\0';
  if (n > MOUNT_DATA_MAX) {
    free(d);
    return NULL;
  }
  return d;
}

/* The fallback: a private mount namespace for this process, the overlay mounted on a
 * temporary folder, opened, detached at once. */
static int overlay_private_ns(const struct cb_ctx *ctx, const char *id, char *const *lowers,
                              const char *upper, const char *work, int *fd, cb_error_t *err) {
  cleanup_free char *data = overlay_data(lowers, upper, work);
  if (!data)
    return cb_error_make(err, 0, "the container has too many layers to mount");
  if (unshare(CLONE_NEWNS) < 0)
    return cb_error_sys(err, "unshare the mount namespace");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return cb_error_sys(err, "make the mounts private");
  cleanup_free char *rundir = cb_ctx_runpath(ctx, "%s", id);
  if (cb_mkdir_p(rundir, 0700, err) < 0)
    return -1;
  cleanup_free char *dir = xasprintf("%s/rootfs-tool.XXXXXX", rundir);
  if (!mkdtemp(dir))
    return cb_error_sys(err, "create a folder in `%s`", rundir);
  int rc = 0;
  if (mount("overlay", dir, "overlay", upper ? 0 : MS_RDONLY, data) < 0) {
    rc = cb_error_sys(err, "mount the overlay");
  } else {
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0)
      rc = cb_error_sys(err, "open the overlay");
    if (umount2(dir, MNT_DETACH) < 0 && rc == 0) {
      rc = cb_error_sys(err, "detach the overlay");
      close(*fd);
      *fd = -1;
    }
  }
  rmdir(dir);
  return rc;
}

static int open_private(const struct cb_ctx *ctx, const struct cb_container *c, bool writable,
                        int *fd, cb_error_t *err) {
  struct cb_layer_paths lp;
  if (cb_container_layer_paths(c, &lp, err) < 0)
    return -1;
  char **lowers = NULL;
  if (!writable)
    cb_strv_append(&lowers, lp.upper);
  for (char **p = lp.lowers; *p; p++)
    cb_strv_append(&lowers, *p);
  const char *upper = writable ? lp.upper : NULL;
  int rc = getenv("CROWBAR_ROOTFS_LEGACY_MOUNT")
               ? 1
               : cb_overlay_fsmount(lowers, upper, lp.work, fd, err);
  if (rc > 0)
    rc = overlay_private_ns(ctx, c->id, lowers, upper, lp.work, fd, err);
  cb_strv_free(lowers);
  cb_layer_paths_release(&lp);
  return rc;
}

/* True when a user-space union of the layers is exactly what overlayfs shows: no
 * redirect_dir (renamed folders) and no metacopy (metadata-only copy-ups) by default. */
static bool union_is_exact(void) {
  static const char *const params[] = {"/sys/module/overlay/parameters/redirect_dir",
                                       "/sys/module/overlay/parameters/metacopy"};
  for (size_t i = 0; i < 2; i++) {
    char *text = NULL;
    cb_error_t e = NULL;
    if (cb_read_file(params[i], &text, NULL, &e) < 0) {
      cb_error_release(&e);
      return false;
    }
    bool on = text[0] != 'N' && text[0] != 'n' && text[0] != '0';
    free(text);
    if (on)
      return false;
  }
  return true;
}

static int open_layers(const struct cb_container *c, struct cb_rootfs *r, cb_error_t *err) {
  struct cb_layer_paths lp;
  if (cb_container_layer_paths(c, &lp, err) < 0)
    return -1;
  size_t n = 1 + cb_strv_len(lp.lowers);
  r->layers = xmalloc(n * sizeof *r->layers);
  r->nlayers = 0;
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    const char *p = i == 0 ? lp.upper : lp.lowers[i - 1];
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      rc = cb_error_sys(err, "open the layer `%s`", p);
      break;
    }
    r->layers[r->nlayers++] = fd;
  }
  cb_layer_paths_release(&lp);
  return rc;
}

/* ---- running containers ---------------------------------------------------------------- */

/* Returns 0 with *fd, 1 when the container's process is gone, -1 on error.
 *
 * Both views start from the root of the container's mount namespace, which setns() makes
 * our root and working directory: the mount the engine pivoted into, whatever root PID 1
 * gave itself since. A chroot moves only the process's own root: /proc/PID/root follows
 * it, and cp reading that would read and write PID 1's jail while export and diff show
 * the container's filesystem. (pivot_root, which needs CAP_SYS_ADMIN, replaces the
 * namespace's root itself, for every view alike.) */
static int open_live(const struct cb_container *c, unsigned flags, int *fd, cb_error_t *err) {
  cleanup_close int pfd = cb_pidfd_open_checked(c->state.pid, c->state.pid_start);
  if (pfd < 0)
    return 1;
  cleanup_close int self = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  cleanup_close int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (self < 0)
    return cb_error_sys(err, "open our mount namespace");
  int target = pfd;
  cleanup_close int nsfd = -1;
  if (setns(pfd, CLONE_NEWNS) < 0) {
    if (errno == ESRCH)
      return 1;
    if (errno != EINVAL)
      return cb_error_sys(err, "enter the container's mount namespace");
    /* Before Linux 5.8 setns() takes no pidfd: the namespace file, then the pidfd tells
     * whether it still belongs to the same process. */
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/ns/mnt", (int)c->state.pid);
    nsfd = open(p, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || cb_pidfd_send_signal(pfd, 0) < 0)
      return 1;
    target = nsfd;
    if (setns(target, CLONE_NEWNS) < 0)
      return cb_error_sys(err, "enter the container's mount namespace");
  }
  /* CB_ROOTFS_MOUNTS: the namespace's root with every mount below it (volumes, /proc...),
   * as a path in that namespace; else a detached clone of the root mount alone. */
  int tree = (flags & CB_ROOTFS_MOUNTS)
                 ? open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                 : (int)syscall(SYS_open_tree, AT_FDCWD, "/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  int saved = errno;
  if (setns(self, CLONE_NEWNS) < 0) {
    /* Stuck in the container's namespace: nothing this process does can be trusted. */
    fprintf(stderr, "Error: cannot return to the host's mount namespace: %s\n", strerror(errno));
    abort();
  }
  if (cwd >= 0 && fchdir(cwd) < 0) {
    /* The working directory is gone: stay at the root setns left us in. */
  }
  if (tree < 0) {
    errno = saved;
    return cb_error_sys(err, "open the container's root");
  }
  if (flags & CB_ROOTFS_MOUNTS) {
    *fd = tree;
    return 0;
  }
  *fd = openat(tree, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  saved = errno;
  close(tree);
  if (*fd < 0) {
    errno = saved;
    return cb_error_sys(err, "open the container's root");
  }
  return 0;
}

int cb_rootfs_open(const struct cb_ctx *ctx, struct cb_container *c, unsigned flags,
                   struct cb_rootfs *r, cb_error_t *err) {
  bool writable = flags & CB_ROOTFS_WRITABLE;
  *r = (struct cb_rootfs)CB_ROOTFS_INIT;
  for (int attempt = 0; attempt < 100; attempt++) {
    if (attempt)
      usleep(20000); /* a container between states: its monitor is recording an exit */
    /* Outside our lock: a dead container's state is fixed under its lock. */
    cb_container_refresh(ctx, c);
    cleanup_close int lk = cb_lock(ctx, c->id, writable, err);
    if (lk < 0)
      return -1;
    if (cb_container_reload(ctx, c, err) < 0)
      return -1;
    if (c->state.status == CB_STATUS_REMOVING || c->state.status == CB_STATUS_DEAD)
      return cb_error_make(err, 0, "container %s is marked for removal", c->name);
    if (cb_container_is_running(c) && cb_container_pid_alive(c)) {
      int fd = -1;
      int rc = open_live(c, flags, &fd, err);
      if (rc < 0)
        return -1;
      if (rc > 0)
        continue; /* it just stopped: look again */
      if (writable && faccessat(fd, ".", W_OK, AT_EACCESS) < 0 && errno == EROFS) {
        close(fd);
        return cb_error_make(err, 0, "container %s has a read-only root filesystem", c->name);
      }
      r->fd = fd;
      r->kind = (flags & CB_ROOTFS_MOUNTS) ? CB_ROOTFS_TREE : CB_ROOTFS_LIVE;
      return 0;
    }
    if (cb_container_is_running(c))
      continue; /* recorded running, but its process is gone: refresh fixes the record */
    /* Writes go to the upper dir: an interrupted commit by rename must have moved it out
     * first (stack.h). */
    if (writable && cb_container_finish_commit(ctx, c, err) < 0)
      return cb_error_wrap(err, "container %s", c->name);
    if (!writable && (flags & CB_ROOTFS_LAYERS) && union_is_exact()) {
      if (open_layers(c, r, err) < 0) {
        cb_rootfs_close(r);
        return cb_error_wrap(err, "container %s", c->name);
      }
      r->lock_fd = steal_fd(&lk);
      r->kind = CB_ROOTFS_UNION;
      return 0;
    }
    int fd = -1;
    if (open_private(ctx, c, writable, &fd, err) < 0)
      return cb_error_wrap(err, "container %s", c->name);
    r->fd = fd;
    r->lock_fd = steal_fd(&lk);
    r->kind = CB_ROOTFS_PRIVATE;
    return 0;
  }
  return cb_error_make(err, 0, "container %s keeps changing state: try again", c->name);
}

void cb_rootfs_close(struct cb_rootfs *r) {
  if (r->fd >= 0)
    close(r->fd);
  for (size_t i = 0; i < r->nlayers; i++)
    close(r->layers[i]);
  free(r->layers);
  if (r->lock_fd >= 0)
    close(r->lock_fd);
  *r = (struct cb_rootfs)CB_ROOTFS_INIT;
}
