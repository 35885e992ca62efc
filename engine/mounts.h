/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A new container's mounts (mounts.c): -v, --mount and the image's VOLUMEs. */
#ifndef CROWBAR_ENGINE_MOUNTS_H
#define CROWBAR_ENGINE_MOUNTS_H

#include <json-c/json.h>
#include <stdbool.h>

#include "crowbar/context.h"
#include "crowbar/error.h"
#include "crowbar/image.h"

struct create_opts;
struct mnt;

struct mount_plan {
  struct mnt *v;
  size_t n;
  json_object *binds;     /* HostConfig.Binds: the -v specs that name a source */
  json_object *hc_mounts; /* HostConfig.Mounts: the --mount specs */
  json_object *volumes;   /* Config.Volumes: the image's and -v DST's */
  char **anonymous;       /* the anonymous volumes made (rm -v removes them) */
  char **created;         /* every volume made (removed again if the create fails) */
};

/* Parse and check everything (nothing is made): Docker's errors. */
int mount_plan_parse(const struct create_opts *o, json_object *image_volumes, struct mount_plan *p,
                     cb_error_t *err);
bool mount_plan_has_volumes(const struct mount_plan *p);
/* Make the volumes (hold the volumes lock), copy the image's files into empty ones, and
 * give the record's Mounts array. */
int mount_plan_make(const struct cb_ctx *ctx, struct mount_plan *p, const struct cb_image *img,
                    json_object **mounts, cb_error_t *err);
/* A failed create: the volumes it made go. */
void mount_plan_undo(const struct cb_ctx *ctx, struct mount_plan *p);
void mount_plan_free(struct mount_plan *p);

#endif
