/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flock(2) locks on files under the runroot's locks/ folder. */
#ifndef CROWBAR_LOCK_H
#define CROWBAR_LOCK_H

#include "crowbar/context.h"
#include "crowbar/error.h"

/* Take an exclusive (or shared) lock named `name` (e.g. a container ID, "images").
 * Returns the descriptor holding the lock (close it to unlock) or -1. */
int cb_lock(const struct cb_ctx *ctx, const char *name, int exclusive, cb_error_t *err);
/* Same, but fails with EWOULDBLOCK instead of waiting. */
int cb_trylock(const struct cb_ctx *ctx, const char *name, int exclusive, cb_error_t *err);

#endif
