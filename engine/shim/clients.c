/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The shim's attached clients. The monitor of a container must never wait on one: not on
 * its first message (a client that connects and says nothing), not on its stdout (a slow
 * reader), not on the container's stdin (a container that does not read it). So:
 *
 *  - sockets are non-blocking, and a client has HELLO_NS to send its CB_ATTACH;
 *  - a client's stdout and stderr are its own descriptors (SCM_RIGHTS), which may be
 *    blocking pipes or terminals shared with its shell: O_NONBLOCK on them would change
 *    the file description the client and its shell share. Instead a pipe is written with
 *    RWF_NOWAIT (per call), a socket with MSG_DONTWAIT, a terminal or other device through
 *    a description of our own (opened anew through /proc/self/fd, O_NONBLOCK), a regular
 *    file as it is (it never waits on a reader);
 *  - what a client cannot take at once waits in its queue, at most QUEUE_MAX bytes: a
 *    client that falls further behind is dropped (told so, when it still listens);
 *  - the client that started the container in the foreground (run, start -a) is the
 *    container's stdout as a pipe would be: while its queue is long the shim stops
 *    reading the container's output, so that the container waits for it as it would for
 *    a pipe, and nothing is lost. The shim itself goes on (signals, other clients, the
 *    exit), and once the container exited, that client is held to the same rules;
 *  - input goes to the container's stdin pipe or terminal as it takes it: while some waits,
 *    the client's stdin is not read (the client, not the shim, waits).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "crowbar/attach.h"
#include "crowbar/proc.h"
#include "crowbar/tty.h"
#include "shim.h"

/* How a descriptor of a client's is used without waiting. */
enum { HOW_FILE, HOW_NOWAIT, HOW_SOCK, HOW_OWN };

/* A description of our own of what fd refers to (a terminal, a device), non-blocking. */
static int reopen(int *fd, int *how, int flags) {
  char p[40];
  snprintf(p, sizeof p, "/proc/self/fd/%d", *fd);
  int nfd = open(p, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (nfd < 0)
    return -1;
  close(*fd);
  *fd = nfd;
  *how = HOW_OWN;
  return 0;
}

static int how_for(int *fd, int flags) {
  struct stat st;
  if (fstat(*fd, &st) < 0 || S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))
    return HOW_FILE;
  if (S_ISSOCK(st.st_mode))
    return HOW_SOCK;
  int how = HOW_NOWAIT;
  if (S_ISCHR(st.st_mode) && reopen(fd, &how, flags) < 0) {
    /* Left as it is: RWF_NOWAIT, and the stream goes when the device cannot do that. */
  }
  return how;
}

/* Write without waiting: the bytes taken (0 when none fit now), or -1 when the stream is
 * gone (its reader closed, a terminal hung up, or it cannot be written without waiting). */
static ssize_t sink_write(struct sink *k, const char *p, size_t n) {
  for (;;) {
    ssize_t r;
    if (k->how == HOW_SOCK) {
      r = send(k->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    } else if (k->how == HOW_NOWAIT) {
      struct iovec v = {(void *)p, n};
      r = pwritev2(k->fd, &v, 1, -1, RWF_NOWAIT);
    } else {
      r = write(k->fd, p, n);
    }
    if (r >= 0)
      return r;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN)
      return 0;
    if (errno == EOPNOTSUPP && k->how == HOW_NOWAIT && reopen(&k->fd, &k->how, O_WRONLY) == 0)
      continue;
    return -1;
  }
}

/* Read without waiting: > 0 bytes, 0 at the end, -1 with errno (EAGAIN: nothing now). */
static ssize_t in_read(struct client *cl, void *buf, size_t n) {
  for (;;) {
    ssize_t r;
    if (cl->in_how == HOW_SOCK) {
      r = recv(cl->in, buf, n, MSG_DONTWAIT);
    } else if (cl->in_how == HOW_NOWAIT) {
      struct iovec v = {buf, n};
      r = preadv2(cl->in, &v, 1, -1, RWF_NOWAIT);
    } else {
      r = read(cl->in, buf, n);
    }
    if (r >= 0 || errno != EINTR) {
      if (r < 0 && errno == EOPNOTSUPP && cl->in_how == HOW_NOWAIT &&
          reopen(&cl->in, &cl->in_how, O_RDONLY) == 0)
        continue;
      return r;
    }
  }
}

static size_t q_len(const struct outq *q) {
  return q->len - q->off;
}

static void q_free(struct outq *q) {
  free(q->buf);
  memset(q, 0, sizeof *q);
}

static void q_push(struct outq *q, const char *p, size_t n) {
  if (q->off && q->off == q->len)
    q->off = q->len = 0;
  if (q->len + n > q->cap && q->off) {
    memmove(q->buf, q->buf + q->off, q->len - q->off);
    q->len -= q->off;
    q->off = 0;
  }
  if (q->len + n > q->cap) {
    size_t cap = q->cap ? q->cap : 16384;
    while (cap < q->len + n)
      cap *= 2;
    q->buf = xrealloc(q->buf, cap);
    q->cap = cap;
  }
  memcpy(q->buf + q->len, p, n);
  q->len += n;
}

static void sink_close(struct sink *k) {
  if (k->fd >= 0)
    close(k->fd);
  k->fd = -1;
  q_free(&k->q);
}

size_t client_queued(const struct client *cl) {
  return q_len(&cl->out.q) + q_len(&cl->err.q);
}

void client_close(struct shim *s, struct client *cl) {
  if (cl->sock >= 0)
    close(cl->sock);
  cl->sock = -1;
  if (cl->in >= 0)
    close(cl->in);
  cl->in = -1;
  sink_close(&cl->out);
  sink_close(&cl->err);
  cl->gone = true;
  if (s->stdin_client == cl) {
    s->stdin_client = NULL;
    q_free(&s->inq);
  }
}

/* A message, if the client's socket takes it now; a client that cannot is gone. */
void client_send(struct shim *s, struct client *cl, int type, int a, int b) {
  struct cb_attach_msg m = {.type = (uint32_t)type, .a = a, .b = b};
  if (cl->sock < 0 || cb_attach_send(cl->sock, &m, NULL, 0) < 0)
    client_close(s, cl);
}

void client_drop(struct shim *s, struct client *cl) {
  client_send(s, cl, CB_DROPPED, s->exited, 0);
  client_close(s, cl);
}

void client_new(struct shim *s, int sock, bool primary) {
  if (s->nclients >= MAX_CLIENTS) {
    close(sock);
    return;
  }
  int fl = fcntl(sock, F_GETFL);
  if (fl < 0 || fcntl(sock, F_SETFL, fl | O_NONBLOCK) < 0) {
    close(sock);
    return;
  }
  struct client *cl = &s->clients[s->nclients++];
  memset(cl, 0, sizeof *cl);
  cl->sock = sock;
  cl->in = cl->out.fd = cl->err.fd = -1;
  cl->hello = true;
  cl->primary = primary;
  cl->deadline = cb_monotonic_ns() + HELLO_NS;
  cl->detach = s->detach_default;
}

/* The CB_ATTACH a new client sends first, with its stdio. */
static void client_hello(struct shim *s, struct client *cl) {
  struct cb_attach_msg m;
  int fds[3];
  int r = cb_attach_recv(cl->sock, &m, fds);
  if (r < 0 && errno == EAGAIN)
    return;
  if (r != 1 || m.type != CB_ATTACH) {
    for (int k = 0; k < 3; k++)
      if (fds[k] >= 0)
        close(fds[k]);
    client_close(s, cl);
    return;
  }
  cl->hello = false;
  cl->deadline = 0;
  int k = 0;
  if (m.a & CB_ATTACH_STDIN)
    cl->in = fds[k++];
  if (m.a & CB_ATTACH_STDOUT)
    cl->out.fd = fds[k++];
  if (m.a & CB_ATTACH_STDERR)
    cl->err.fd = fds[k++];
  for (; k < 3; k++)
    if (fds[k] >= 0)
      close(fds[k]);
  /* Its stdout and stderr one file (2>&1, a terminal): one queue keeps their order. */
  struct stat so, se;
  if (cl->out.fd >= 0 && cl->err.fd >= 0 && fstat(cl->out.fd, &so) == 0 &&
      fstat(cl->err.fd, &se) == 0 && so.st_dev == se.st_dev && so.st_ino == se.st_ino &&
      so.st_rdev == se.st_rdev) {
    close(cl->err.fd);
    cl->err.fd = -1;
    cl->err_to_out = true;
  }
  if (cl->out.fd >= 0)
    cl->out.how = how_for(&cl->out.fd, O_WRONLY);
  if (cl->err.fd >= 0)
    cl->err.how = how_for(&cl->err.fd, O_WRONLY);
  /* Input goes to the container's stdin pipe or its terminal, when it was started with
   * -i (as in Docker, -t alone takes no input); one client at a time feeds it. */
  bool stdin_gone = s->pid && s->in_w < 0 && s->master < 0; /* closed (StdinOnce) */
  if (cl->in >= 0 && (!s->cfg.open_stdin || s->stdin_client || s->exited || stdin_gone)) {
    close(cl->in);
    cl->in = -1;
  }
  if (cl->in >= 0) {
    cl->in_how = how_for(&cl->in, O_RDONLY);
    s->stdin_client = cl;
    s->stdin_eof = false;
  }
}

void client_message(struct shim *s, struct client *cl) {
  if (cl->hello) {
    client_hello(s, cl);
    return;
  }
  struct cb_attach_msg m;
  int fds[3];
  int r = cb_attach_recv(cl->sock, &m, fds);
  for (int k = 0; k < 3; k++)
    if (fds[k] >= 0)
      close(fds[k]);
  if (r < 0 && errno == EAGAIN)
    return;
  if (r <= 0) {
    client_close(s, cl);
    return;
  }
  if (s->exited)
    return;
  if (m.type == CB_SIGNAL && m.a > 0 && m.a < _NSIG && s->pidfd >= 0)
    cb_pidfd_send_signal(s->pidfd, m.a);
  else if (m.type == CB_RESIZE && s->master >= 0)
    cb_tty_set_size(s->master, m.a, m.b);
  else if (m.type == CB_DETACH_KEYS) {
    struct cb_detach *d = &cl->detach;
    memset(d, 0, sizeof *d);
    d->n = m.a > 0 && m.a <= 8 ? (size_t)m.a : 0;
    for (size_t k = 0; k < d->n; k++)
      d->keys[k] = (unsigned char)((k < 4 ? (uint32_t)m.b : (uint32_t)m.c) >> (8 * (k % 4)));
  }
}

/* Write what waits in one of a client's queues; true when something went. */
bool client_flush(struct shim *s, struct client *cl, struct sink *k) {
  if (k->fd < 0 || !q_len(&k->q))
    return false;
  ssize_t w = sink_write(k, k->q.buf + k->q.off, q_len(&k->q));
  if (w < 0) {
    sink_close(k);
    return false;
  }
  k->q.off += (size_t)w;
  if (!q_len(&k->q))
    q_free(&k->q); /* idle clients hold no memory */
  if (w > 0 && s->exited)
    cl->deadline = cb_monotonic_ns() + FLUSH_NS;
  return w > 0;
}

/* A chunk of the container's output on stream 1 or 2, to every client that takes it. */
void clients_output(struct shim *s, int stream, const char *buf, size_t n) {
  for (int i = 0; i < s->nclients; i++) {
    struct client *cl = &s->clients[i];
    if (cl->gone || cl->hello)
      continue;
    struct sink *k = stream == 2 && !cl->err_to_out ? &cl->err : &cl->out;
    if (k->fd < 0)
      continue;
    size_t done = 0;
    if (!q_len(&k->q)) {
      ssize_t w = sink_write(k, buf, n);
      if (w < 0) {
        /* Its reader went away: no more output there; the client stays for the exit. */
        sink_close(k);
        continue;
      }
      done = (size_t)w;
    }
    if (done == n)
      continue;
    if (client_queued(cl) + (n - done) > QUEUE_MAX) {
      client_drop(s, cl);
      continue;
    }
    q_push(&k->q, buf + done, n - done);
    if (s->exited && !cl->deadline)
      cl->deadline = cb_monotonic_ns() + FLUSH_NS;
  }
}

/* The stdin client's input, read when nothing of it waits for the container. */
void stdin_read(struct shim *s) {
  struct client *cl = s->stdin_client;
  if (!cl || cl->in < 0 || q_len(&s->inq))
    return;
  unsigned char buf[16384];
  ssize_t n = in_read(cl, buf, sizeof buf);
  if (n < 0 && errno == EAGAIN)
    return;
  if (n > 0 && s->master >= 0) {
    /* A terminal: the detach keys leave the container running and drop this client. */
    bool detached = false;
    unsigned char out[sizeof buf + CB_DETACH_MAX];
    size_t m =
        cl->detach.n ? cb_detach_feed(&cl->detach, buf, (size_t)n, out, &detached) : (size_t)n;
    q_push(&s->inq, (const char *)(cl->detach.n ? out : buf), m);
    if (detached) {
      client_send(s, cl, CB_DETACHED, 0, 0);
      client_close(s, cl);
    }
    stdin_flush(s);
    return;
  }
  if (n > 0) {
    q_push(&s->inq, (const char *)buf, (size_t)n);
    stdin_flush(s);
    return;
  }
  /* The end of its input (or an error reading it). */
  close(cl->in);
  cl->in = -1;
  s->stdin_client = NULL;
  if (s->master < 0)
    s->stdin_eof = true; /* the container's stdin closes once it took the rest */
  stdin_flush(s);
}

/* Give the container what waits for its stdin, as much as it takes now. */
void stdin_flush(struct shim *s) {
  int fd = s->master >= 0 ? s->master : s->in_w;
  if (fd < 0)
    q_free(&s->inq); /* nowhere to go */
  while (fd >= 0 && q_len(&s->inq)) {
    ssize_t w = write(fd, s->inq.buf + s->inq.off, q_len(&s->inq));
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EAGAIN)
      return;
    if (w <= 0) {
      /* The container closed its stdin (or its terminal went): what is left is lost. */
      q_free(&s->inq);
      if (s->in_w >= 0) {
        close(s->in_w);
        s->in_w = -1;
      }
      if (s->stdin_client && s->stdin_client->in >= 0) {
        close(s->stdin_client->in);
        s->stdin_client->in = -1;
      }
      s->stdin_client = NULL;
      return;
    }
    s->inq.off += (size_t)w;
  }
  if (s->inq.buf && !q_len(&s->inq))
    q_free(&s->inq);
  if (s->stdin_eof && s->in_w >= 0 && s->cfg.stdin_once) {
    close(s->in_w);
    s->in_w = -1;
  }
}

/* The container's stdin is no more (PID 1 exited): what waits for it goes, and so does the
 * client's stdin. */
void stdin_stop(struct shim *s) {
  q_free(&s->inq);
  struct client *cl = s->stdin_client;
  if (cl && cl->in >= 0) {
    close(cl->in);
    cl->in = -1;
  }
  s->stdin_client = NULL;
}

/* Forget the clients that are gone. */
void clients_compact(struct shim *s) {
  int j = 0;
  struct client *stdin_cl = s->stdin_client;
  s->stdin_client = NULL;
  for (int i = 0; i < s->nclients; i++) {
    if (s->clients[i].gone)
      continue;
    if (j != i)
      s->clients[j] = s->clients[i];
    if (stdin_cl == &s->clients[i])
      s->stdin_client = &s->clients[j];
    j++;
  }
  s->nclients = j;
}
