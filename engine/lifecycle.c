/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Starting, signalling, stopping, waiting for and removing containers (the CLI side). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crowbar/attach.h"
#include "crowbar/cgroup.h"
#include "crowbar/cleanup.h"
#include "crowbar/json.h"
#include "crowbar/lock.h"
#include "crowbar/digest.h"
#include "crowbar/image.h"
#include "crowbar/ports.h"
#include "crowbar/proc.h"
#include "crowbar/stack.h"
#include "crowbar/tty.h"
#include "crowbar/volume.h"
#include "engine.h"

int engine_ctx(struct cb_ctx *ctx, const char *argv0, cb_error_t *err) {
  if (cb_require_root(err) < 0)
    return -1;
  return cb_ctx_init(ctx, argv0, 1, err);
}

/* Double-fork the shim so that it belongs to no CLI: its own session, reparented to init. */
static int spawn_shim(const struct cb_ctx *ctx, const char *id, int sync_w, int lock_fd,
                      int attach_fd, const struct cb_port_socks *socks, cb_error_t *err) {
  cleanup_free char *shim = cb_ctx_find_program(ctx, "crowbar-shim", err);
  if (!shim)
    return -1;
  char s_sync[16], s_lock[16], s_attach[16];
  snprintf(s_sync, sizeof s_sync, "%d", sync_w);
  snprintf(s_lock, sizeof s_lock, "%d", lock_fd);
  snprintf(s_attach, sizeof s_attach, "%d", attach_fd);
  /* The ID first, so that `ps fauxw` shows it even on a narrow terminal. */
  char *fixed[] = {"crowbar-shim", "--id",      (char *)id, "--root",    ctx->root, "--runroot",
                   ctx->runroot,   "--sync-fd", s_sync,     "--lock-fd", s_lock,    NULL};
  cleanup_strv char **argv = cb_strv_dup(fixed);
  if (attach_fd >= 0) {
    cb_strv_append(&argv, "--attach-fd");
    cb_strv_append(&argv, s_attach);
  }
  /* The published ports' sockets: FD:PORT/PROTO each. */
  for (size_t i = 0; socks && i < socks->n; i++) {
    char spec[48];
    snprintf(spec, sizeof spec, "%d:%u/%s", socks->v[i].fd, socks->v[i].ctr_port,
             socks->v[i].udp ? "udp" : "tcp");
    cb_strv_append(&argv, "--publish");
    cb_strv_append(&argv, spec);
  }
  pid_t pid = fork();
  if (pid < 0)
    return cb_error_sys(err, "fork");
  if (pid == 0) {
    setsid();
    pid_t gc = fork();
    if (gc != 0)
      _exit(gc < 0 ? 1 : 0);
    /* Only the descriptors the shim needs cross the exec; stdin/stdout go to /dev/null
     * and stderr stays ours until the shim reports the start. */
    cb_cloexec_from(3);
    fcntl(sync_w, F_SETFD, 0);
    fcntl(lock_fd, F_SETFD, 0);
    if (attach_fd >= 0)
      fcntl(attach_fd, F_SETFD, 0);
    for (size_t i = 0; socks && i < socks->n; i++)
      fcntl(socks->v[i].fd, F_SETFD, 0);
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) {
      dup2(nul, 0);
      dup2(nul, 1);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(shim, argv);
    dprintf(sync_w, "err 125 cannot run %s: %s\n", shim, strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return cb_error_make(err, 0, "cannot start the container's monitor");
  return 0;
}

/* Send a terminal's size to the shim. */
static void send_size(int sock, int fd) {
  struct winsize ws;
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
    struct cb_attach_msg m = {.type = CB_RESIZE, .a = ws.ws_row, .b = ws.ws_col};
    cb_attach_send(sock, &m, NULL, 0);
  }
}

int attach_session(int sock, const struct attach_session *as, int *exit_code, cb_error_t *err) {
  if (as->detach_keys) {
    unsigned char keys[CB_DETACH_MAX];
    size_t n = 0;
    if (cb_detach_keys_parse(as->detach_keys, keys, &n, err) < 0)
      return -1;
    struct cb_attach_msg m = {.type = CB_DETACH_KEYS, .a = n <= 8 ? (int32_t)n : 0};
    for (size_t k = 0; k < n && k < 8; k++) {
      uint32_t *w = (uint32_t *)(k < 4 ? &m.b : &m.c);
      *w |= (uint32_t)keys[k] << (8 * (k % 4));
    }
    cb_attach_send(sock, &m, NULL, 0);
  }
  int term = as->tty ? (isatty(0) ? 0 : isatty(1) ? 1 : -1) : -1;
  if (term >= 0)
    send_size(sock, term);
  if (as->tty && as->stdin_ && isatty(0) && cb_tty_raw(0, err) < 0)
    return -1;
  sigset_t set;
  sigemptyset(&set);
  /* Docker's sig-proxy: these go to the container's PID 1 (without a terminal; with one,
   * the keys reach the container through it). */
  int proxied[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
  for (size_t i = 0; !as->no_sig_proxy && i < sizeof proxied / sizeof proxied[0]; i++)
    sigaddset(&set, proxied[i]);
  if (term >= 0)
    sigaddset(&set, SIGWINCH);
  sigprocmask(SIG_BLOCK, &set, NULL);
  cleanup_close int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  int ret = -1;
  for (;;) {
    struct pollfd p[2] = {{sock, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(p, sfd >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR)
        continue;
      cb_error_sys(err, "poll");
      break;
    }
    if (sfd >= 0 && p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH) {
          send_size(sock, term);
        } else {
          struct cb_attach_msg m = {.type = CB_SIGNAL, .a = (int32_t)si.ssi_signo};
          cb_attach_send(sock, &m, NULL, 0);
        }
      }
    }
    if (p[0].revents) {
      struct cb_attach_msg m;
      int fds[3];
      int r = cb_attach_recv(sock, &m, fds);
      for (int k = 0; k < 3; k++)
        if (fds[k] >= 0)
          close(fds[k]);
      if (r <= 0) {
        cb_error_make(err, 0, "the container's monitor went away");
        break;
      }
      if (m.type == CB_EXIT) {
        *exit_code = m.a;
        ret = 0;
        break;
      }
      if (m.type == CB_DETACHED) {
        *exit_code = 0;
        ret = 1;
        break;
      }
      if (m.type == CB_DROPPED) {
        cb_error_make(err, 0,
                      m.a ? "the container exited, but its last output was lost: this client "
                            "fell too far behind it"
                          : "the container's output came faster than this client took it: "
                            "detached (the container keeps running)");
        break;
      }
    }
  }
  cb_tty_restore();
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  return ret;
}

/* The attach request: our stdio descriptors, handed to the shim. */
int attach_send_fds(int sock, bool with_stdin, cb_error_t *err) {
  int fds[3], n = 0, flags = CB_ATTACH_STDOUT | CB_ATTACH_STDERR;
  if (with_stdin)
    fds[n++] = 0, flags |= CB_ATTACH_STDIN;
  fds[n++] = 1;
  fds[n++] = 2;
  struct cb_attach_msg m = {.type = CB_ATTACH, .a = flags};
  if (cb_attach_send(sock, &m, fds, n) < 0)
    return cb_error_sys(err, "attach");
  return 0;
}

static int start_locked(const struct cb_ctx *ctx, struct cb_container *c,
                        const struct start_opts *opts, struct cb_port_socks *socks, int *lkp,
                        int *exit_code, cb_error_t *err);

int container_start(const struct cb_ctx *ctx, const char *id, const struct start_opts *opts,
                    int *exit_code, cb_error_t *err) {
  cleanup_close int lk = cb_lock(ctx, id, 1, err);
  if (lk < 0)
    return -1;
  cleanup_container struct cb_container *c = NULL;
  if (cb_container_load(ctx, id, &c, err) < 0)
    return -1;
  cb_container_refresh_locked(ctx, c);
  if (cb_container_is_running(c)) {
    if (opts && opts->attach)
      return cb_error_make(err, 0, "container %s is already running: use attach", c->name);
    return 0;
  }
  if (c->damaged)
    return cb_error_make(err, 0, "container %s cannot be started: %s", c->name, c->state.error);
  if (c->state.status == CB_STATUS_REMOVING || c->state.status == CB_STATUS_DEAD)
    return cb_error_make(err, 0, "container %s is marked for removal and cannot be started",
                         c->name);
  /* An interrupted commit by rename first moves the files out of the upper dir (stack.h). */
  if (cb_container_finish_commit(ctx, c, err) < 0)
    return -1;
  cleanup_free char *rundir = cb_container_rundir(ctx, id);
  if (cb_mkdir_p(rundir, 0700, err) < 0)
    return -1;
  /* The published ports are bound before anything starts: a port in use stops the start
   * here, with one line. run bound them already, before the container was created. */
  struct cb_port_socks own = {0};
  struct cb_port_socks *socks = opts ? opts->socks : NULL;
  if (!socks && strcmp(cb_json_get_str(c->json, "HostConfig.NetworkMode", "none"), "host")) {
    if (cb_ports_bind(cb_json_get(c->json, "HostConfig.PortBindings"),
                      cb_json_get_bool(c->json, "HostConfig.PublishAllPorts", false),
                      cb_json_get(c->json, "Config.ExposedPorts"), &own, err) < 0)
      return cb_error_wrap(err, "failed to start container %s", c->name);
    socks = &own;
  }
  int rc = start_locked(ctx, c, opts, socks, &lk, exit_code, err);
  cb_port_socks_close(&own);
  return rc;
}

/* The rest of a start, the lock held (and given up once the shim answered). */
static int start_locked(const struct cb_ctx *ctx, struct cb_container *c,
                        const struct start_opts *opts, struct cb_port_socks *socks, int *lkp,
                        int *exit_code, cb_error_t *err) {
  const char *id = c->id;
  int syncp[2];
  if (pipe2(syncp, O_CLOEXEC) < 0)
    return cb_error_sys(err, "pipe");
  cleanup_close int sync_r = syncp[0];
  cleanup_close int sync_w = syncp[1];
  cleanup_close int sock = -1;
  cleanup_close int peer = -1;
  if (opts && opts->attach) {
    int sp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
      return cb_error_sys(err, "socketpair");
    sock = sp[0];
    peer = sp[1];
    if (attach_send_fds(sock, opts->stdin_, err) < 0)
      return -1;
  }
  int spawned = spawn_shim(ctx, id, sync_w, *lkp, peer, socks, err);
  /* The shim has its own copies of the published ports' sockets: ours go now, so that
   * nothing but the shim holds the host ports. */
  if (socks)
    cb_port_socks_close(socks);
  if (spawned < 0)
    return -1;
  close(sync_w);
  sync_w = -1;
  if (peer >= 0) {
    close(peer);
    peer = -1;
  }
  char reply[2048];
  size_t n = 0;
  for (;;) {
    ssize_t r = read(sync_r, reply + n, sizeof reply - 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    n += (size_t)r;
    if (n >= sizeof reply - 1)
      break;
  }
  reply[n] = '\0';
  /* The shim holds the lock no more; let others in while we wait for the exit. */
  close(*lkp);
  *lkp = -1;
  if (strncmp(reply, "ok", 2) != 0) {
    int code = 125;
    const char *msg = "the container's monitor exited without a word";
    if (!strncmp(reply, "err ", 4)) {
      char *end;
      code = (int)strtol(reply + 4, &end, 10);
      msg = *end == ' ' ? end + 1 : end;
      reply[strcspn(reply, "\n")] = '\0';
    }
    cb_error_make(err, 0, "failed to start container %s: %s", c->name, msg);
    return cb_error_set_code(err, code ? code : 125);
  }
  if (!(opts && opts->attach)) {
    if (exit_code)
      *exit_code = 0;
    return 0;
  }
  int code = 0;
  struct attach_session as = {.tty = cb_json_get_bool(c->json, "Config.Tty", false),
                              .stdin_ = opts->stdin_,
                              .detach_keys = opts->detach_keys};
  if (attach_session(sock, &as, &code, err) < 0)
    return -1;
  if (exit_code)
    *exit_code = code;
  return 0;
}

int container_signal(const struct cb_ctx *ctx, struct cb_container *c, int sig, cb_error_t *err) {
  if (!cb_container_is_running(c) || !cb_container_pid_alive(c))
    return cb_error_make(err, 0, "Cannot kill container: %s: Container %s is not running", c->name,
                         c->id);
  cleanup_close int pfd = cb_container_pidfd(c);
  if (pfd < 0)
    return cb_error_make(err, 0, "Cannot kill container: %s: Container %s is not running", c->name,
                         c->id);
  if (cb_pidfd_send_signal(pfd, sig) < 0)
    return cb_error_sys(err, "Cannot kill container: %s", c->name);
  return 0;
}

int container_thaw_locked(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err) {
  if (c->state.status != CB_STATUS_PAUSED)
    return 0;
  if (cb_cgroup_freeze(c->id, false, err) < 0)
    return cb_error_wrap(err, "Cannot unpause container %s (%.12s)", c->name, c->id);
  c->state.status = CB_STATUS_RUNNING;
  return cb_container_save(ctx, c, err);
}

/* Thaw a paused container (under its lock), so that it can act on a signal. */
static int thaw(const struct cb_ctx *ctx, const char *id, cb_error_t *err) {
  cleanup_close int lk = cb_lock(ctx, id, 1, err);
  if (lk < 0)
    return -1;
  cleanup_container struct cb_container *c = NULL;
  if (cb_container_load(ctx, id, &c, err) < 0)
    return -1;
  return container_thaw_locked(ctx, c, err);
}

/* Poll a pidfd until the process exits or timeout_ms passes; 0 exited, 1 timeout. */
static int wait_pidfd(int pfd, int timeout_ms) {
  struct pollfd p = {pfd, POLLIN, 0};
  int64_t deadline = cb_monotonic_ns() + (int64_t)timeout_ms * 1000000;
  for (;;) {
    int left = timeout_ms < 0 ? -1 : (int)((deadline - cb_monotonic_ns()) / 1000000);
    if (timeout_ms >= 0 && left < 0)
      left = 0;
    int r = poll(&p, 1, left);
    if (r < 0 && errno == EINTR)
      continue;
    return r > 0 ? 0 : 1;
  }
}

int container_wait_stopped(const struct cb_ctx *ctx, const char *id, int timeout_ms,
                           cb_error_t *err) {
  int64_t deadline = cb_monotonic_ns() + (int64_t)timeout_ms * 1000000;
  cleanup_container struct cb_container *c = NULL;
  if (cb_container_load(ctx, id, &c, err) < 0) {
    if ((*err)->errno_ == ENOENT) {
      cb_error_release(err);
      return 0; /* removed (--rm): stopped */
    }
    return -1;
  }
  cb_container_refresh(ctx, c);
  if (!cb_container_is_running(c))
    return 0;
  /* First PID 1's end; then the record of it, which its shim writes once it has the
   * container's last output (the shim may stay a while after, for slow clients). */
  cleanup_close int pfd = cb_container_pidfd(c);
  if (pfd >= 0 && wait_pidfd(pfd, timeout_ms) == 1)
    return 1;
  cleanup_close int shim = cb_container_shim_pidfd(c);
  for (;;) {
    cb_container_free(c);
    c = NULL;
    if (cb_container_load(ctx, id, &c, err) < 0) {
      if ((*err)->errno_ != ENOENT)
        return -1;
      cb_error_release(err);
      return 0;
    }
    cb_container_refresh(ctx, c);
    if (!cb_container_is_running(c))
      return 0;
    if (timeout_ms >= 0 && cb_monotonic_ns() >= deadline)
      return 1;
    /* Its exit ends the wait at once (the refresh then sees it gone). */
    if (shim < 0 || wait_pidfd(shim, 20) == 0)
      usleep(shim < 0 ? 20000 : 1000);
  }
}

static int stop_timeout(struct cb_container *c) {
  return (int)cb_json_get_int(c->json, "Config.StopTimeout", 10);
}

static int stop_signal(struct cb_container *c) {
  const char *s = cb_json_get_str(c->json, "Config.StopSignal", NULL);
  int sig = s ? cb_signal_parse(s) : -1;
  return sig > 0 ? sig : SIGTERM;
}

int container_kill(const struct cb_ctx *ctx, struct cb_container *c, int sig, cb_error_t *err) {
  if (container_signal(ctx, c, sig, err) < 0)
    return -1;
  /* A frozen process would only act on it once thawed: thaw it now. */
  if (c->state.status == CB_STATUS_PAUSED && thaw(ctx, c->id, err) < 0)
    return -1;
  return 0;
}

int container_stop(const struct cb_ctx *ctx, const char *id, int timeout, cb_error_t *err) {
  cleanup_container struct cb_container *c = NULL;
  if (cb_container_load(ctx, id, &c, err) < 0)
    return -1;
  cb_container_refresh(ctx, c);
  if (!cb_container_is_running(c))
    return 0;
  if (timeout < 0)
    timeout = stop_timeout(c);
  /* A frozen process cannot act on its stop signal: thaw a paused container first. */
  if (c->state.status == CB_STATUS_PAUSED && thaw(ctx, id, err) < 0)
    return -1;
  cb_error_t e2 = NULL;
  if (container_signal(ctx, c, stop_signal(c), &e2) < 0) {
    cb_error_release(&e2);
  } else if (container_wait_stopped(ctx, id, timeout * 1000, err) == 0) {
    return 0;
  }
  if (container_signal(ctx, c, SIGKILL, &e2) < 0)
    cb_error_release(&e2);
  if (container_wait_stopped(ctx, id, 30000, err) != 0)
    return cb_error_make(err, 0, "cannot stop container %s: it did not exit after SIGKILL",
                         c->name);
  return 0;
}

/* True when host PID pid is (still) in container id's cgroup, or one below it. */
static bool in_cgroup(pid_t pid, const char *id) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
  cleanup_free char *text = NULL;
  cleanup_free char *want = cb_cgroup_path(id);
  cb_error_t err = NULL;
  if (cb_read_file(path, &text, NULL, &err) < 0) {
    cb_error_release(&err);
    return false;
  }
  size_t wl = strlen(want);
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char *c2 = strchr(l, ':');
    c2 = c2 ? strchr(c2 + 1, ':') : NULL;
    if (c2 && !strncmp(c2 + 1, want, wl) && (c2[1 + wl] == '\0' || c2[1 + wl] == '/'))
      return true;
  }
  return false;
}

/* The processes of a container's cgroup: the identity that is left when its record cannot
 * say which PID is its own. Each one is signalled through a pidfd taken while it is seen
 * in the cgroup, never by a bare PID. Returns how many were signalled. */
static size_t kill_cgroup(const char *id, int sig) {
  pid_t *pids = NULL;
  size_t n = 0, hit = 0;
  cb_error_t err = NULL;
  if (cb_cgroup_pids(id, &pids, &n, &err) < 0) {
    cb_error_release(&err);
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    cleanup_close int pfd = (int)syscall(SYS_pidfd_open, pids[i], 0);
    if (pfd >= 0 && in_cgroup(pids[i], id) && cb_pidfd_send_signal(pfd, sig) == 0)
      hit++;
  }
  free(pids);
  return hit;
}

/* A damaged record (cb_container_load) cannot say whether the container runs: its cgroup
 * can. Returns 0 when nothing of it runs (any more), -1 with err otherwise. */
static int stop_damaged(const struct cb_container *c, bool force, cb_error_t *err) {
  pid_t *pids = NULL;
  size_t n = 0;
  cb_error_t e2 = NULL;
  if (cb_cgroup_pids(c->id, &pids, &n, &e2) < 0)
    cb_error_release(&e2);
  free(pids);
  if (n == 0)
    return 0;
  if (!force)
    return cb_error_make(err, 0,
                         "cannot remove container \"/%s\": container is running (its record "
                         "is damaged): stop the container before removing or force remove",
                         c->name);
  if (cb_cgroup_freeze(c->id, false, &e2) < 0)
    cb_error_release(&e2);
  for (int i = 0; i < 3000; i++) {
    if (kill_cgroup(c->id, SIGKILL) == 0)
      return 0;
    usleep(10000);
  }
  return cb_error_make(
      err, 0, "cannot remove container %s: its processes did not exit after SIGKILL", c->name);
}

int container_remove(const struct cb_ctx *ctx, const char *id, bool force, bool volumes,
                     cb_error_t *err) {
  cleanup_close int lk = cb_lock(ctx, id, 1, err);
  if (lk < 0)
    return -1;
  cleanup_container struct cb_container *c = NULL;
  if (cb_container_load(ctx, id, &c, err) < 0) {
    if ((*err)->errno_ == ENOENT) {
      cb_error_release(err);
      return 0;
    }
    return -1;
  }
  cb_container_refresh_locked(ctx, c);
  if (c->damaged && stop_damaged(c, force, err) < 0)
    return -1;
  if (cb_container_is_running(c)) {
    if (!force)
      return cb_error_make(err, 0,
                           "cannot remove container \"/%s\": container is running: stop "
                           "the container before removing or force remove",
                           c->name);
    /* Under the lock all along, so that no start (restart) slips in between the kill and
     * the removal: the shim records nothing once the record is gone (it waits for the lock,
     * then finds no record). Wait for PID 1 only: its exit is the container's end (the
     * kernel kills the rest of its PID namespace), and its shim needs the lock we hold. */
    cb_error_t e2 = NULL;
    if (container_thaw_locked(ctx, c, &e2) < 0)
      cb_error_release(&e2);
    cleanup_close int pfd = cb_container_pidfd(c);
    if (pfd >= 0) {
      if (cb_pidfd_send_signal(pfd, SIGKILL) < 0 && errno != ESRCH)
        return cb_error_sys(err, "Cannot kill container: %s", c->name);
      if (wait_pidfd(pfd, 30000) != 0)
        return cb_error_make(err, 0,
                             "cannot remove container %s: its process did not exit "
                             "after SIGKILL",
                             c->name);
    }
  }
  /* Its own layers (commits by rename) go with it unless an image has them; so do the
   * layers of its image if that was removed meanwhile (rmi -f). */
  const char *image = cb_json_get_str(c->json, "Image", "");
  cleanup_free char *icfg = cb_digest_valid(image)
                                ? cb_ctx_path(ctx, "images/%s/config.json", cb_digest_hex(image))
                                : NULL;
  bool collect = cb_container_own_layers(c) > 0 || (icfg && access(icfg, F_OK) < 0);
  /* -v: its anonymous volumes go too, unless another container mounts one. */
  cleanup_strv char **anon = volumes ? cb_json_get_strv(c->json, "Crowbar.AnonymousVolumes") : NULL;
  if (cb_container_destroy(ctx, c, err) < 0)
    return -1;
  cb_volumes_remove_anonymous(ctx, anon);
  cb_error_t e2 = NULL;
  if (collect && cb_image_gc_layers(ctx, &e2) < 0)
    cb_error_release(&e2);
  return 0;
}

int container_pause(const struct cb_ctx *ctx, const char *id, bool pause, cb_error_t *err) {
  cleanup_close int lk = cb_lock(ctx, id, 1, err);
  if (lk < 0)
    return -1;
  cleanup_container struct cb_container *c = NULL;
  if (cb_container_load(ctx, id, &c, err) < 0)
    return -1;
  cb_container_refresh_locked(ctx, c);
  if (!cb_container_is_running(c) || !cb_container_pid_alive(c))
    return cb_error_make(err, 0, "Container %s is not running", c->id);
  if (pause) {
    if (c->state.status == CB_STATUS_PAUSED)
      return cb_error_make(err, 0, "Container %s is already paused", c->id);
    if (cb_cgroup_freeze(c->id, true, err) < 0)
      return cb_error_wrap(err, "Cannot pause container %s (%.12s)", c->name, c->id);
    c->state.status = CB_STATUS_PAUSED;
    if (cb_container_save(ctx, c, err) < 0) {
      cb_error_t e2 = NULL;
      if (cb_cgroup_freeze(c->id, false, &e2) < 0)
        cb_error_release(&e2);
      return -1;
    }
    return 0;
  }
  if (c->state.status != CB_STATUS_PAUSED)
    return cb_error_make(err, 0, "Container %s is not paused", c->id);
  return container_thaw_locked(ctx, c, err);
}
