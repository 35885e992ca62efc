/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container side of the clone: runs in the new namespaces, sets the root up, becomes
 * the user, drops capabilities and execs the command (through crowbar-init for --init).
 * No handle on a host file crosses the exec: stdio are the shim's pipes, the container's
 * own terminal or its own /dev/null, and crowbar-init comes through a read-only mount. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crowbar/attach.h"
#include "crowbar/cgroup.h"
#include "crowbar/cleanup.h"
#include "crowbar/tty.h"
#include "crowbar/lookpath.h"
#include "crowbar/seccomp.h"
#include "crowbar/security.h"
#include "shim.h"

void child_fail(int errfd, int code, const char *fmt, ...) {
  char buf[2048];
  int n = snprintf(buf, sizeof buf, "%d ", code);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + n, sizeof buf - n, fmt, ap);
  va_end(ap);
  cb_write_all(errfd, buf, strlen(buf));
  _exit(code);
}

static void fail_err(int errfd, int code, cb_error_t *err) {
  child_fail(errfd, code, "%s", cb_error_text(*err));
}

static int loopback_up(cb_error_t *err) {
  cleanup_close int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return cb_error_sys(err, "socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
    return cb_error_sys(err, "read the flags of lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
    return cb_error_sys(err, "bring lo up");
  return 0;
}

/* Wait until the shim has put us in our cgroups, then make the cgroup namespace. */
static void join_cgroup_ns(int syncfd, int errfd) {
  char go;
  if (read(syncfd, &go, 1) != 1)
    _exit(125);
  close(syncfd);
  if (unshare(CLONE_NEWCGROUP) < 0)
    child_fail(errfd, 125, "unshare the cgroup namespace: %s", strerror(errno));
}

void container_child(const struct shim_config *cfg, int syncfd, int errfd, int consolefd) {
  cb_error_t err = NULL;
  /* The shim moves us into the container's cgroups while we set the root up: the first
   * cgroup migration waits for an RCU grace period (~10 ms), as long as all the mounts.
   * The cgroup namespace can only be made once we are in: with a cgroup2 file system to
   * mount (v2 hosts), before the mounts; otherwise after them. */
  bool v2 = cb_cgroup_detect() == CB_CGROUP_V2;
  if (v2)
    join_cgroup_ns(syncfd, errfd);
  if (rootfs_setup(cfg, &err) < 0)
    fail_err(errfd, 125, &err);
  if (!v2)
    join_cgroup_ns(syncfd, errfd);
  if (cfg->hostname && *cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
    child_fail(errfd, 125, "sethostname: %s", strerror(errno));
  if (!cfg->net_host && loopback_up(&err) < 0)
    fail_err(errfd, 125, &err);
  /* Without -i, stdin is the container's own /dev/null (rootfs_setup made it a moment ago,
   * before any code of the container ran), not the host's that the shim opened: a root in
   * the container could chmod or chown the host's node through /proc/self/fd/0. */
  if (!cfg->tty && !cfg->open_stdin) {
    int nul = open("/dev/null", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (nul < 0 || dup2(nul, 0) < 0)
      child_fail(errfd, 125, "open the container's /dev/null: %s", strerror(errno));
    close(nul);
  }

  if (cfg->tty) {
    /* The terminal comes from the container's own devpts, as /dev/pts/0 inside. */
    int master, slave;
    if (cb_tty_open_pty("/dev/ptmx", &master, &slave, &err) < 0)
      fail_err(errfd, 125, &err);
    struct cb_attach_msg m = {.type = CB_ATTACH};
    if (cb_attach_send(consolefd, &m, &master, 1) < 0)
      child_fail(errfd, 125, "send the terminal to the monitor: %s", strerror(errno));
    close(master);
    close(consolefd);
    if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
      child_fail(errfd, 125, "make the terminal the controlling one: %s", strerror(errno));
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    if (slave > 2)
      close(slave);
  }
  char **env = cb_strv_dup(cfg->env);
  cleanup_free char *home = NULL;
  /* A session keyring of its own, never the one of whoever started it (runc does it). */
  if (cb_keyring_join(cfg->id, true, &err) < 0)
    fail_err(errfd, 125, &err);
  /* The seccomp filter, compiled here (not in the shim, whose memory lasts). Without
   * no_new_privs the kernel wants CAP_SYS_ADMIN to load it: now, before the user and
   * capabilities change (what follows uses only calls Docker's profile allows); with
   * no_new_privs, at the last moment, as runc does. */
  struct cb_seccomp_filter filter;
  if (cb_seccomp_for_container(cfg->record, &filter, &err) < 0)
    fail_err(errfd, 125, &err);
  if (cfg->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    child_fail(errfd, 125, "set no_new_privs: %s", strerror(errno));
  if (!cfg->no_new_privs && cb_seccomp_load(&filter, &err) < 0)
    fail_err(errfd, 125, &err);
  /* An unknown user is the engine's failure (125), as in Docker. */
  if (cb_user_switch(cfg->user, &home, &err) < 0)
    fail_err(errfd, 125, &err);
  /* A change of user clears the parent-death signal: set it again, so that PID 1 never
   * outlives its monitor unwatched. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (!cb_env_get(env, "HOSTNAME") && cfg->hostname) {
    cleanup_free char *h = xasprintf("HOSTNAME=%s", cfg->hostname);
    cb_strv_append(&env, h);
  }
  if (!cb_env_get(env, "HOME") && home) {
    cleanup_free char *h = xasprintf("HOME=%s", home);
    cb_strv_append(&env, h);
  }
  if (cfg->cwd && *cfg->cwd) {
    if (chdir(cfg->cwd) < 0) {
      /* Docker creates a missing working directory. */
      if (errno != ENOENT || cb_mkdir_p(cfg->cwd, 0755, &err) < 0 || chdir(cfg->cwd) < 0)
        child_fail(errfd, 125, "chdir to cwd (\"%s\") set in config.json failed: %s", cfg->cwd,
                   strerror(errno));
    }
  }
  char *prog = cb_look_path(cfg->argv[0], env, &err);
  if (!prog)
    fail_err(errfd, err->exit_code ? err->exit_code : 127, &err);
  if (cb_caps_apply(cfg->cap_add, cfg->cap_drop, &err) < 0)
    fail_err(errfd, 125, &err);
  /* The terminal belongs to the user the command runs as (CAP_CHOWN is still effective). */
  if (cfg->tty && fchown(0, getuid(), getgid()) < 0 && errno != EPERM)
    child_fail(errfd, 125, "chown the terminal: %s", strerror(errno));
  /* No host descriptor crosses the exec (runc CVE-2024-21626): a profile that denies
   * both ways of marking them stops the start. */
  if (cb_cloexec_from(3) < 0)
    child_fail(errfd, 125, "mark the descriptors close-on-exec: %s", strerror(errno));
  if (cfg->no_new_privs && cb_seccomp_load(&filter, &err) < 0)
    fail_err(errfd, 125, &err);
  if (cfg->init_fd >= 0) {
    /* crowbar-init runs from the host's file, through the read-only mount the shim opened
     * it on (cb_hostfile_open_ro): PID 1's /proc/1/exe, which every root in the container
     * can open, reaches a file nobody can write, truncate or chmod (CVE-2019-5736). */
    size_t n = cb_strv_len(cfg->argv);
    char **argv = xcalloc(n + 4, sizeof *argv);
    argv[0] = "/sbin/crowbar-init";
    argv[1] = "--";
    argv[2] = prog;
    for (size_t i = 1; i < n; i++)
      argv[2 + i] = cfg->argv[i];
    syscall(SYS_execveat, cfg->init_fd, "", argv, env, AT_EMPTY_PATH);
    child_fail(errfd, 126, "exec the init: %s", strerror(errno));
  }
  execve(prog, cfg->argv, env);
  int e = errno;
  child_fail(errfd, e == ENOENT ? 127 : 126, "exec: \"%s\": %s", cfg->argv[0], strerror(e));
}
