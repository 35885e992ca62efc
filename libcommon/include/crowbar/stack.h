/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A container's layer stack after commits by rename (commit.h).
 *
 * At create, the stack is GraphDriver.Data: UpperDir over LowerDir = the init layer, then
 * the image's layers (top first). Committing a stopped container moves its upper dir into
 * the image store as a new layer ($ROOT/layers/<hex>/diff) and gives the container a fresh
 * empty upper dir, the new layer inserted where the upper was, just above the init layer:
 *
 *     LowerDir = <newest own layer>:...:<oldest own layer>:<init>:<image layers, top first>
 *
 * so that the container sees exactly what it saw. These own layers are recorded, oldest
 * first, in Crowbar.OwnLayers (state.json, like GraphDriver since it changes after create):
 *
 *     [{"DiffID": "sha256:<hex>", "Created": RFC 3339, "CreatedBy": the container's Cmd,
 *       "Author": -a, "Comment": -m}, ...]
 *
 * (the history entries of the commits that made them, for the next commit's config). The
 * container's parent, what `diff` compares with, stays the init layer and the image's
 * layers, as in Docker, whose container's parent never changes.
 *
 * A commit by rename in progress is marked in the record by Crowbar.Committing =
 * {"Layer": "sha256:<hex>", "Dev": d, "Ino": i}: the record already names the new layer,
 * which the store holds with an empty diff/ folder (inode d:i), while the files are still
 * in the upper dir; the next step exchanges the two folders (renameat2 RENAME_EXCHANGE:
 * the empty one becomes the upper dir) in one atomic step, and the marker goes. Before and
 * after that step the stack shows the same files (an empty layer adds nothing), so every
 * reader is right at any moment; only the store's layer stays empty when the commit dies
 * in between: cb_container_finish_commit() does the exchange, and start, commit and a
 * writable root (cp into a stopped container) call it before they use the upper dir. */
#ifndef CROWBAR_STACK_H
#define CROWBAR_STACK_H

#include <stddef.h>

#include "crowbar/container.h"
#include "crowbar/context.h"
#include "crowbar/error.h"

/* How many of the first LowerDir entries are the container's own layers. */
size_t cb_container_own_layers(const struct cb_container *c);

/* Finish an interrupted commit by rename (see above); nothing to do without a marker.
 * Hold the container's lock (exclusive); the container must not run. Saves the record. */
int cb_container_finish_commit(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err);

#endif
