/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Where crowbar keeps its state: --root (persistent) and --runroot (runtime). */
#ifndef CROWBAR_CONTEXT_H
#define CROWBAR_CONTEXT_H

#include "crowbar/error.h"

#define CB_DEFAULT_ROOT "/var/lib/crowbar"
#define CB_DEFAULT_RUNROOT "/run/crowbar"

struct cb_ctx {
  char *root;     /* $CROWBAR_ROOT: images/, layers/, containers/, names/ */
  char *runroot;  /* $CROWBAR_RUNROOT: locks/, <id>/ (rootfs mount point, attach socket) */
  char *exec_dir; /* folder of the running program, for crowbar-shim, crowbar-init */
};

/* Fill ctx from the environment (CROWBAR_ROOT, CROWBAR_RUNROOT) and create the
 * folders when create is set. argv0 is used to find sibling programs. */
int cb_ctx_init(struct cb_ctx *ctx, const char *argv0, int create, cb_error_t *err);
void cb_ctx_release(struct cb_ctx *ctx);

/* Paths under the roots; the caller frees. */
char *cb_ctx_path(const struct cb_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *cb_ctx_runpath(const struct cb_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A sibling program (e.g. "crowbar-shim"): next to us, then $CROWBAR_EXEC_PATH,
 * then LIBEXECDIR. Returns a malloc'd path or NULL with err. */
char *cb_ctx_find_program(const struct cb_ctx *ctx, const char *name, cb_error_t *err);

/* Fails with a one-line message unless we are root. */
int cb_require_root(cb_error_t *err);

#endif
