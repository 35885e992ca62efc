/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar-shim: one small process per running container, the parent of its PID 1.
 *
 *   crowbar-shim --id ID --root ROOT --runroot RUNROOT --sync-fd N --lock-fd N [--attach-fd N]
 *
 * Started (detached, in its own session) by the CLI that holds the container's lock. It
 * creates the cgroup, clones the container process into new namespaces, records it as
 * running (under the CLI's lock, which it shares through --lock-fd), tells the CLI on
 * --sync-fd ("ok" or "err CODE MESSAGE"), and then owns the container's stdio: it writes
 * the json-file log, serves attach clients on RUNROOT/ID/attach.sock, reaps PID 1,
 * records the exit code, OOM kill and finish time, and removes --rm containers. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crowbar/attach.h"
#include "crowbar/cgroup.h"
#include "crowbar/cleanup.h"
#include "crowbar/hostfile.h"
#include "crowbar/json.h"
#include "crowbar/lock.h"
#include "crowbar/proc.h"
#include "crowbar/tty.h"
#include "shim.h"

#define MAX_CLIENTS 16

struct client {
  int sock, in, out, err;
  struct cb_detach detach; /* detach keys, scanned on a terminal's input */
};

struct shim {
  struct cb_ctx ctx;
  struct shim_config cfg;
  struct cb_container *c;
  int sync_fd, lock_fd, listen_fd;
  int out_r, err_r, in_w;
  int master; /* the container's terminal (with Config.Tty): out_r and in_w are it */
  struct cb_detach detach_default;
  pid_t pid;
  int pidfd;
  struct shim_io *io;
  struct client clients[MAX_CLIENTS];
  int nclients;
  int stdin_owner; /* index of the client whose stdin feeds the container, -1 if none */
};

static void sync_reply(struct shim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sync_reply(struct shim *s, const char *fmt, ...) {
  if (s->sync_fd < 0)
    return;
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 1)
    n = sizeof buf - 1;
  cb_write_all(s->sync_fd, buf, (size_t)n);
  close(s->sync_fd);
  s->sync_fd = -1;
}

static void client_close(struct shim *s, int i) {
  struct client *cl = &s->clients[i];
  if (cl->sock >= 0)
    close(cl->sock);
  if (cl->in >= 0)
    close(cl->in);
  if (cl->out >= 0)
    close(cl->out);
  if (cl->err >= 0 && cl->err != cl->out)
    close(cl->err);
  if (s->stdin_owner == i)
    s->stdin_owner = -1;
  s->clients[i] = s->clients[--s->nclients];
  if (s->stdin_owner == s->nclients)
    s->stdin_owner = i;
}

/* Take the CB_ATTACH message a new client sends first. */
static void client_add(struct shim *s, int sock) {
  struct cb_attach_msg m;
  int fds[3];
  if (s->nclients >= MAX_CLIENTS || cb_attach_recv(sock, &m, fds) != 1 || m.type != CB_ATTACH) {
    close(sock);
    return;
  }
  struct client *cl = &s->clients[s->nclients];
  cl->sock = sock;
  cl->in = cl->out = cl->err = -1;
  cl->detach = s->detach_default;
  int k = 0;
  if (m.a & CB_ATTACH_STDIN)
    cl->in = fds[k++];
  if (m.a & CB_ATTACH_STDOUT)
    cl->out = fds[k++];
  if (m.a & CB_ATTACH_STDERR)
    cl->err = fds[k++];
  for (; k < 3; k++)
    if (fds[k] >= 0)
      close(fds[k]);
  /* Input goes to the container's stdin pipe or its terminal, when it was started with
   * -i (as in Docker, -t alone takes no input); one client at a time feeds it. */
  if (cl->in >= 0 && (!s->cfg.open_stdin || s->stdin_owner >= 0)) {
    close(cl->in);
    cl->in = -1;
  }
  if (cl->in >= 0)
    s->stdin_owner = s->nclients;
  s->nclients++;
}

static int listen_socket(struct shim *s, cb_error_t *err) {
  cleanup_free char *dir = cb_container_rundir(&s->ctx, s->c->id);
  cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return cb_error_sys(err, "open `%s`", dir);
  unlinkat(dfd, "attach.sock", 0);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return cb_error_sys(err, "socket");
  /* Bind through /proc/self/fd so that a long runroot path still fits in sun_path. */
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/attach.sock", dfd);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0) {
    close(fd);
    return cb_error_sys(err, "listen on the attach socket");
  }
  return fd;
}

static void fanout(struct shim *s, int stream, const char *buf, size_t n) {
  for (int i = 0; i < s->nclients; i++) {
    int fd = stream == 2 ? s->clients[i].err : s->clients[i].out;
    if (fd >= 0 && cb_write_all(fd, buf, n) < 0) {
      /* The client's reader went away: stop writing there. */
      if (stream == 2) {
        if (s->clients[i].err != s->clients[i].out)
          close(s->clients[i].err);
        s->clients[i].err = -1;
      } else {
        if (s->clients[i].err == s->clients[i].out)
          s->clients[i].err = -1;
        close(s->clients[i].out);
        s->clients[i].out = -1;
      }
    }
  }
}

/* Read what is available on a container output pipe; returns 0 at EOF. */
static int pump(struct shim *s, int *fd, int stream) {
  char buf[65536];
  ssize_t n = read(*fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 1;
  if (n <= 0) {
    /* EOF, or EIO from a terminal whose every slave descriptor is closed. */
    io_flush(s->io, stream);
    close(*fd);
    if (*fd == s->master)
      s->master = -1;
    *fd = -1;
    return 0;
  }
  io_output(s->io, stream, buf, (size_t)n);
  fanout(s, stream, buf, (size_t)n);
  return 1;
}

static void forward_stdin(struct shim *s) {
  int i = s->stdin_owner;
  struct client *cl = &s->clients[i];
  unsigned char buf[65536], out[65536 + CB_DETACH_MAX];
  ssize_t n = read(cl->in, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n > 0 && s->master >= 0) {
    /* A terminal: the detach keys leave the container running and drop this client. */
    bool detached = false;
    size_t m =
        cl->detach.n ? cb_detach_feed(&cl->detach, buf, (size_t)n, out, &detached) : (size_t)n;
    if (m && cb_write_all(s->master, cl->detach.n ? out : buf, m) < 0)
      return;
    if (detached) {
      struct cb_attach_msg msg = {.type = CB_DETACHED};
      cb_attach_send(cl->sock, &msg, NULL, 0);
      client_close(s, i);
    }
    return;
  }
  if (n > 0 && s->in_w >= 0 && cb_write_all(s->in_w, buf, (size_t)n) == 0)
    return;
  if (s->master >= 0) {
    /* End of a client's input on a terminal: stop reading it; the terminal stays. */
    close(cl->in);
    cl->in = -1;
    s->stdin_owner = -1;
    return;
  }
  /* EOF (or the container closed its stdin). */
  close(cl->in);
  cl->in = -1;
  s->stdin_owner = -1;
  if (s->cfg.stdin_once && s->in_w >= 0) {
    close(s->in_w);
    s->in_w = -1;
  }
}

static void client_message(struct shim *s, int i) {
  struct cb_attach_msg m;
  int fds[3];
  int r = cb_attach_recv(s->clients[i].sock, &m, fds);
  for (int k = 0; k < 3; k++)
    if (fds[k] >= 0)
      close(fds[k]);
  if (r <= 0) {
    client_close(s, i);
    return;
  }
  if (m.type == CB_SIGNAL && m.a > 0 && m.a < _NSIG && s->pidfd >= 0)
    cb_pidfd_send_signal(s->pidfd, m.a);
  else if (m.type == CB_RESIZE && s->master >= 0)
    cb_tty_set_size(s->master, m.a, m.b);
  else if (m.type == CB_DETACH_KEYS) {
    struct cb_detach *d = &s->clients[i].detach;
    memset(d, 0, sizeof *d);
    d->n = m.a > 0 && m.a <= 8 ? (size_t)m.a : 0;
    for (size_t k = 0; k < d->n; k++)
      d->keys[k] = (unsigned char)((k < 4 ? (uint32_t)m.b : (uint32_t)m.c) >> (8 * (k % 4)));
  }
}

/* Spawn the container process. Returns 0, or -1 with the exit code in *code. */
static int spawn(struct shim *s, int *code, cb_error_t *err) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1}, syncp[2], errpipe[2];
  int console[2] = {-1, -1};
  if (pipe2(syncp, O_CLOEXEC) < 0 || pipe2(errpipe, O_CLOEXEC) < 0)
    return cb_error_sys(err, "pipe");
  if (s->cfg.tty) {
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0)
      return cb_error_sys(err, "socketpair");
  } else if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
             (s->cfg.open_stdin && pipe2(in, O_CLOEXEC) < 0)) {
    return cb_error_sys(err, "pipe");
  }
  struct cb_cgroup_limits lim = {.memory = s->cfg.memory, .pids = s->cfg.pids};
  if (cb_cgroup_create(s->c->id, &lim, err) < 0)
    return -1;
  if (s->cfg.init) {
    cleanup_free char *init = cb_ctx_find_program(&s->ctx, "crowbar-init", err);
    if (!init)
      return -1;
    /* Through a read-only mount of it: /proc/1/exe is no writable host file. */
    s->cfg.init_fd = cb_hostfile_open_ro(AT_FDCWD, init, err);
    if (s->cfg.init_fd < 0)
      return -1;
  }
  int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID;
  if (!s->cfg.net_host)
    flags |= CLONE_NEWNET;
  pid_t pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0)
    return cb_error_sys(err, "clone the container process");
  if (pid == 0) {
    /* The container's PID 1: none of the shim's signal settings carry over. */
    for (int sig = 1; sig < _NSIG; sig++)
      signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(in[0] >= 0 ? in[0] : nul, 0);
    dup2(out[1] >= 0 ? out[1] : nul, 1);
    dup2(errp[1] >= 0 ? errp[1] : nul, 2);
    close(syncp[1]);
    close(errpipe[0]);
    if (console[0] >= 0)
      close(console[0]);
    container_child(&s->cfg, syncp[0], errpipe[1], console[1]);
  }
  s->pid = pid;
  close(syncp[0]);
  close(errpipe[1]);
  int *ends[] = {&out[1], &errp[1], &in[0], &console[1]};
  for (size_t k = 0; k < sizeof ends / sizeof ends[0]; k++)
    if (*ends[k] >= 0)
      close(*ends[k]);
  s->out_r = out[0];
  s->err_r = errp[0];
  s->in_w = in[1];
  if (s->cfg.init_fd >= 0) {
    close(s->cfg.init_fd);
    s->cfg.init_fd = -1;
  }
  s->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  cb_error_t e2 = NULL;
  if (cb_cgroup_add_pid(s->c->id, pid, &e2) < 0) {
    kill(pid, SIGKILL);
    close(syncp[1]);
    close(errpipe[0]);
    waitpid(pid, NULL, 0);
    *err = e2;
    return cb_error_wrap(err, "join the cgroup");
  }
  if (write(syncp[1], "g", 1) != 1) {
    /* The child died already; its error pipe says why. */
  }
  close(syncp[1]);
  /* The error pipe closes on a successful exec (close-on-exec) or carries "CODE MESSAGE". */
  char msg[2048];
  size_t n = 0;
  for (;;) {
    ssize_t r = read(errpipe[0], msg + n, sizeof msg - 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    n += (size_t)r;
    if (n >= sizeof msg - 1)
      break;
  }
  close(errpipe[0]);
  msg[n] = '\0';
  if (n > 0) {
    int status;
    waitpid(pid, &status, 0);
    s->pid = 0;
    if (console[0] >= 0)
      close(console[0]);
    char *sp = strchr(msg, ' ');
    *code = atoi(msg);
    if (*code <= 0)
      *code = 125;
    return cb_error_make(err, 0, "%s", sp ? sp + 1 : msg);
  }
  if (console[0] >= 0) {
    /* The container's terminal: its output is stdout, its input goes to the master. */
    struct cb_attach_msg m;
    int fds[3];
    int r = cb_attach_recv(console[0], &m, fds);
    close(console[0]);
    if (r != 1 || fds[0] < 0) {
      kill(pid, SIGKILL);
      return cb_error_make(err, 0, "the container did not hand over its terminal");
    }
    s->master = fds[0];
    s->out_r = fds[0];
    s->in_w = -1;
  }
  return 0;
}

static void record_start_failure(struct shim *s, int code, const char *msg) {
  cb_error_t err = NULL;
  s->c->state.exit_code = code;
  free(s->c->state.error);
  s->c->state.error = xstrdup(msg);
  if (s->cfg.autoremove) {
    if (cb_container_destroy(&s->ctx, s->c, &err) < 0)
      cb_error_release(&err);
  } else if (cb_container_save(&s->ctx, s->c, &err) < 0) {
    cb_error_release(&err);
  }
  if (cb_cgroup_destroy(s->c->id, &err) < 0)
    cb_error_release(&err);
}

static int record_running(struct shim *s, cb_error_t *err) {
  struct cb_state *st = &s->c->state;
  st->status = CB_STATUS_RUNNING;
  st->pid = s->pid;
  st->pid_start = cb_proc_start_time(s->pid);
  st->shim_pid = getpid();
  st->shim_start = cb_proc_start_time(getpid());
  if (cb_boot_id(st->boot_id, err) < 0)
    return -1;
  st->oom_killed = false;
  st->exit_code = 0;
  free(st->error);
  st->error = NULL;
  /* FinishedAt keeps the end of the previous run, as Docker's does. */
  st->started_ns = cb_now_ns();
  return cb_container_save(&s->ctx, s->c, err);
}

static void record_exit(struct shim *s, int status) {
  int code = WIFEXITED(status)     ? WEXITSTATUS(status)
             : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                   : 255;
  bool oom = cb_cgroup_oom_kills(s->c->id) > 0;
  cb_error_t err = NULL;
  if (cb_cgroup_destroy(s->c->id, &err) < 0)
    cb_error_release(&err);
  int lk = cb_lock(&s->ctx, s->c->id, 1, &err);
  if (lk < 0)
    cb_error_release(&err);
  struct cb_container *fresh = NULL;
  bool autoremove = false;
  if (cb_container_load(&s->ctx, s->c->id, &fresh, &err) < 0) {
    /* Removed under us (rm -f): nothing to record. */
    cb_error_release(&err);
  } else {
    struct cb_state *st = &fresh->state;
    st->status = CB_STATUS_EXITED;
    st->exit_code = code;
    st->oom_killed = oom;
    st->finished_ns = cb_now_ns();
    st->pid = 0;
    /* --rm: gone from every listing before the exit is told; its files go after. */
    autoremove = cb_json_get_bool(fresh->json, "HostConfig.AutoRemove", false);
    if (autoremove ? cb_container_unlist(&s->ctx, fresh, &err) < 0
                   : cb_container_save(&s->ctx, fresh, &err) < 0)
      cb_error_release(&err);
    cb_container_free(fresh);
  }
  if (lk >= 0)
    close(lk);
  struct cb_attach_msg m = {.type = CB_EXIT, .a = code};
  for (int i = 0; i < s->nclients; i++)
    cb_attach_send(s->clients[i].sock, &m, NULL, 0);
  if (autoremove && cb_container_purge(&s->ctx, s->c->id, &err) < 0)
    cb_error_release(&err);
}

/* The shim lives as long as its container: once the start is done, give back the pages
 * that only the start needed. Read-only file mappings (our code and constants) are dropped
 * from our page tables and fault back in on use; the heap is trimmed. What stays resident
 * is the working set of the loop. */
static void trim_memory(void) {
  malloc_trim(0);
  FILE *f = fopen("/proc/self/maps", "re");
  if (!f)
    return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    unsigned long start, end;
    char perms[8];
    unsigned long long off;
    unsigned maj, min;
    unsigned long inode;
    if (sscanf(line, "%lx-%lx %7s %llx %x:%x %lu", &start, &end, perms, &off, &maj, &min, &inode) !=
        7)
      continue;
    if (inode == 0 || perms[1] == 'w')
      continue;
    madvise((void *)start, end - start, MADV_DONTNEED);
  }
  fclose(f);
}

static int parse_fd(const char *s) {
  int fd;
  return cb_parse_int(s, &fd) == 0 && fd >= 0 ? fd : -1;
}

int main(int argc, char **argv) {
  struct shim s;
  memset(&s, 0, sizeof s);
  s.sync_fd = s.lock_fd = s.listen_fd = s.out_r = s.err_r = s.in_w = s.pidfd = s.master = -1;
  s.stdin_owner = -1;
  int attach_fd = -1;
  const char *id = NULL, *root = NULL, *runroot = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--root") && i + 1 < argc)
      root = argv[++i];
    else if (!strcmp(argv[i], "--runroot") && i + 1 < argc)
      runroot = argv[++i];
    else if (!strcmp(argv[i], "--sync-fd") && i + 1 < argc)
      s.sync_fd = parse_fd(argv[++i]);
    else if (!strcmp(argv[i], "--lock-fd") && i + 1 < argc)
      s.lock_fd = parse_fd(argv[++i]);
    else if (!strcmp(argv[i], "--attach-fd") && i + 1 < argc)
      attach_fd = parse_fd(argv[++i]);
    else if (!strcmp(argv[i], "--id") && i + 1 < argc)
      id = argv[++i];
    else {
      fprintf(stderr, "Usage: crowbar-shim --id ID --root ROOT --runroot RUNROOT --sync-fd N "
                      "--lock-fd N [--attach-fd N]\n(started by crowbar; not for users)\n");
      return 1;
    }
  }
  if (!id || !root || !runroot) {
    fprintf(stderr, "Error: crowbar-shim is started by crowbar run/start, not by hand\n");
    return 1;
  }
  setenv("CROWBAR_ROOT", root, 1);
  setenv("CROWBAR_RUNROOT", runroot, 1);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  signal(SIGTERM, SIG_IGN);
  if (chdir("/") < 0)
    return 1;
  int nul = open("/dev/null", O_RDWR);
  if (nul >= 0) {
    dup2(nul, 0);
    dup2(nul, 1);
    if (nul > 2)
      close(nul);
  }
  int inherited[] = {s.sync_fd, s.lock_fd, attach_fd};
  for (size_t i = 0; i < sizeof inherited / sizeof inherited[0]; i++)
    if (inherited[i] >= 0)
      fcntl(inherited[i], F_SETFD, FD_CLOEXEC);

  cb_error_t err = NULL;
  if (cb_ctx_init(&s.ctx, argv[0], 0, &err) < 0 || cb_container_load(&s.ctx, id, &s.c, &err) < 0 ||
      shim_config_load(s.c, &s.cfg, &err) < 0) {
    sync_reply(&s, "err 125 %s\n", cb_error_text(err));
    return 1;
  }
  {
    const char *keys = cb_json_get_str(s.c->json, "Crowbar.DetachKeys", CB_DETACH_KEYS_DEFAULT);
    cb_error_t e2 = NULL;
    if (cb_detach_keys_parse(keys, s.detach_default.keys, &s.detach_default.n, &e2) < 0)
      cb_error_release(&e2);
  }
  cleanup_free char *rundir = cb_container_rundir(&s.ctx, id);
  if (cb_mkdir_p(s.cfg.merged, 0700, &err) < 0 || (s.io = io_new(s.cfg.log_path, &err)) == NULL ||
      (s.listen_fd = listen_socket(&s, &err)) < 0) {
    sync_reply(&s, "err 125 %s\n", cb_error_text(err));
    return 1;
  }
  if (attach_fd >= 0)
    client_add(&s, attach_fd);
  dup2(2, 2); /* stderr stays the CLI's until the start is reported, for debugging. */

  int code = 125;
  if (spawn(&s, &code, &err) < 0) {
    const char *msg = cb_error_text(err);
    record_start_failure(&s, code, msg);
    sync_reply(&s, "err %d %s\n", code, msg);
    return 1;
  }
  if (record_running(&s, &err) < 0) {
    kill(s.pid, SIGKILL);
    sync_reply(&s, "err 125 %s\n", cb_error_text(err));
    return 1;
  }
  sync_reply(&s, "ok %d\n", s.pid);
  if (s.lock_fd >= 0) {
    close(s.lock_fd);
    s.lock_fd = -1;
  }
  if (nul >= 0)
    dup2(0, 2);
  /* Keep only what the loop needs: the record is reloaded at exit. */
  json_object_put(s.c->json);
  s.c->json = NULL;
  trim_memory();

  bool exited = false;
  int status = 0;
  int64_t drain_deadline = 0;
  for (;;) {
    struct pollfd p[4 + 2 * MAX_CLIENTS];
    int np = 0, i_out = -1, i_err = -1, i_listen = -1, i_pid = -1, i_cl = -1, i_in = -1;
    if (s.out_r >= 0)
      i_out = np, p[np++] = (struct pollfd){s.out_r, POLLIN, 0};
    if (s.err_r >= 0)
      i_err = np, p[np++] = (struct pollfd){s.err_r, POLLIN, 0};
    if (!exited) {
      i_listen = np, p[np++] = (struct pollfd){s.listen_fd, POLLIN, 0};
      if (s.pidfd >= 0)
        i_pid = np, p[np++] = (struct pollfd){s.pidfd, POLLIN, 0};
      i_cl = np;
      for (int i = 0; i < s.nclients; i++)
        p[np++] = (struct pollfd){s.clients[i].sock, POLLIN, 0};
      if (s.stdin_owner >= 0)
        i_in = np, p[np++] = (struct pollfd){s.clients[s.stdin_owner].in, POLLIN, 0};
    }
    if (exited && s.out_r < 0 && s.err_r < 0)
      break;
    int timeout = -1;
    if (exited) {
      int64_t left = (drain_deadline - cb_monotonic_ns()) / 1000000;
      if (left <= 0)
        break;
      timeout = (int)left;
    } else if (s.pidfd < 0) {
      timeout = 100; /* no pidfd: poll waitpid */
    }
    int r = poll(p, (nfds_t)np, timeout);
    if (r < 0 && errno != EINTR)
      break;
    if (i_out >= 0 && p[i_out].revents)
      pump(&s, &s.out_r, 1);
    if (i_err >= 0 && p[i_err].revents)
      pump(&s, &s.err_r, 2);
    if (exited)
      continue;
    if (i_in >= 0 && p[i_in].revents && s.stdin_owner >= 0)
      forward_stdin(&s);
    if (i_cl >= 0) {
      int ncl = s.nclients;
      for (int i = ncl - 1; i >= 0; i--)
        if (p[i_cl + i].revents)
          client_message(&s, i);
    }
    if (i_listen >= 0 && p[i_listen].revents & POLLIN) {
      int cs = accept4(s.listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (cs >= 0)
        client_add(&s, cs);
    }
    if ((i_pid >= 0 && p[i_pid].revents) || s.pidfd < 0) {
      pid_t w = waitpid(s.pid, &status, WNOHANG);
      if (w == s.pid) {
        exited = true;
        /* Every process of the PID namespace dies with PID 1, so the pipes close soon. */
        drain_deadline = cb_monotonic_ns() + 2000000000LL;
        if (s.in_w >= 0) {
          close(s.in_w);
          s.in_w = -1;
        }
      }
    }
  }
  if (s.out_r >= 0)
    io_flush(s.io, 1);
  if (s.err_r >= 0)
    io_flush(s.io, 2);
  record_exit(&s, status);
  io_free(s.io);
  return 0;
}
