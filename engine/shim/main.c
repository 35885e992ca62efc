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
#include "crowbar/volume.h"
#include "shim.h"

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
  clients_output(s, stream, buf, (size_t)n);
  return 1;
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
  /* Ours alone (the container has the other ends): never wait on them. */
  int ours[] = {s->out_r, s->err_r, s->in_w, s->master};
  for (size_t k = 0; k < sizeof ours / sizeof ours[0]; k++) {
    int fl = ours[k] >= 0 ? fcntl(ours[k], F_GETFL) : -1;
    if (fl >= 0)
      fcntl(ours[k], F_SETFL, fl | O_NONBLOCK);
  }
  return 0;
}

static void record_start_failure(struct shim *s, int code, const char *msg) {
  cb_error_t err = NULL;
  s->c->state.exit_code = code;
  free(s->c->state.error);
  s->c->state.error = xstrdup(msg);
  if (s->cfg.autoremove) {
    char **anon = cb_json_get_strv(s->c->json, "Crowbar.AnonymousVolumes");
    if (cb_container_destroy(&s->ctx, s->c, &err) < 0)
      cb_error_release(&err);
    cb_volumes_remove_anonymous(&s->ctx, anon);
    cb_strv_free(anon);
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
  /* Without them no verb would ever trust these PIDs (proc.h): better to say so now. */
  if (!st->pid_start || !st->shim_start)
    return cb_error_make(err, 0,
                         "cannot read the start time of the container's process (%d) "
                         "or of its monitor (%d) in /proc",
                         (int)s->pid, (int)getpid());
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

/* Record the exit (the clients are told after their output); true for --rm. */
static bool record_exit(struct shim *s, int status, int *exit_code) {
  int code = WIFEXITED(status)     ? WEXITSTATUS(status)
             : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                   : 255;
  *exit_code = code;
  bool oom = cb_cgroup_oom_kills(s->c->id) > 0;
  cb_error_t err = NULL;
  if (cb_cgroup_destroy(s->c->id, &err) < 0)
    cb_error_release(&err);
  int lk = cb_lock(&s->ctx, s->c->id, 1, &err);
  if (lk < 0)
    cb_error_release(&err);
  struct cb_container *fresh = NULL;
  bool autoremove = false;
  char **anon = NULL; /* --rm: the anonymous volumes go with the container */
  if (cb_container_load(&s->ctx, s->c->id, &fresh, &err) < 0) {
    /* Removed under us (rm -f): nothing to record. */
    cb_error_release(&err);
  } else if (fresh->damaged == CB_RECORD_DAMAGED) {
    /* container.json is damaged: a state laid over it would not make it whole. */
    cb_container_free(fresh);
    fresh = NULL;
  } else {
    if (fresh->damaged) {
      /* state.json was damaged while the container ran: we know its state; write it whole. */
      struct cb_state *st = &fresh->state;
      free(st->error);
      *st = s->c->state;
      st->error = NULL;
      fresh->damaged = CB_RECORD_OK;
    }
    struct cb_state *st = &fresh->state;
    st->status = CB_STATUS_EXITED;
    st->exit_code = code;
    st->oom_killed = oom;
    st->finished_ns = cb_now_ns();
    st->pid = 0;
    /* --rm: gone from every listing before the exit is told; its files go after. */
    autoremove = cb_json_get_bool(fresh->json, "HostConfig.AutoRemove", false);
    if (autoremove)
      anon = cb_json_get_strv(fresh->json, "Crowbar.AnonymousVolumes");
    if (autoremove) {
      if (cb_container_unlist(&s->ctx, fresh, &err) < 0)
        cb_error_release(&err);
    } else if (cb_container_save_reserved(&s->ctx, fresh, &err) < 0) {
      /* Even the reserve failed (a full disk under an older record): leave the exit where
       * the next verb finds it, rather than let it become "unknown" (255). */
      if (cb_container_note_exit(&s->ctx, fresh, err->errno_) < 0) {
        /* Nowhere to write at all: the record keeps saying "running" until a verb finds
         * us gone. */
      }
      cb_error_release(&err);
    }
    cb_container_free(fresh);
  }
  if (lk >= 0)
    close(lk);
  /* --rm's anonymous volumes are gone too before run returns, as the container is. */
  cb_volumes_remove_anonymous(&s->ctx, anon);
  cb_strv_free(anon);
  return autoremove;
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

enum { W_OUT, W_ERR, W_LISTEN, W_PID, W_IN, W_STDIN, W_SOCK, W_SINK_OUT, W_SINK_ERR, W_PORTS };

struct watch {
  struct pollfd p[8 + 4 * MAX_CLIENTS];
  struct {
    int what;
    struct client *cl;
  } tag[8 + 4 * MAX_CLIENTS];
  int n;
};

static void watch(struct watch *w, int fd, short events, int what, struct client *cl) {
  w->p[w->n] = (struct pollfd){fd, events, 0};
  w->tag[w->n].what = what;
  w->tag[w->n].cl = cl;
  w->n++;
}

/* After the exit is recorded: a client whose output is all out is told the exit code. */
static void tell_exit(struct shim *s, struct client *cl, int code) {
  if (cl->gone || client_queued(cl))
    return;
  client_send(s, cl, CB_EXIT, code, 0);
  client_close(s, cl);
}

/* The container's life after the start: its output to the log and the clients, the
 * clients' input, signals and sizes to it, until PID 1 exits; then its last output, the
 * record of the exit, and the clients' last output and the exit code. */
static void loop(struct shim *s) {
  int status = 0, code = 0;
  bool recorded = false, autoremove = false;
  int64_t drain_deadline = 0;
  for (;;) {
    /* The clock only when something has a deadline: the idle loop touches few pages. */
    bool timed = s->exited;
    for (int i = 0; i < s->nclients && !timed; i++)
      timed = s->clients[i].deadline != 0;
    int64_t now = timed ? cb_monotonic_ns() : 0;
    if (s->exited && !recorded && ((s->out_r < 0 && s->err_r < 0) || now >= drain_deadline)) {
      if (s->out_r >= 0)
        io_flush(s->io, 1);
      if (s->err_r >= 0)
        io_flush(s->io, 2);
      autoremove = record_exit(s, status, &code);
      recorded = true;
      for (int i = 0; i < s->nclients; i++) {
        struct client *cl = &s->clients[i];
        if (cl->hello)
          client_close(s, cl);
        else if (client_queued(cl))
          cl->deadline = cb_monotonic_ns() + FLUSH_NS;
        else
          tell_exit(s, cl, code);
      }
      clients_compact(s);
    }
    if (recorded && !s->nclients)
      break;

    struct watch w = {.n = 0};
    struct client *primary = NULL;
    for (int i = 0; i < s->nclients; i++)
      if (s->clients[i].primary && !s->clients[i].hello)
        primary = &s->clients[i];
    /* The foreground client is the container's stdout: while it is behind, the container
     * waits for it (as for a pipe); nothing else does. */
    bool hold = !s->exited && primary && client_queued(primary) >= FLOW_HIGH;
    if (!hold && s->out_r >= 0)
      watch(&w, s->out_r, POLLIN, W_OUT, NULL);
    if (!hold && s->err_r >= 0)
      watch(&w, s->err_r, POLLIN, W_ERR, NULL);
    if (!s->exited) {
      watch(&w, s->listen_fd, POLLIN, W_LISTEN, NULL);
      if (s->pidfd >= 0)
        watch(&w, s->pidfd, POLLIN, W_PID, NULL);
      if (s->inq.len > s->inq.off)
        watch(&w, s->master >= 0 ? s->master : s->in_w, POLLOUT, W_STDIN, NULL);
      else if (s->stdin_client && s->stdin_client->in >= 0)
        watch(&w, s->stdin_client->in, POLLIN, W_IN, NULL);
      if (s->ports)
        watch(&w, ports_fd(s->ports), POLLIN, W_PORTS, NULL);
    }
    int64_t next = s->exited && !recorded ? drain_deadline : 0;
    for (int i = 0; i < s->nclients; i++) {
      struct client *cl = &s->clients[i];
      watch(&w, cl->sock, POLLIN, W_SOCK, cl);
      if (cl->out.fd >= 0 && cl->out.q.len > cl->out.q.off)
        watch(&w, cl->out.fd, POLLOUT, W_SINK_OUT, cl);
      if (cl->err.fd >= 0 && cl->err.q.len > cl->err.q.off)
        watch(&w, cl->err.fd, POLLOUT, W_SINK_ERR, cl);
      if (cl->deadline && (!next || cl->deadline < next))
        next = cl->deadline;
    }
    int timeout = -1;
    if (next)
      timeout = next <= now ? 0 : (int)((next - now) / 1000000) + 1;
    if (!s->exited && s->pidfd < 0 && (timeout < 0 || timeout > 100))
      timeout = 100; /* no pidfd: poll waitpid */
    int r = poll(w.p, (nfds_t)w.n, timeout);
    if (r < 0 && errno != EINTR) {
      /* Cannot watch anything any more: the exit is still recorded, once it comes. */
      if (!s->exited && waitpid(s->pid, &status, 0) == s->pid)
        s->exited = true;
      if (!recorded)
        autoremove = record_exit(s, status, &code);
      for (int i = 0; i < s->nclients; i++)
        if (!s->clients[i].gone && !s->clients[i].hello)
          client_send(s, &s->clients[i], CB_EXIT, code, 0);
      break;
    }
    bool reaped = s->pidfd < 0;
    for (int i = 0; r > 0 && i < w.n; i++) {
      if (!w.p[i].revents)
        continue;
      struct client *cl = w.tag[i].cl;
      if (cl && cl->gone)
        continue;
      switch (w.tag[i].what) {
      case W_OUT: pump(s, &s->out_r, 1); break;
      case W_ERR: pump(s, &s->err_r, 2); break;
      case W_LISTEN:
        for (int k = 0; k < MAX_CLIENTS; k++) {
          int cs = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (cs < 0)
            break;
          client_new(s, cs, false);
        }
        break;
      case W_PID: reaped = true; break; /* below */
      case W_IN: stdin_read(s); break;
      case W_STDIN: stdin_flush(s); break;
      case W_SOCK: client_message(s, cl); break;
      case W_PORTS: ports_ready(s->ports); break;
      case W_SINK_OUT:
      case W_SINK_ERR:
        client_flush(s, cl, w.tag[i].what == W_SINK_OUT ? &cl->out : &cl->err);
        if (recorded)
          tell_exit(s, cl, code);
        break;
      }
    }
    if (!s->exited && reaped && waitpid(s->pid, &status, WNOHANG) == s->pid) {
      s->exited = true;
      /* The host ports are free once the container stops. */
      ports_free(s->ports);
      s->ports = NULL;
      /* Every process of the PID namespace dies with PID 1, so the pipes close soon. */
      drain_deadline = cb_monotonic_ns() + 2000000000LL;
      stdin_stop(s);
      if (s->in_w >= 0) {
        close(s->in_w);
        s->in_w = -1;
      }
      /* No new clients: the container is gone. */
      close(s->listen_fd);
      s->listen_fd = -1;
    }
    now = timed ? cb_monotonic_ns() : 0;
    for (int i = 0; timed && i < s->nclients; i++) {
      struct client *cl = &s->clients[i];
      if (cl->gone || !cl->deadline || now < cl->deadline)
        continue;
      if (cl->hello)
        client_close(s, cl); /* it never said what it wanted */
      else
        client_drop(s, cl); /* after the exit: its output does not move */
    }
    clients_compact(s);
  }
  if (autoremove) {
    cb_error_t err = NULL;
    if (cb_container_purge(&s->ctx, s->c->id, &err) < 0)
      cb_error_release(&err);
  }
}

static int parse_fd(const char *s) {
  int fd;
  return cb_parse_int(s, &fd) == 0 && fd >= 0 ? fd : -1;
}

int main(int argc, char **argv) {
  struct shim s;
  memset(&s, 0, sizeof s);
  s.sync_fd = s.lock_fd = s.listen_fd = s.out_r = s.err_r = s.in_w = s.pidfd = s.master = -1;
  int attach_fd = -1;
  const char *id = NULL, *root = NULL, *runroot = NULL;
  char **publish = NULL;
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
    else if (!strcmp(argv[i], "--publish") && i + 1 < argc)
      cb_strv_append(&publish, argv[++i]);
    else {
      fprintf(stderr, "Usage: crowbar-shim --id ID --root ROOT --runroot RUNROOT --sync-fd N "
                      "--lock-fd N [--attach-fd N] [--publish FD:PORT/PROTO]...\n"
                      "(started by crowbar; not for users)\n");
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
  /* The published ports' sockets first: whatever fails next, they are ours to close. */
  s.ports = ports_new(publish, &err);
  cb_strv_free(publish);
  if (err) {
    sync_reply(&s, "err 125 %s\n", cb_error_text(err));
    return 1;
  }
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
  if (attach_fd >= 0) {
    /* The foreground client (run, start -a): its CB_ATTACH was sent before we started. */
    client_new(&s, attach_fd, true);
    if (s.nclients)
      client_message(&s, &s.clients[0]);
  }
  dup2(2, 2); /* stderr stays the CLI's until the start is reported, for debugging. */

  /* The blocks the exit's record needs, before anything runs (a full disk stops the start
   * here, rather than lose the exit later); an exit note of an earlier run goes. */
  cb_container_drop_exit_note(&s.ctx, id);
  if (cb_container_reserve(&s.ctx, s.c, &err) < 0) {
    sync_reply(&s, "err 125 %s\n", cb_error_text(err));
    return 1;
  }
  int code = 125;
  if (spawn(&s, &code, &err) < 0) {
    const char *msg = cb_error_text(err);
    record_start_failure(&s, code, msg);
    sync_reply(&s, "err %d %s\n", code, msg);
    return 1;
  }
  if (s.ports && ports_attach(s.ports, s.pid, &err) < 0) {
    kill(s.pid, SIGKILL);
    sync_reply(&s, "err 125 %s\n", cb_error_text(err));
    return 1;
  }
  /* What ps, port and inspect show while it runs (the last run's ports until the next). */
  json_object_object_add(cb_json_obj(s.c->json, "NetworkSettings"), "Ports",
                         ports_settings(s.ports, cb_json_get(s.c->json, "Config.ExposedPorts")));
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

  loop(&s);
  io_free(s.io);
  return 0;
}
