/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A new image from a container's changes (`commit`), as Docker's commit makes it.
 *
 * The new image is the container's image with one more layer on top: the container's
 * upper dir as an OCI layer (archive.h, CB_TAR_WHITEOUTS: deletions as ".wh.NAME",
 * opaque folders as ".wh..wh..opq", overlay's own xattrs dropped), unpacked into the
 * store through an image transaction (image.h), so that an interrupted commit leaves no
 * image and no layer behind. Its config is the image's, with:
 *   - "config": the container's Config (Cmd, Entrypoint, Env, WorkingDir, User, Labels,
 *     ... as the container had them, `run --entrypoint` included), then the -c changes
 *     (cb_image_apply_changes: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME,
 *     WORKDIR...);
 *   - "created" now, "container" the container's ID, "author" and "comment" (-a, -m);
 *   - rootfs.diff_ids: the image's, plus the new layer's unless it is empty (a container
 *     that changed nothing), as Docker does;
 *   - history: the image's, plus {created, created_by: the container's Cmd joined by
 *     spaces, author, comment, empty_layer when empty}.
 * The image the container was made from may be gone (rmi -f): its layers are then known
 * from the container's LowerDir, and the config starts empty.
 *
 * Pausing is the caller's (the commit tool pauses around the whole commit, as Docker
 * does by default): cb_commit_pause/cb_commit_unpause freeze and thaw the container's
 * cgroup and record it paused meanwhile, so that `ps` tells the truth and a commit that
 * dies leaves a container that `unpause` thaws. */
#ifndef CROWBAR_COMMIT_H
#define CROWBAR_COMMIT_H

#include <stdbool.h>

#include "crowbar/container.h"
#include "crowbar/context.h"
#include "crowbar/error.h"
#include "crowbar/util.h"

struct cb_commit_opts {
  char *const *changes; /* -c instructions, NULL-terminated, or NULL */
  const char *message;  /* -m, or NULL */
  const char *author;   /* -a, or NULL */
  const char *ref;      /* REPO[:TAG] to tag the image with, or NULL */
};

/* Commit c (any state) into a new image; its ID (hex) goes to id. A stopped container is
 * held (its lock) so that it is not started or removed meanwhile. */
int cb_container_commit(const struct cb_ctx *ctx, struct cb_container *c,
                        const struct cb_commit_opts *o, char id[CB_ID_LEN + 1], cb_error_t *err);

/* Pause a running container for a commit: *paused tells whether this call froze it (a
 * stopped or already paused container is left as it is). */
int cb_commit_pause(const struct cb_ctx *ctx, struct cb_container *c, bool *paused,
                    cb_error_t *err);
/* Thaw what cb_commit_pause froze (if it is still recorded paused). */
int cb_commit_unpause(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err);

#endif
