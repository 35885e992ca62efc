/* SPDX-License-Identifier: GPL-2.0-or-later */
/* exec: a new process inside a running container, as the container sees the world: its
 * namespaces (entered through a pidfd of its PID 1), its cgroup, its user, its
 * capability set, its environment plus -e, its working folder. It leads its own session
 * and process group, and no handle of the host reaches it: its stdio are pipes we relay
 * (exec_io.c), a pty of the container's own (-t) or a read-only host /dev/null (-d). */
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
#include "crowbar/hostfile.h"
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

/* The command's standard streams, as the child sets them up. */
struct exec_stdio {
  int in, out, err; /* to 0, 1 and 2: pipes of ours, or a read-only host /dev/null (-d) */
  int tty;          /* or, with -t: the slave of a pty from the container's own devpts */
};

/* The child, already in the container's namespaces (PID one included, as a child of the
 * setns caller) and cgroup: everything that makes it the container's process happens here,
 * in this order, and nothing of it may be looked up on the host afterwards. Never
 * returns: it execs, or writes "CODE MESSAGE" to errfd and exits with CODE. */
static void exec_child(const struct exec_opts *o, struct cb_container *c, char **env, int errfd,
                       const struct exec_stdio *io, bool nnp) {
  cb_error_t err = NULL;
  /* First: until exec, this process is a host binary (crowbar-exec) in the container's
   * PID namespace. Non-dumpable, no process of the container can open its /proc/PID/exe
   * (and write the host's binary, CVE-2019-5736), fd/ or mem, or ptrace it; exec makes the
   * command dumpable again. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  for (int sig = 1; sig < _NSIG; sig++)
    signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  /* Its own session and process group, as Docker's exec'd processes: no terminal of the
   * caller is its controlling one. */
  if (setsid() < 0) {
    cb_error_sys(&err, "setsid");
    goto fail;
  }
  if (io->tty >= 0) {
    if (ioctl(io->tty, TIOCSCTTY, 0) < 0) {
      cb_error_sys(&err, "make the terminal the controlling one");
      goto fail;
    }
    if (dup2(io->tty, 0) < 0 || dup2(io->tty, 1) < 0 || dup2(io->tty, 2) < 0) {
      cb_error_sys(&err, "dup2");
      goto fail;
    }
  } else if (dup2(io->in, 0) < 0 || dup2(io->out, 1) < 0 || dup2(io->err, 2) < 0) {
    cb_error_sys(&err, "dup2");
    goto fail;
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
  /* No descriptor of ours crosses the exec but 0, 1 and 2 (runc CVE-2024-21626). */
  if (cb_cloexec_from(3) < 0) {
    cb_error_sys(&err, "mark the descriptors close-on-exec");
    goto fail;
  }
  /* With no_new_privs the container's seccomp filter comes last before exec. */
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

/* The command failed before exec: its "CODE MESSAGE" from the error pipe (n bytes). */
static int child_error(char *msg, ssize_t n, cb_error_t *err) {
  msg[n] = '\0';
  char *sp = strchr(msg, ' ');
  cb_error_make(err, 0, "%s", sp ? sp + 1 : msg);
  return cb_error_set_code(err, atoi(msg) ? atoi(msg) : 126);
}

/* Read the error pipe until the child execs (EOF: 0) or reports a failure (bytes). */
static ssize_t read_child_error(int fd, char *msg, size_t size) {
  ssize_t n;
  do
    n = read(fd, msg, size - 1);
  while (n < 0 && errno == EINTR);
  return n;
}

/* Signals for the command. The terminal's keys (SIGINT, SIGQUIT) go to its process group,
 * as a terminal would send them; the others to the command itself. */
static volatile sig_atomic_t command_pid;
static void forward_signal(int sig) {
  pid_t pid = command_pid;
  if (pid <= 0)
    return;
  if ((sig != SIGINT && sig != SIGQUIT) || kill(-pid, sig) < 0)
    kill(pid, sig);
}
static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

/* 0, 1 and 2 open, so that no descriptor of ours takes their numbers. */
static void reserve_stdio(void) {
  for (int fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) != fd)
      break;
}

int container_exec(const struct cb_ctx *ctx, const struct exec_opts *o, int *exit_code,
                   cb_error_t *err) {
  reserve_stdio();
  /* No such container, paused, not running: Docker's exec fails with 1 there, before
   * anything runs. */
  cleanup_container struct cb_container *c = NULL;
  if (cb_container_locate(ctx, o->container, &c, err) < 0)
    return cb_error_set_code(err, 1);
  if (c->state.status == CB_STATUS_PAUSED) {
    cb_error_make(err, 0, "Container %s is paused, unpause the container before exec", c->id);
    return cb_error_set_code(err, 1);
  }
  if (!cb_container_is_running(c) || !cb_container_pid_alive(c)) {
    cb_error_make(err, 0, "Container %s is not running", c->id);
    return cb_error_set_code(err, 1);
  }
  cleanup_close int pidfd = cb_pidfd_open_checked(c->state.pid, c->state.pid_start);
  if (pidfd < 0) {
    cb_error_make(err, 0, "Container %s is not running", c->id);
    return cb_error_set_code(err, 1);
  }

  /* The environment, as Docker's: PATH, HOSTNAME, TERM for a terminal, the container's
   * over them, then -e. */
  cleanup_strv char **config_env = cb_json_get_strv(c->json, "Config.Env");
  cleanup_strv char **env =
      cb_env_for_process(config_env, cb_json_get_str(c->json, "Config.Hostname", ""), o->tty);
  for (char **p = o->env; p && *p; p++)
    cb_env_set(&env, *p);

  bool nnp = pid_no_new_privs(c->state.pid);
  int errp[2];
  if (pipe2(errp, O_CLOEXEC) < 0)
    return cb_error_sys(err, "pipe");
  cleanup_close int err_r = errp[0];
  cleanup_close int err_w = errp[1];
  /* A detached command's stdio: the host's null device, through a read-only mount (the
   * container's own /dev/null is the container's to replace, with a FIFO or a terminal). */
  cleanup_close int nul = -1;
  if (o->detach && (nul = cb_hostfile_open_null(O_RDWR, err)) < 0)
    return -1;

  /* Join the cgroup while the host's /sys/fs/cgroup is still ours to see. */
  if (cb_cgroup_join_process(c->state.pid, getpid(), err) < 0)
    return cb_error_wrap(err, "join the container's cgroup");
  unsigned which = cb_ns_differing(c->state.pid);
  if (which & CB_NS_PID)
    cb_leak_check_now();
  if (cb_ns_enter(pidfd, c->state.pid, which, err) < 0)
    return -1;
  char msg[1024];
  ssize_t n;

  if (o->detach) {
    /* Detached: a grandchild, reparented to the container's PID 1. */
    struct exec_stdio io = {nul, nul, nul, -1};
    pid_t pid = fork();
    if (pid < 0)
      return cb_error_sys(err, "fork");
    if (pid == 0) {
      prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
      pid_t grandchild = fork();
      if (grandchild < 0) {
        dprintf(err_w, "125 fork: %s", strerror(errno));
        _exit(125);
      }
      if (grandchild > 0)
        _exit(0);
      exec_child(o, c, env, err_w, &io, nnp);
    }
    waitpid(pid, NULL, 0);
    close(steal_fd(&err_w));
    if ((n = read_child_error(err_r, msg, sizeof msg)) > 0)
      return child_error(msg, n, err);
    *exit_code = 0;
    return 0;
  }

  /* A terminal from the container's own devpts, opened inside its mount namespace; or
   * pipes of ours (the command's stdin is an empty one without -i). */
  cleanup_close int master = -1, slave = -1;
  int in[2] = {-1, -1}, out[2] = {-1, -1}, errs[2] = {-1, -1};
  struct exec_stdio io = {-1, -1, -1, -1};
  if (o->tty) {
    if (cb_tty_open_pty("/dev/ptmx", &master, &slave, err) < 0)
      return -1;
    cb_tty_copy_size(0, master);
    io.tty = slave;
  } else {
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(errs, O_CLOEXEC) < 0) {
      int *ends[] = {&in[0], &in[1], &out[0], &out[1], &errs[0], &errs[1]};
      for (size_t k = 0; k < sizeof ends / sizeof ends[0]; k++)
        if (*ends[k] >= 0)
          close(*ends[k]);
      return cb_error_sys(err, "pipe");
    }
    io = (struct exec_stdio){in[0], out[1], errs[1], -1};
  }

  /* Signals wait until the forwarding is in place; the child resets its mask. */
  sigset_t block, saved;
  sigemptyset(&block);
  for (size_t k = 0; k < sizeof forwarded / sizeof forwarded[0]; k++)
    sigaddset(&block, forwarded[k]);
  sigprocmask(SIG_BLOCK, &block, &saved);
  pid_t pid = fork();
  if (pid == 0)
    exec_child(o, c, env, err_w, &io, nnp);
  int fork_errno = errno;
  close(steal_fd(&err_w));
  if (o->tty) {
    close(steal_fd(&slave));
    /* The terminal's keys reach the command through the pty; we only wait. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
  } else {
    close(in[0]);
    close(out[1]);
    close(errs[1]);
    if (!o->interactive) {
      /* No -i: the command's stdin is at its end at once. */
      close(in[1]);
      in[1] = -1;
    }
    /* Our stdout closed: the command gets EPIPE (SIGPIPE) at its next write, not us. */
    signal(SIGPIPE, SIG_IGN);
    command_pid = pid > 0 ? pid : 0;
    struct sigaction sa = {.sa_handler = forward_signal};
    sigemptyset(&sa.sa_mask);
    for (size_t k = 0; k < sizeof forwarded / sizeof forwarded[0]; k++)
      sigaction(forwarded[k], &sa, NULL);
  }
  sigprocmask(SIG_SETMASK, &saved, NULL);
  n = pid < 0 ? 0 : read_child_error(err_r, msg, sizeof msg);
  if (pid < 0 || n > 0) {
    if (!o->tty) {
      if (in[1] >= 0)
        close(in[1]);
      close(out[0]);
      close(errs[0]);
    }
    if (pid < 0) {
      errno = fork_errno;
      return cb_error_sys(err, "fork");
    }
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
    return child_error(msg, n, err);
  }
  if (o->tty) {
    struct cb_tty_relay r = {
        .in = o->interactive ? 0 : -1, .out = 1, .master = master, .detach_keys = NULL};
    cb_tty_relay(&r, pid);
    /* Our output is gone, or every process closed the terminal: hang it up. */
    close(steal_fd(&master));
  } else {
    exec_relay(o->interactive ? 0 : -1, in[1], out[0], errs[0]);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  *exit_code = WIFEXITED(status)     ? WEXITSTATUS(status)
               : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                     : 255;
  return 0;
}
