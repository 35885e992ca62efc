/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Volumes, as Docker's "local" driver keeps them: $ROOT/volumes/<name>/_data is what a
 * container mounts, $ROOT/volumes/<name>/volume.json its record (CreatedAt, Labels,
 * Options), written atomically. A folder without a record (made by an older crowbar's
 * -v NAME:/path) is a volume too. Everything that creates or removes a volume, or creates a
 * container that mounts one, holds the "volumes" lock (cb_volumes_lock), so that a volume
 * is never removed between a container's choosing it and its record naming it.
 *
 * A volume is in use while any container record, running or not, mounts it (Docker's
 * rule: only removing the container releases it). */
#ifndef CROWBAR_VOLUME_H
#define CROWBAR_VOLUME_H

#include <json-c/json.h>
#include <stdbool.h>

#include "crowbar/context.h"
#include "crowbar/error.h"

/* The volumes lock (exclusive); close the descriptor to release it. */
int cb_volumes_lock(const struct cb_ctx *ctx, cb_error_t *err);

/* The local driver's names: [a-zA-Z0-9][a-zA-Z0-9_.-]+; the error is Docker's. */
int cb_volume_name_check(const char *name, cb_error_t *err);

/* Create the volume when it does not exist (*created then true); labels and opts (objects,
 * or NULL for Docker's null) go into a new volume's record. */
int cb_volume_ensure(const struct cb_ctx *ctx, const char *name, json_object *labels,
                     json_object *opts, bool *created, cb_error_t *err);
/* A new anonymous volume: a random 64-hex name into name[65]. */
int cb_volume_create_anonymous(const struct cb_ctx *ctx, char name[65], cb_error_t *err);
bool cb_volume_exists(const struct cb_ctx *ctx, const char *name);
/* $ROOT/volumes/<name>/_data. Malloc'd. */
char *cb_volume_data_path(const struct cb_ctx *ctx, const char *name);

/* `docker volume inspect`'s object; NULL with "No such volume: NAME". */
json_object *cb_volume_inspect(const struct cb_ctx *ctx, const char *name, cb_error_t *err);
/* Every volume's name, in natural order. */
int cb_volume_list(const struct cb_ctx *ctx, char ***names, cb_error_t *err);
/* The IDs of the containers that mount the volume (NULL-terminated, maybe empty). */
int cb_volume_users(const struct cb_ctx *ctx, const char *name, char ***ids, cb_error_t *err);
/* Remove a volume no container mounts (Docker's "remove NAME: volume is in use - [ID]"
 * otherwise, and "get NAME: no such volume"); *bytes gets the size of what it held. Hold
 * the volumes lock. */
int cb_volume_remove(const struct cb_ctx *ctx, const char *name, long long *bytes, cb_error_t *err);
/* Remove a container's anonymous volumes (rm -v, --rm) that no other container mounts;
 * the container's record is gone already. Takes the volumes lock. Best effort. */
void cb_volumes_remove_anonymous(const struct cb_ctx *ctx, char *const *names);

/* Docker's copy of the image's files into a volume at first use: when the folder
 * dstdirfd (the volume) is empty and srcfd is a folder, its entries are copied in, owners
 * and modes kept, and the volume's own owner and mode become the source's. */
int cb_volume_populate(int srcfd, int dstdirfd, cb_error_t *err);

#endif
