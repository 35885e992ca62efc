/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between the image store's files (image.c: reading; imageconfig.c: configs and
 * changes; imagestore.c: writing and removal). Not a public header. */
#ifndef CROWBAR_IMAGE_INTERNAL_H
#define CROWBAR_IMAGE_INTERNAL_H

#include <stdbool.h>

#include "crowbar/image.h"
#include "crowbar/json.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define NAME_MAX_LEN 255
#define TMP_PREFIX "image-"

bool cb_image_is_full_id(const char *s);
int cb_image_no_such(cb_error_t *err, const char *ref);
int cb_image_repos_read(const struct cb_ctx *ctx, json_object **out, cb_error_t *err);
int cb_image_repos_write(const struct cb_ctx *ctx, json_object *repos, cb_error_t *err);
char **cb_image_repos_tags_of(json_object *repos, const char *hex);

/* imagegc.c. Open (creating it) the store folder $ROOT/name. */
int cb_image_store_dir(const struct cb_ctx *ctx, const char *name, cb_error_t *err);
/* Move name (under dirfd) into tmp/ and remove it there, so that it disappears from the
 * store at once. */
int cb_image_trash(const struct cb_ctx *ctx, int dirfd, const char *name, cb_error_t *err);
/* Remove work folders whose owner is gone. Returns how many. Hold the images lock. */
int cb_image_sweep_tmp(const struct cb_ctx *ctx);
/* The layers (hex) that images (but except_image) and containers still need; 1 (and
 * nothing) when a container's layers cannot be known. Hold the images lock. */
int cb_image_layers_in_use(const struct cb_ctx *ctx, const char *except_image, char ***out,
                           cb_error_t *err);
/* Remove every layer no image or container needs. Hold the images lock. */
int cb_image_gc_locked(const struct cb_ctx *ctx, cb_error_t *err);
bool cb_image_strv_has(char **v, const char *s);

#endif
