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

#endif
