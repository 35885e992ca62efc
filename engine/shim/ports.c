/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The published ports' relay: docker-proxy's work, inside the container's monitor.
 *
 * The CLI bound the host sockets (ports.h) and handed them over; for each connection
 * accepted on one, the relay opens a socket in the container's network namespace (setns
 * there and back: a socket keeps the namespace it was made in), connects it to the port
 * on the container's loopback, and moves the bytes both ways with splice(2) through one
 * pipe per direction: no byte is copied into the monitor, whose memory stays small. A
 * side that ends its output (FIN) is passed on as a shutdown of the other's write side
 * once the pipe is drained (half-close); an error on either side drops both. UDP is
 * relayed per peer: one socket in the container per source address, forgotten after 90 s
 * of silence (docker-proxy's timeout).
 *
 * Everything is non-blocking and bounded: at most MAX_CONNS connections (the listening
 * sockets are left alone while full, so new ones wait in the kernel's backlog), at most
 * PIPE_CAP bytes in flight per direction, at most MAX_FLOWS UDP peers (a new one replaces
 * the quietest). The monitor's loop polls one descriptor (an epoll set) and calls
 * ports_ready() when it is readable. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "crowbar/ports.h"
#include "shim.h"

#define MAX_CONNS 512
#define MAX_FLOWS 256
#define PIPE_CAP (256 * 1024)
#define UDP_IDLE_NS (90 * 1000000000LL)
#define BATCH 16

enum { T_LISTEN, T_UDP, T_CONN, T_FLOW, T_TIMER };

/* What an epoll event points at. */
struct tag {
  int type;
  int side; /* T_CONN: 0 the client's socket, 1 the container's */
  void *obj;
};

struct listener {
  struct tag tag;
  int fd;
  bool udp, armed;
  uint16_t port;
};

struct conn {
  struct tag tag[2];
  int fd[2];        /* 0: the client's (host), 1: the container's */
  int rd[2], wr[2]; /* the pipe of direction d (fd[d] to fd[1 - d]) */
  size_t queued[2]; /* bytes in that pipe */
  bool eof[2];      /* fd[d] ended its output */
  bool shut[2];     /* ... and the other side was told (shutdown SHUT_WR) */
  bool connecting, dead;
  uint32_t want[2];
  struct conn *prev, *next;
};

struct flow {
  struct tag tag;
  int fd;
  struct listener *l;
  struct sockaddr_storage peer;
  socklen_t plen;
  int64_t last;
  bool dead;
  struct flow *prev, *next;
};

struct ports {
  int epfd, hostns, ctrns;
  struct listener *l;
  size_t nl;
  struct conn *conns;
  size_t nconns;
  struct flow *flows;
  size_t nflows;
  /* Closed during a batch of events, freed after it: a later event of the batch may
   * point at them, and their memory must not be a new connection's yet. */
  struct conn *dead_conns;
  struct flow *dead_flows;
  struct tag timer_tag;
  int timerfd;
  size_t pipe_cap;
};

static void ctl(struct ports *p, int op, int fd, uint32_t ev, struct tag *t) {
  struct epoll_event e = {.events = ev, .data.ptr = t};
  epoll_ctl(p->epfd, op, fd, &e);
}

static void closep(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

struct ports *ports_new(char *const *specs, cb_error_t *err) {
  size_t n = cb_strv_len(specs);
  if (!n)
    return NULL;
  struct ports *p = xcalloc(1, sizeof *p);
  p->hostns = p->ctrns = p->timerfd = -1;
  p->l = xcalloc(n, sizeof *p->l);
  p->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (p->epfd < 0) {
    cb_error_sys(err, "epoll_create1");
    goto fail;
  }
  for (size_t i = 0; i < n; i++) {
    /* FD:PORT/PROTO */
    int fd;
    uint16_t port;
    char proto[8];
    const char *colon = strchr(specs[i], ':');
    char num[16];
    if (!colon || (size_t)(colon - specs[i]) >= sizeof num) {
      cb_error_make(err, 0, "bad published port `%s`", specs[i]);
      goto fail;
    }
    snprintf(num, sizeof num, "%.*s", (int)(colon - specs[i]), specs[i]);
    if (cb_parse_int(num, &fd) < 0 || fd < 3 || cb_port_key_parse(colon + 1, &port, proto) < 0) {
      cb_error_make(err, 0, "bad published port `%s`", specs[i]);
      goto fail;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
      cb_error_sys(err, "published port `%s`", specs[i]);
      goto fail;
    }
    struct listener *l = &p->l[p->nl++];
    l->fd = fd;
    l->udp = !strcmp(proto, "udp");
    l->port = port;
    l->tag = (struct tag){l->udp ? T_UDP : T_LISTEN, 0, l};
  }
  return p;
fail:
  ports_free(p);
  return NULL;
}

int ports_attach(struct ports *p, pid_t pid, cb_error_t *err) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/net", (int)pid);
  p->hostns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  p->ctrns = open(path, O_RDONLY | O_CLOEXEC);
  if (p->hostns < 0 || p->ctrns < 0)
    return cb_error_sys(err, "open the container's network namespace");
  /* Six descriptors a connection (two sockets, two pipes): make room for them. The
   * container was cloned already and keeps the limit it had. */
  struct rlimit rl;
  rlim_t need = MAX_CONNS * 6 + MAX_FLOWS + 64;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need) {
    rl.rlim_cur = need;
    if (rl.rlim_max < need)
      rl.rlim_max = need;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  for (size_t i = 0; i < p->nl; i++) {
    ctl(p, EPOLL_CTL_ADD, p->l[i].fd, EPOLLIN, &p->l[i].tag);
    p->l[i].armed = true;
  }
  return 0;
}

json_object *ports_settings(struct ports *p, json_object *exposed) {
  struct cb_port_sock *v = xcalloc(p ? p->nl + 1 : 1, sizeof *v);
  for (size_t i = 0; p && i < p->nl; i++)
    v[i] = (struct cb_port_sock){.fd = p->l[i].fd, .udp = p->l[i].udp, .ctr_port = p->l[i].port};
  json_object *o = cb_ports_settings(exposed, v, p ? p->nl : 0);
  free(v);
  return o;
}

int ports_fd(const struct ports *p) {
  return p ? p->epfd : -1;
}

/* n sockets of the given type in the container's network namespace. */
static int inner_sockets(struct ports *p, int type, int n, int *out) {
  if (setns(p->ctrns, CLONE_NEWNET) < 0)
    return -1;
  int made = 0;
  for (; made < n; made++) {
    out[made] = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (out[made] < 0)
      break;
  }
  if (setns(p->hostns, CLONE_NEWNET) < 0) {
    /* Our own sockets live on; only new ones would be made in the wrong place. */
  }
  return made;
}

static void arm_listeners(struct ports *p, bool on) {
  for (size_t i = 0; i < p->nl; i++) {
    struct listener *l = &p->l[i];
    if (l->udp || l->armed == on)
      continue;
    ctl(p, EPOLL_CTL_MOD, l->fd, on ? EPOLLIN : 0, &l->tag);
    l->armed = on;
  }
}

static void conn_free(struct ports *p, struct conn *c) {
  for (int i = 0; i < 2; i++) {
    if (c->fd[i] >= 0)
      epoll_ctl(p->epfd, EPOLL_CTL_DEL, c->fd[i], NULL);
    closep(&c->fd[i]);
    closep(&c->rd[i]);
    closep(&c->wr[i]);
  }
  if (c->prev)
    c->prev->next = c->next;
  else
    p->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  c->dead = true;
  c->next = p->dead_conns;
  p->dead_conns = c;
  if (p->nconns-- == MAX_CONNS)
    arm_listeners(p, true);
}

static void conn_update(struct ports *p, struct conn *c) {
  for (int i = 0; i < 2; i++) {
    uint32_t w = 0;
    if (c->connecting) {
      w = i == 1 ? EPOLLOUT : 0;
    } else {
      if (!c->eof[i] && c->queued[i] < p->pipe_cap)
        w |= EPOLLIN;
      if (c->queued[1 - i])
        w |= EPOLLOUT;
    }
    if (w != c->want[i]) {
      ctl(p, EPOLL_CTL_MOD, c->fd[i], w, &c->tag[i]);
      c->want[i] = w;
    }
  }
}

/* Move what can move in direction d without waiting; -1 when the connection broke. */
static int pump(struct ports *p, struct conn *c, int d) {
  for (int round = 0; round < 32; round++) {
    bool moved = false;
    if (!c->eof[d] && c->queued[d] < p->pipe_cap) {
      ssize_t n = splice(c->fd[d], NULL, c->wr[d], NULL, p->pipe_cap - c->queued[d],
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        c->queued[d] += (size_t)n;
        moved = true;
      } else if (n == 0) {
        c->eof[d] = true;
        moved = true;
      } else if (errno != EAGAIN && errno != EINTR) {
        return -1;
      }
    }
    if (c->queued[d]) {
      ssize_t n = splice(c->rd[d], NULL, c->fd[1 - d], NULL, c->queued[d],
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        c->queued[d] -= (size_t)n;
        moved = true;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        return -1;
      }
    }
    if (c->eof[d] && !c->queued[d] && !c->shut[d]) {
      /* Half-close: the other side reads EOF and may still answer. */
      shutdown(c->fd[1 - d], SHUT_WR);
      c->shut[d] = true;
    }
    if (!moved)
      break;
  }
  return 0;
}

static void conn_event(struct ports *p, struct conn *c, int side, uint32_t ev) {
  if (c->connecting) {
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (side == 0 || (ev & EPOLLERR) ||
        getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &soerr, &len) < 0 || soerr) {
      /* Nothing listens on the port in the container (or the client gave up). */
      conn_free(p, c);
      return;
    }
    c->connecting = false;
  }
  if ((ev & EPOLLERR) || pump(p, c, 0) < 0 || pump(p, c, 1) < 0) {
    conn_free(p, c);
    return;
  }
  /* Done both ways, or a side hung up with nothing left to say or hear. */
  if ((c->shut[0] && c->shut[1]) || ((ev & EPOLLHUP) && c->eof[side] && !c->queued[1 - side])) {
    conn_free(p, c);
    return;
  }
  conn_update(p, c);
}

static int make_pipe(struct ports *p, int *rd, int *wr) {
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
    return -1;
  *rd = fds[0];
  *wr = fds[1];
  int got = fcntl(fds[1], F_SETPIPE_SZ, PIPE_CAP);
  if (!p->pipe_cap)
    p->pipe_cap = got > 0 ? (size_t)got : 65536;
  return 0;
}

static void conn_new(struct ports *p, int client, int inner, uint16_t port) {
  struct conn *c = xcalloc(1, sizeof *c);
  c->fd[0] = client;
  c->fd[1] = inner;
  c->rd[0] = c->rd[1] = c->wr[0] = c->wr[1] = -1;
  c->next = p->conns;
  if (p->conns)
    p->conns->prev = c;
  p->conns = c;
  p->nconns++;
  for (int i = 0; i < 2; i++)
    c->tag[i] = (struct tag){T_CONN, i, c};
  if (make_pipe(p, &c->rd[0], &c->wr[0]) < 0 || make_pipe(p, &c->rd[1], &c->wr[1]) < 0) {
    conn_free(p, c);
    return;
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(inner, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (errno != EINPROGRESS) {
      conn_free(p, c);
      return;
    }
    c->connecting = true;
  }
  ctl(p, EPOLL_CTL_ADD, client, 0, &c->tag[0]);
  ctl(p, EPOLL_CTL_ADD, inner, 0, &c->tag[1]);
  conn_update(p, c);
}

static void accept_all(struct ports *p, struct listener *l) {
  for (;;) {
    int client[BATCH], inner[BATCH], n = 0;
    while (n < BATCH && p->nconns + (size_t)n < MAX_CONNS) {
      int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0)
        break;
      client[n++] = fd;
    }
    if (!n)
      break;
    /* One trip into the container's namespace for the whole batch. */
    int made = inner_sockets(p, SOCK_STREAM, n, inner);
    for (int i = 0; i < n; i++) {
      if (i < made)
        conn_new(p, client[i], inner[i], l->port);
      else
        close(client[i]);
    }
    if (p->nconns >= MAX_CONNS) {
      arm_listeners(p, false);
      break;
    }
    if (n < BATCH)
      break;
  }
}

/* ---- UDP ----------------------------------------------------------------------------- */

static char dgram[65536];

static void flow_free(struct ports *p, struct flow *f) {
  epoll_ctl(p->epfd, EPOLL_CTL_DEL, f->fd, NULL);
  close(f->fd);
  if (f->prev)
    f->prev->next = f->next;
  else
    p->flows = f->next;
  if (f->next)
    f->next->prev = f->prev;
  f->dead = true;
  f->next = p->dead_flows;
  p->dead_flows = f;
  p->nflows--;
}

static void timer_arm(struct ports *p, bool on) {
  if (on && p->timerfd < 0) {
    p->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (p->timerfd < 0)
      return;
    p->timer_tag = (struct tag){T_TIMER, 0, NULL};
    ctl(p, EPOLL_CTL_ADD, p->timerfd, EPOLLIN, &p->timer_tag);
  }
  if (p->timerfd < 0)
    return;
  struct itimerspec its = {0};
  if (on)
    its.it_value.tv_sec = its.it_interval.tv_sec = 30;
  timerfd_settime(p->timerfd, 0, &its, NULL);
}

static struct flow *flow_for(struct ports *p, struct listener *l, struct sockaddr_storage *peer,
                             socklen_t plen) {
  for (struct flow *f = p->flows; f; f = f->next)
    if (f->l == l && f->plen == plen && !memcmp(&f->peer, peer, plen))
      return f;
  if (p->nflows >= MAX_FLOWS) {
    struct flow *old = p->flows;
    for (struct flow *f = p->flows; f; f = f->next)
      if (f->last < old->last)
        old = f;
    flow_free(p, old);
  }
  int fd;
  if (inner_sockets(p, SOCK_DGRAM, 1, &fd) != 1)
    return NULL;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(l->port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    close(fd);
    return NULL;
  }
  struct flow *f = xcalloc(1, sizeof *f);
  f->fd = fd;
  f->l = l;
  memcpy(&f->peer, peer, plen);
  f->plen = plen;
  f->tag = (struct tag){T_FLOW, 0, f};
  f->next = p->flows;
  if (p->flows)
    p->flows->prev = f;
  p->flows = f;
  if (p->nflows++ == 0)
    timer_arm(p, true);
  ctl(p, EPOLL_CTL_ADD, fd, EPOLLIN, &f->tag);
  return f;
}

static void udp_in(struct ports *p, struct listener *l) {
  int64_t now = cb_monotonic_ns();
  for (int k = 0; k < 64; k++) {
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    ssize_t n = recvfrom(l->fd, dgram, sizeof dgram, 0, (struct sockaddr *)&peer, &plen);
    if (n < 0)
      break;
    struct flow *f = flow_for(p, l, &peer, plen);
    if (!f)
      continue;
    f->last = now;
    /* A datagram the container cannot take now is dropped, as the network would. */
    send(f->fd, dgram, (size_t)n, MSG_DONTWAIT);
  }
}

static void flow_in(struct flow *f) {
  for (int k = 0; k < 64; k++) {
    ssize_t n = recv(f->fd, dgram, sizeof dgram, MSG_DONTWAIT);
    if (n < 0)
      break;
    f->last = cb_monotonic_ns();
    sendto(f->l->fd, dgram, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&f->peer, f->plen);
  }
}

static void flows_expire(struct ports *p) {
  uint64_t ticks;
  if (read(p->timerfd, &ticks, sizeof ticks) < 0) {
    /* spurious */
  }
  int64_t now = cb_monotonic_ns();
  for (struct flow *f = p->flows, *next; f; f = next) {
    next = f->next;
    if (now - f->last >= UDP_IDLE_NS)
      flow_free(p, f);
  }
  if (!p->nflows)
    timer_arm(p, false);
}

static void free_dead(struct ports *p) {
  while (p->dead_conns) {
    struct conn *c = p->dead_conns;
    p->dead_conns = c->next;
    free(c);
  }
  while (p->dead_flows) {
    struct flow *f = p->dead_flows;
    p->dead_flows = f->next;
    free(f);
  }
}

void ports_ready(struct ports *p) {
  struct epoll_event ev[32];
  int n = epoll_wait(p->epfd, ev, 32, 0);
  for (int i = 0; i < n; i++) {
    struct tag *t = ev[i].data.ptr;
    switch (t->type) {
    case T_LISTEN: accept_all(p, t->obj); break;
    case T_UDP: udp_in(p, t->obj); break;
    case T_TIMER: flows_expire(p); break;
    case T_FLOW:
      if (!((struct flow *)t->obj)->dead)
        flow_in(t->obj);
      break;
    case T_CONN:
      if (!((struct conn *)t->obj)->dead)
        conn_event(p, t->obj, t->side, ev[i].events);
      break;
    }
  }
  free_dead(p);
}

void ports_free(struct ports *p) {
  if (!p)
    return;
  while (p->conns)
    conn_free(p, p->conns);
  while (p->flows)
    flow_free(p, p->flows);
  free_dead(p);
  for (size_t i = 0; i < p->nl; i++)
    closep(&p->l[i].fd);
  free(p->l);
  closep(&p->timerfd);
  closep(&p->epfd);
  closep(&p->hostns);
  closep(&p->ctrns);
  free(p);
}
