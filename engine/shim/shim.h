/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar-shim: the per-container monitor. */
#ifndef CROWBAR_SHIM_H
#define CROWBAR_SHIM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "crowbar/container.h"
#include "crowbar/context.h"
#include "crowbar/error.h"
#include "crowbar/tty.h"

struct shim_mount {
  char *src, *dst;
  bool ro;
};

/* What the container process needs, read from the record before it is cloned. */
struct shim_config {
  char id[CB_ID_LEN + 1];
  char **argv, **env;
  char *cwd, *user, *hostname;
  bool tty, open_stdin, stdin_once;
  char *lowerdir, *upperdir, *workdir, *merged;
  char *hostname_path, *hosts_path, *resolv_path, *log_path;
  struct shim_mount *mounts;
  size_t nmounts;
  bool net_host, read_only, init, autoremove;
  int64_t memory, pids;
  char **cap_add, **cap_drop;
  int init_fd;         /* crowbar-init, opened on the host, for --init */
  json_object *record; /* the container's record (borrowed): the child compiles its
                        * seccomp filter from it, out of the shim's own memory */
  bool no_new_privs;   /* --security-opt no-new-privileges */
};

int shim_config_load(struct cb_container *c, struct shim_config *cfg, cb_error_t *err);
void shim_config_free(struct shim_config *cfg);

/* The container side (runs in the cloned child, in its new namespaces). It never returns:
 * it execs the command, or writes "CODE MESSAGE" to errfd and exits with CODE. With a
 * terminal (cfg->tty), it opens one from the container's own devpts and sends the master
 * over consolefd (SCM_RIGHTS) to the shim. */
void container_child(const struct shim_config *cfg, int syncfd, int errfd, int consolefd)
    __attribute__((noreturn));
/* Report an error from the child and exit. */
void child_fail(int errfd, int code, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

/* Mount the container's root and pivot into it. Returns 0 or -1 with err. */
int rootfs_setup(const struct shim_config *cfg, cb_error_t *err);

/* The published ports' relay (ports.c). The loop polls ports_fd() for POLLIN and calls
 * ports_ready() when it is readable; nothing there ever blocks. */
struct ports;
/* Take the host sockets the CLI bound: "FD:PORT/PROTO" each (NULL when there are none). */
struct ports *ports_new(char *const *specs, cb_error_t *err);
/* Relay into the network namespace of the container's PID 1 (our child, not reaped). */
int ports_attach(struct ports *p, pid_t pid, cb_error_t *err);
/* NetworkSettings.Ports: the exposed ports and the host addresses of the sockets. */
json_object *ports_settings(struct ports *p, json_object *exposed);
int ports_fd(const struct ports *p);
void ports_ready(struct ports *p);
/* Close every socket: the host ports are free again. */
void ports_free(struct ports *p);

/* The attached clients (clients.c). */
#define MAX_CLIENTS 16
#define HELLO_NS (5 * 1000000000LL)  /* a new client's CB_ATTACH comes within this */
#define FLUSH_NS (60 * 1000000000LL) /* after the exit, a client's queue moves within this */
#define QUEUE_MAX (1u << 20)         /* a client further behind is dropped */
#define FLOW_HIGH (256u << 10)       /* the foreground client's queue holds the output back */

struct outq {
  char *buf;
  size_t off, len, cap;
};

/* A client's stdout or stderr, and what waits to go there. */
struct sink {
  int fd, how;
  struct outq q;
};

struct client {
  int sock;
  bool hello;       /* its CB_ATTACH not read yet */
  bool primary;     /* it started the container in the foreground (run, start -a) */
  bool gone;        /* closed: forgotten at the end of the turn */
  int64_t deadline; /* hello: dropped after it; after the exit: when its queue stalls */
  int in, in_how;   /* its stdin, when it feeds the container's */
  struct sink out, err;
  bool err_to_out; /* its stdout and stderr are one file: one queue */
  struct cb_detach detach;
};

struct shim {
  struct cb_ctx ctx;
  struct shim_config cfg;
  struct cb_container *c;
  int sync_fd, lock_fd, listen_fd;
  int out_r, err_r, in_w;
  int master; /* the container's terminal (with Config.Tty): out_r and the stdin are it */
  struct cb_detach detach_default;
  pid_t pid;
  int pidfd;
  bool exited; /* PID 1 was reaped */
  struct shim_io *io;
  struct client clients[MAX_CLIENTS];
  int nclients;
  struct client *stdin_client; /* the one whose stdin feeds the container, if any */
  struct outq inq;             /* input the container did not take yet */
  bool stdin_eof;              /* its stdin closes once it took inq (StdinOnce) */
  struct ports *ports;         /* the published ports' relay, while PID 1 runs */
};

void client_new(struct shim *s, int sock, bool primary);
void client_message(struct shim *s, struct client *cl);
void client_send(struct shim *s, struct client *cl, int type, int a, int b);
void client_drop(struct shim *s, struct client *cl);
void client_close(struct shim *s, struct client *cl);
size_t client_queued(const struct client *cl);
bool client_flush(struct shim *s, struct client *cl, struct sink *k);
void clients_output(struct shim *s, int stream, const char *buf, size_t n);
void clients_compact(struct shim *s);
void stdin_read(struct shim *s);
void stdin_flush(struct shim *s);
void stdin_stop(struct shim *s);

/* The I/O side: the json-file log and attached clients. */
struct shim_io;
struct shim_io *io_new(const char *log_path, cb_error_t *err);
/* A chunk of container output on stream 1 (stdout) or 2 (stderr). */
void io_output(struct shim_io *io, int stream, const char *buf, size_t len);
/* Flush a partial line at the end of a stream. */
void io_flush(struct shim_io *io, int stream);
void io_free(struct shim_io *io);

#endif
