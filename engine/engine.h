/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine's CLI side: creating records, starting shims, stopping, removing. */
#ifndef CROWBAR_ENGINE_H
#define CROWBAR_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "crowbar/container.h"
#include "crowbar/context.h"
#include "crowbar/error.h"

struct create_opts {
  bool detach, interactive, tty, autoremove, init, read_only, net_host;
  char *name, *workdir, *user, *entrypoint, *hostname, *stop_signal, *detach_keys;
  bool entrypoint_set;
  int stop_timeout; /* -1: unset */
  int64_t memory, pids_limit;
  char **env;       /* -e, in order */
  char **env_file;  /* --env-file's variables, in order (before -e's, as Docker's) */
  char **volumes;   /* -v */
  char **mounts;    /* --mount */
  char **publish;   /* -p */
  bool publish_all; /* -P */
  char **cap_add, **cap_drop;
  char **security_opts; /* --security-opt, a seccomp=FILE already read: seccomp=<JSON> */
  char *image;
  char **cmd; /* after IMAGE */
};

void create_opts_free(struct create_opts *o);
/* Parse create/run options (argv[0] is the verb). Returns 0, 1 when --help was printed, or
 * -1 with err (usage errors). */
int create_opts_parse(int argc, char **argv, bool is_run, struct create_opts *o, cb_error_t *err);
struct cb_port_socks;
/* Create the record (name reserved, upper/work made, /etc files written). With socks
 * (run), the published ports are bound first: a port in use leaves no container. */
int container_create(const struct cb_ctx *ctx, const struct create_opts *o,
                     struct cb_port_socks *socks, struct cb_container **out, cb_error_t *err);

struct start_opts {
  bool attach; /* wire our stdio to the container and wait for its exit */
  bool stdin_; /* and our stdin to its stdin */
  bool tty;    /* ... through its terminal */
  const char *detach_keys;
  /* The published ports' sockets, bound already (run); NULL: bound from the record. Handed
   * to the shim and closed here. */
  struct cb_port_socks *socks;
};
/* Start a created or stopped container: spawn its shim and wait until the container's
 * process runs (or failed to start). With opts->attach, wait for the exit too and store
 * the container's exit code in *exit_code. The caller holds no lock. */
int container_start(const struct cb_ctx *ctx, const char *id, const struct start_opts *opts,
                    int *exit_code, cb_error_t *err);
/* Send sig to the container's PID 1 (checked against its start time). */
int container_signal(const struct cb_ctx *ctx, struct cb_container *c, int sig, cb_error_t *err);
/* kill: the signal, and a paused container thawed so that it acts on it. */
int container_kill(const struct cb_ctx *ctx, struct cb_container *c, int sig, cb_error_t *err);
/* Thaw a paused container and record it running; the caller holds its lock. */
int container_thaw_locked(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err);
/* Pause (freeze) or unpause a running container, under its lock. */
int container_pause(const struct cb_ctx *ctx, const char *id, bool pause, cb_error_t *err);
/* Stop: the stop signal, then SIGKILL after timeout seconds (<0: the container's own). */
int container_stop(const struct cb_ctx *ctx, const char *id, int timeout, cb_error_t *err);
/* Wait until the container no longer runs (timeout_ms < 0: forever). Returns 0 when it
 * stopped, 1 on timeout. */
int container_wait_stopped(const struct cb_ctx *ctx, const char *id, int timeout_ms,
                           cb_error_t *err);
/* Remove a container that does not run (force: kill it first). */
int container_remove(const struct cb_ctx *ctx, const char *id, bool force, bool volumes,
                     cb_error_t *err);

/* An attached client's session: terminal set-up, sizes, signals, until EXIT (0, with the
 * container's code) or DETACHED (1). */
struct attach_session {
  bool tty, stdin_;
  bool no_sig_proxy;       /* let signals end the client instead of going to PID 1 */
  const char *detach_keys; /* NULL: the container's (default ctrl-p,ctrl-q) */
};
int attach_session(int sock, const struct attach_session *as, int *exit_code, cb_error_t *err);
/* Hand our stdio (stdin too when asked) to the shim on an attach socket. */
int attach_send_fds(int sock, bool with_stdin, cb_error_t *err);

/* Common verb helpers. */
typedef int (*engine_action)(const struct cb_ctx *ctx, const char *id, const char *arg, void *data,
                             cb_error_t *err);
enum {
  ENGINE_EACH_PRINT = 1u << 0,      /* print each argument that worked */
  ENGINE_EACH_MISSING_OK = 1u << 1, /* a missing container is said, not a failure */
};
/* Run fn on every container named in argv[first..] (each resolved to its ID); see each.c.
 * Returns the verb's exit status. */
int engine_each(const char *verb, int argc, char **argv, int first, engine_action fn, void *data,
                unsigned flags);
/* stop and restart share their options and loop (cmd_stop.c). */
int stop_or_restart(int argc, char **argv, bool restart);
/* pause and unpause share their loop (cmd_pause.c). */
int pause_or_unpause(int argc, char **argv, bool pause);
int engine_ctx(struct cb_ctx *ctx, const char *argv0, cb_error_t *err);

#endif
