/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container's root: overlay, /proc, /sys, a minimal /dev, bind mounts, masked paths,
 * pivot_root. Every path inside the root is resolved with openat2(RESOLVE_IN_ROOT), so a
 * symlink in an image cannot redirect a mount onto the host. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "crowbar/cgroup.h"
#include "crowbar/cleanup.h"
#include "shim.h"

static int openat2_in_root(int rootfd, const char *path, int flags) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                         .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
  while (*path == '/')
    path++;
  if (!*path)
    path = ".";
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* Create every missing folder of path inside the root (and the last one as a folder or an
 * empty file), then return an O_PATH descriptor on it. */
static int make_in_root(int rootfd, const char *path, bool dir, cb_error_t *err) {
  cleanup_free char *copy = xstrdup(path);
  char *p = copy;
  while (*p == '/')
    p++;
  for (char *slash = strchr(p, '/');; slash = strchr(slash + 1, '/')) {
    if (slash)
      *slash = '\0';
    cleanup_close int fd = openat2_in_root(rootfd, copy, O_PATH);
    if (fd < 0) {
      if (errno != ENOENT)
        return cb_error_sys(err, "resolve `%s` in the container", copy);
      /* Create it in its (resolved) parent. */
      char *last = strrchr(copy, '/');
      const char *base = last ? last + 1 : copy;
      cleanup_close int parent = -1;
      if (last && last != copy) {
        *last = '\0';
        parent = openat2_in_root(rootfd, copy, O_PATH | O_DIRECTORY);
        *last = '/';
      } else {
        parent = openat2_in_root(rootfd, "/", O_PATH | O_DIRECTORY);
      }
      if (parent < 0)
        return cb_error_sys(err, "resolve the parent of `%s` in the container", copy);
      int r;
      if (slash || dir)
        r = mkdirat(parent, base, 0755);
      else {
        r = openat(parent, base, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (r >= 0)
          close(r), r = 0;
      }
      if (r < 0 && errno != EEXIST)
        return cb_error_sys(err, "create `%s` in the container", copy);
    }
    if (!slash)
      break;
    *slash = '/';
  }
  int fd = openat2_in_root(rootfd, path, O_PATH);
  if (fd < 0)
    return cb_error_sys(err, "resolve `%s` in the container", path);
  return fd;
}

static int mount_at(int rootfd, const char *dst, bool dir, const char *src, const char *type,
                    unsigned long flags, const char *data, cb_error_t *err) {
  cleanup_close int fd = make_in_root(rootfd, dst, dir, err);
  if (fd < 0)
    return -1;
  char target[64];
  snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
  if (mount(src, target, type, flags, data) < 0)
    return cb_error_sys(err, "mount %s on `%s`", type ? type : src, dst);
  return 0;
}

/* Remount an existing mount (bind) read-only, keeping its other flags. */
static int remount_ro(int rootfd, const char *dst, unsigned long extra, cb_error_t *err) {
  cleanup_close int fd = openat2_in_root(rootfd, dst, O_PATH);
  if (fd < 0)
    return cb_error_sys(err, "resolve `%s` in the container", dst);
  char target[64];
  snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
  if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | extra, NULL) < 0)
    return cb_error_sys(err, "remount `%s` read-only", dst);
  return 0;
}

/* The files inside /proc that a bind mount may cover: those lxcfs emulates. */
static const char *const proc_files_ok[] = {
    "/proc/cpuinfo", "/proc/diskstats",
    "/proc/meminfo", "/proc/stat",
    "/proc/swaps",   "/proc/uptime",
    "/proc/loadavg", "/proc/slabinfo",
    "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
};

/* Docker's rule (runc's, which Docker 20.10 users meet at start): over /proc only a procfs
 * may be mounted, and inside it only the files above; the same words as runc's. dst is the
 * destination as given (cleaned), at the container path the mount would land on. */
static int check_proc_mount(const struct shim_config *cfg, const struct shim_mount *m,
                            const char *dst, const char *at, cb_error_t *err) {
  if (strcmp(at, "/proc") && strncmp(at, "/proc/", 6))
    return 0;
  if (!strcmp(at, "/proc")) {
    struct statfs sf;
    if (statfs(m->src, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC)
      return 0;
    return cb_error_make(err, 0,
                         "error mounting \"%s\" to rootfs at \"%s\": \"%s%s\" cannot be mounted "
                         "because it is not of type proc",
                         m->src, dst, cfg->merged, at);
  }
  for (size_t i = 0; i < sizeof proc_files_ok / sizeof proc_files_ok[0]; i++)
    if (!strcmp(at, proc_files_ok[i]))
      return 0;
  return cb_error_make(err, 0,
                       "error mounting \"%s\" to rootfs at \"%s\": \"%s%s\" cannot be mounted "
                       "because it is inside /proc",
                       m->src, dst, cfg->merged, at);
}

/* A bind mount of the user's (-v): checked against /proc as written (cleaned) and once
 * resolved in the container, where a symlink of the image may have led it. */
static int bind_user_mount(int rootfd, const struct shim_config *cfg, const struct shim_mount *m,
                           cb_error_t *err) {
  cleanup_free char *rel = cb_path_clean_in_root(m->dst);
  cleanup_free char *at = xasprintf("/%s", rel);
  if (check_proc_mount(cfg, m, at, at, err) < 0)
    return -1;
  struct stat st;
  if (stat(m->src, &st) < 0)
    return cb_error_sys(err, "bind source `%s`", m->src);
  cleanup_close int fd = make_in_root(rootfd, m->dst, S_ISDIR(st.st_mode), err);
  if (fd < 0)
    return -1;
  char target[64], real[4096];
  snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(target, real, sizeof real - 1);
  size_t ml = strlen(cfg->merged);
  struct statfs sf;
  if (n > 0) {
    real[n] = '\0';
    if (!strncmp(real, cfg->merged, ml) && (real[ml] == '/' || !real[ml]) &&
        check_proc_mount(cfg, m, at, real[ml] ? real + ml : "/", err) < 0)
      return -1;
  } else if (fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC) {
    return cb_error_make(err, 0,
                         "error mounting \"%s\" to rootfs at \"%s\": it cannot be mounted "
                         "because it is inside /proc",
                         m->src, at);
  }
  if (mount(m->src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
    return cb_error_sys(err, "mount %s on `%s`", m->src, m->dst);
  if (m->ro && remount_ro(rootfd, m->dst, 0, err) < 0)
    return -1;
  return 0;
}

static int setup_dev(int rootfd, cb_error_t *err) {
  if (mount_at(rootfd, "/dev", true, "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
               "mode=755,size=65536k", err) < 0)
    return -1;
  cleanup_close int dev = openat2_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY);
  if (dev < 0)
    return cb_error_sys(err, "open /dev in the container");
  static const struct {
    const char *name;
    unsigned maj, min;
  } nodes[] = {{"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
               {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    if (mknodat(dev, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0)
      return cb_error_sys(err, "mknod /dev/%s", nodes[i].name);
    /* mknod honours the umask: make the mode exact. */
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d/%s", dev, nodes[i].name);
    chmod(p, 0666);
  }
  static const char *const links[][2] = {
      {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"},         {"/proc/kcore", "core"}};
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
    if (symlinkat(links[i][0], dev, links[i][1]) < 0)
      return cb_error_sys(err, "symlink /dev/%s", links[i][1]);
  if (mount_at(rootfd, "/dev/pts", true, "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
               "newinstance,ptmxmode=0666,mode=0620,gid=5", err) < 0)
    return -1;
  if (mount_at(rootfd, "/dev/shm", true, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
               "mode=1777,size=65536k", err) < 0)
    return -1;
  if (mount_at(rootfd, "/dev/mqueue", true, "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC,
               NULL, err) < 0)
    return -1;
  return 0;
}

/* Docker's default masked and read-only paths. */
static const char *const masked[] = {
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
};
static const char *const readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                       "/proc/sysrq-trigger"};

static int mask_paths(int rootfd, cb_error_t *err) {
  /* Files are masked with the container's own null node (setup_dev made it), never the
   * host's /dev/null: a root in the container can chmod, chown or touch a masked file. */
  cleanup_close int nul = openat2_in_root(rootfd, "/dev/null", O_PATH);
  struct stat nst;
  if (nul < 0 || fstat(nul, &nst) < 0)
    return cb_error_sys(err, "open the container's /dev/null");
  if (!S_ISCHR(nst.st_mode) || nst.st_rdev != makedev(1, 3))
    return cb_error_make(err, 0, "the container's /dev/null is not the null device");
  char nul_path[64];
  snprintf(nul_path, sizeof nul_path, "/proc/self/fd/%d", nul);
  for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
    cleanup_close int fd = openat2_in_root(rootfd, masked[i], O_PATH);
    if (fd < 0)
      continue;
    struct stat st;
    if (fstat(fd, &st) < 0)
      continue;
    char target[64];
    snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
    int r = S_ISDIR(st.st_mode) ? mount("tmpfs", target, "tmpfs", MS_RDONLY, "size=0k")
                                : mount(nul_path, target, NULL, MS_BIND, NULL);
    if (r < 0)
      return cb_error_sys(err, "mask `%s`", masked[i]);
  }
  for (size_t i = 0; i < sizeof readonly / sizeof readonly[0]; i++) {
    cleanup_close int fd = openat2_in_root(rootfd, readonly[i], O_PATH);
    if (fd < 0)
      continue;
    char target[64];
    snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
    if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) < 0)
      return cb_error_sys(err, "bind `%s`", readonly[i]);
    if (remount_ro(rootfd, readonly[i], MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
      return -1;
  }
  return 0;
}

static int bind_file(int rootfd, const char *src, const char *dst, cb_error_t *err) {
  if (!src)
    return 0;
  if (mount_at(rootfd, dst, false, src, NULL, MS_BIND, NULL, err) < 0)
    return -1;
  return 0;
}

int rootfs_setup(const struct shim_config *cfg, cb_error_t *err) {
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return cb_error_sys(err, "make the mounts private");
  cleanup_free char *opts =
      xasprintf("lowerdir=%s,upperdir=%s,workdir=%s", cfg->lowerdir, cfg->upperdir, cfg->workdir);
  if (mount("overlay", cfg->merged, "overlay", 0, opts) < 0)
    return cb_error_sys(err, "mount the overlay root filesystem");
  cleanup_close int rootfd = open(cfg->merged, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return cb_error_sys(err, "open the root filesystem");

  if (mount_at(rootfd, "/proc", true, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err) <
      0)
    return -1;
  if (setup_dev(rootfd, err) < 0)
    return -1;
  if (mount_at(rootfd, "/sys", true, "sysfs", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
               NULL, err) < 0) {
    /* Sharing the host's network namespace, sysfs may refuse a new instance: bind it. */
    cb_error_release(err);
    if (mount_at(rootfd, "/sys", true, "/sys", NULL, MS_BIND | MS_REC, NULL, err) < 0 ||
        remount_ro(rootfd, "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
      return -1;
  }
  if (cb_cgroup_detect() == CB_CGROUP_V2) {
    if (mount_at(rootfd, "/sys/fs/cgroup", true, "cgroup", "cgroup2",
                 MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL, err) < 0)
      cb_error_release(err);
  }

  for (size_t i = 0; i < cfg->nmounts; i++)
    if (bind_user_mount(rootfd, cfg, &cfg->mounts[i], err) < 0)
      return -1;
  if (bind_file(rootfd, cfg->hostname_path, "/etc/hostname", err) < 0 ||
      bind_file(rootfd, cfg->hosts_path, "/etc/hosts", err) < 0 ||
      bind_file(rootfd, cfg->resolv_path, "/etc/resolv.conf", err) < 0)
    return -1;
  if (mask_paths(rootfd, err) < 0)
    return -1;

  /* pivot_root(".", ".") and detach the old root (runc's trick: no temporary folder). */
  cleanup_close int newroot = open(cfg->merged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (newroot < 0 || fchdir(newroot) < 0)
    return cb_error_sys(err, "enter the root filesystem");
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return cb_error_sys(err, "pivot_root");
  if (umount2(".", MNT_DETACH) < 0)
    return cb_error_sys(err, "detach the old root");
  if (chdir("/") < 0)
    return cb_error_sys(err, "chdir /");
  if (cfg->read_only && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
    return cb_error_sys(err, "remount the root filesystem read-only");
  return 0;
}
