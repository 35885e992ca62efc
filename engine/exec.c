/* SPDX-License-Identifier: GPL-2.0-or-later */
/* exec: a new process inside a running container, as the container sees the world: its
 * namespaces (entered through a pidfd of its PID 1), its cgroup, its user, its
 * capability set, its environment plus -e, its working folder. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "crowbar/cgroup.h"
#include "crowbar/cleanup.h"
#include "crowbar/json.h"
#include "crowbar/lookpath.h"
#include "crowbar/ns.h"
#include "crowbar/proc.h"
#include "crowbar/seccomp.h"
#include "crowbar/security.h"
#include "crowbar/tty.h"
#include "exec.h"

void exec_opts_free(struct exec_opts *o) {
  cb_strv_free(o->env);
  cb_strv_free(o->argv);
  free(o->user);
  free(o->workdir);
  memset(o, 0, sizeof *o);
}

/* The child: already in the container's namespaces (PID one included, as a child of the
 * setns caller). Never returns. */
static void exec_child(const struct exec_opts *o, struct cb_container *c, char **env, int errfd,
                       int tty_slave, bool nnp) {
  cb_error_t err = NULL;
  for (int sig = 1; sig < _NSIG; sig++)
    signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (tty_slave >= 0) {
    setsid();
    ioctl(tty_slave, TIOCSCTTY, 0);
    dup2(tty_slave, 0);
    dup2(tty_slave, 1);
    dup2(tty_slave, 2);
    if (tty_slave > 2)
      close(tty_slave);
  }
  /* The container's session keyring and seccomp filter, as its PID 1 has them (the
   * filter loaded while CAP_SYS_ADMIN is ours, unless no_new_privs allows it later). */
  if (cb_keyring_join(c->id, false, &err) < 0 ||
      (!nnp && cb_seccomp_apply_container(c->json, &err) < 0))
    goto fail;
  const char *user = o->user ? o->user : cb_json_get_str(c->json, "Config.User", "");
  cleanup_free char *home = NULL;
  if (cb_user_switch(user, &home, &err) < 0)
    goto fail;
  if (home && !cb_env_get(env, "HOME")) {
    cleanup_free char *h = xasprintf("HOME=%s", home);
    cb_env_set(&env, h);
  }
  const char *wd = o->workdir ? o->workdir : cb_json_get_str(c->json, "Config.WorkingDir", "");
  if (chdir(*wd ? wd : "/") < 0) {
    cb_error_sys(&err, "chdir to `%s`", wd);
    goto fail;
  }
  char *prog = cb_look_path(o->argv[0], env, &err);
  if (!prog)
    goto fail;
  cleanup_strv char **add = cb_json_get_strv(c->json, "HostConfig.CapAdd");
  cleanup_strv char **drop = cb_json_get_strv(c->json, "HostConfig.CapDrop");
  if (cb_caps_apply(add, drop, &err) < 0)
    goto fail;
  /* The container's no-new-privileges state, read from its PID 1 before we entered. */
  if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    cb_error_sys(&err, "set no_new_privs");
    goto fail;
  }
  if (cb_cloexec_from(3) < 0) {
    cb_error_sys(&err, "mark the descriptors close-on-exec");
    goto fail;
  }
  if (nnp && cb_seccomp_apply_container(c->json, &err) < 0)
    goto fail;
  execve(prog, o->argv, env);
  cb_error_sys(&err, "exec: \"%s\"", o->argv[0]);
  cb_error_set_code(&err, errno == ENOENT ? 127 : 126);
fail:;
  int code = err && err->exit_code ? err->exit_code : 126;
  dprintf(errfd, "%d %s", code, cb_error_text(err));
  _exit(code);
}

/* NoNewPrivs of a process, from /proc/PID/status. */
static bool pid_no_new_privs(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  cleanup_free char *text = NULL;
  cb_error_t e = NULL;
  if (cb_read_file(path, &text, NULL, &e) < 0) {
    cb_error_release(&e);
    return false;
  }
  const char *l = strstr(text, "\nNoNewPrivs:");
  return l && strtol(l + 12, NULL, 10) == 1;
}

int container_exec(const struct cb_ctx *ctx, const struct exec_opts *o, int *exit_code,
                   cb_error_t *err) {
  cleanup_container struct cb_container *c = NULL;
  if (cb_container_locate(ctx, o->container, &c, err) < 0)
    return -1;
  if (c->state.status == CB_STATUS_PAUSED)
    return cb_error_make(err, 0, "Container %s is paused, unpause the container before exec",
                         c->id);
  if (!cb_container_is_running(c) || !cb_container_pid_alive(c))
    return cb_error_make(err, 0, "Container %s is not running", c->id);
  cleanup_close int pidfd = cb_pidfd_open_checked(c->state.pid, c->state.pid_start);
  if (pidfd < 0)
    return cb_error_make(err, 0, "Container %s is not running", c->id);

  /* The environment: the container's, HOSTNAME, TERM for a terminal, then -e. */
  cleanup_strv char **env = cb_json_get_strv(c->json, "Config.Env");
  const char *hn = cb_json_get_str(c->json, "Config.Hostname", NULL);
  if (hn && !cb_env_get(env, "HOSTNAME")) {
    cleanup_free char *h = xasprintf("HOSTNAME=%s", hn);
    cb_env_set(&env, h);
  }
  if (o->tty && !cb_env_get(env, "TERM"))
    cb_env_set(&env, "TERM=xterm");
  for (char **p = o->env; p && *p; p++)
    cb_env_set(&env, *p);

  bool nnp = pid_no_new_privs(c->state.pid);
  int errp[2];
  if (pipe2(errp, O_CLOEXEC) < 0)
    return cb_error_sys(err, "pipe");
  cleanup_close int err_r = errp[0];
  cleanup_close int err_w = errp[1];

  /* Join the cgroup while the host's /sys/fs/cgroup is still ours to see. */
  if (cb_cgroup_join_process(c->state.pid, getpid(), err) < 0)
    return cb_error_wrap(err, "join the container's cgroup");
  unsigned which = cb_ns_differing(c->state.pid);
  if (which & CB_NS_PID)
    cb_leak_check_now();
  if (cb_ns_enter(pidfd, c->state.pid, which, err) < 0)
    return -1;
  /* A terminal from the container's own devpts, opened inside its mount namespace. */
  cleanup_close int master = -1;
  cleanup_close int slave = -1;
  if (o->tty && cb_tty_open_pty("/dev/ptmx", &master, &slave, err) < 0)
    return -1;
  if (o->tty)
    cb_tty_copy_size(0, master);

  if (o->detach) {
    /* Detached: a grandchild in its own session, stdio on /dev/null. */
    pid_t pid = fork();
    if (pid < 0)
      return cb_error_sys(err, "fork");
    if (pid == 0) {
      int nul = open("/dev/null", O_RDWR);
      dup2(nul, 0);
      dup2(nul, 1);
      dup2(nul, 2);
      setsid();
      if (fork() != 0)
        _exit(0);
      exec_child(o, c, env, err_w, -1, nnp);
    }
    waitpid(pid, NULL, 0);
    close(err_w);
    err_w = -1;
    char msg[1024];
    ssize_t n = read(err_r, msg, sizeof msg - 1);
    if (n > 0) {
      msg[n] = '\0';
      char *sp = strchr(msg, ' ');
      cb_error_make(err, 0, "%s", sp ? sp + 1 : msg);
      return cb_error_set_code(err, atoi(msg) ? atoi(msg) : 126);
    }
    *exit_code = 0;
    return 0;
  }

  pid_t pid = fork();
  if (pid < 0)
    return cb_error_sys(err, "fork");
  if (pid == 0) {
    close(err_r);
    if (master >= 0)
      close(master);
    if (!o->interactive && !o->tty) {
      int nul = open("/dev/null", O_RDONLY);
      dup2(nul, 0);
    }
    exec_child(o, c, env, err_w, slave, nnp);
  }
  close(err_w);
  err_w = -1;
  if (slave >= 0) {
    close(slave);
    slave = -1;
  }
  /* Signals from the terminal reach the process itself (same process group or its own
   * terminal); we only wait. */
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  char msg[1024];
  ssize_t n;
  do
    n = read(err_r, msg, sizeof msg - 1);
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    int status;
    waitpid(pid, &status, 0);
    msg[n] = '\0';
    char *sp = strchr(msg, ' ');
    cb_error_make(err, 0, "%s", sp ? sp + 1 : msg);
    return cb_error_set_code(err, atoi(msg) ? atoi(msg) : 126);
  }
  if (master >= 0) {
    struct cb_tty_relay r = {
        .in = o->interactive ? 0 : -1, .out = 1, .master = master, .detach_keys = NULL};
    cb_tty_relay(&r, pid);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  *exit_code = WIFEXITED(status)     ? WEXITSTATUS(status)
               : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                     : 255;
  return 0;
}
