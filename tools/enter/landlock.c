/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The toolbox's confinement: a Landlock domain in which exec runs only the toolbox. The
 * toolbox keeps every privilege of the host, so it must never run a program of the
 * container: not one that its shell finds on a PATH folder of the container, nor one that
 * a fake /proc puts behind /proc/self/fd/N or /proc/self/exe (a PID 1 that chroots itself
 * into a folder of its own makes its root, which is ours, say anything), nor a script's
 * interpreter. With LANDLOCK_ACCESS_FS_EXECUTE handled, the kernel refuses every exec
 * (and every ELF or script interpreter it opens) of a file outside the rules: the
 * toolbox's binary on its read-only mount and its applet folder, both opened on the host
 * before entering. Nothing else is restricted: moving files between folders (REFER, which
 * every Landlock domain handles) is allowed beneath the root the command sees. */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "enter.h"

static int allow(int ruleset, int fd, uint64_t access, cb_error_t *err) {
  struct landlock_path_beneath_attr rule = {.allowed_access = access, .parent_fd = fd};
  if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) < 0)
    return cb_error_sys(err, "add a Landlock rule for the toolbox");
  return 0;
}

int toolbox_ruleset(const struct toolbox *tb, int rootfd, cb_error_t *err) {
  long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 1)
    return cb_error_make(err, errno,
                         "the toolbox needs Landlock (Linux 5.13 or later, with landlock among "
                         "the enabled LSMs) to keep the container's programs from running with "
                         "the host's privileges");
  /* REFER exists from ABI 2 (Linux 5.19); before, a domain cannot move files between
   * folders at all. */
  uint64_t refer = abi >= 2 ? LANDLOCK_ACCESS_FS_REFER : 0;
  struct landlock_ruleset_attr attr = {.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE | refer};
  cleanup_close int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (rs < 0)
    return cb_error_sys(err, "create a Landlock ruleset for the toolbox");
  if (allow(rs, tb->exe, LANDLOCK_ACCESS_FS_EXECUTE, err) < 0 ||
      (tb->dirfd >= 0 && allow(rs, tb->dirfd, LANDLOCK_ACCESS_FS_EXECUTE, err) < 0))
    return -1;
  if (refer) {
    cleanup_close int root = rootfd >= 0 ? dup(rootfd) : open("/", O_PATH | O_DIRECTORY);
    if (root < 0 || allow(rs, root, refer, err) < 0)
      return root < 0 ? cb_error_sys(err, "open the root") : -1;
  }
  return steal_fd(&rs);
}

int toolbox_confine(int ruleset, cb_error_t *err) {
  if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
    return cb_error_sys(err, "confine the toolbox (Landlock)");
  return 0;
}
