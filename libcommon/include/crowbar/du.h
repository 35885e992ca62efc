/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How many bytes a tree holds, as Docker counts a container's writable layer (SizeRw). */
#ifndef CROWBAR_DU_H
#define CROWBAR_DU_H

#include <stdint.h>

#include "crowbar/container.h"
#include "crowbar/context.h"
#include "crowbar/error.h"

/* The sizes (st_size) of every file below the open folder dirfd that is not a folder, a
 * file with several links counted once; nothing is followed. Adds to *total. */
int cb_tree_size(int dirfd, int64_t *total, cb_error_t *err);

/* docker inspect -s: SizeRw, the bytes of the container's changes (its upper dir and the
 * layers commits by rename made of it), and SizeRootFs, those plus its image's. */
int cb_container_sizes(const struct cb_ctx *ctx, const struct cb_container *c, int64_t *rw,
                       int64_t *rootfs, cb_error_t *err);

#endif
