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

/* The I/O side: the json-file log and attached clients. */
struct shim_io;
struct shim_io *io_new(const char *log_path, cb_error_t *err);
/* A chunk of container output on stream 1 (stdout) or 2 (stderr). */
void io_output(struct shim_io *io, int stream, const char *buf, size_t len);
/* Flush a partial line at the end of a stream. */
void io_flush(struct shim_io *io, int stream);
void io_free(struct shim_io *io);

#endif
