/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The local image store.
 *
 *   $ROOT/images/<hex>/config.json     the OCI image config; the image ID is sha256 of
 *                                      exactly these bytes ("sha256:<hex>")
 *   $ROOT/images/<hex>/manifest.json   the OCI manifest (config and layer descriptors)
 *   $ROOT/layers/<hex>/diff/           a layer unpacked (overlay lower dir; deletions as
 *                                      overlay whiteouts), <hex> = its diff_id
 *   $ROOT/layers/<hex>/layer.tar       the layer's uncompressed tar (sha256 = diff_id),
 *                                      kept for `save`
 *   $ROOT/repositories.json            {"repo:tag": "sha256:<hex>", ...}
 *
 * Writers hold the "images" lock; every file is written atomically and an image folder
 * appears (rename) only once complete, so an interrupted import leaves nothing behind. */
#ifndef CROWBAR_IMAGE_H
#define CROWBAR_IMAGE_H

#include <json-c/json.h>
#include <stdint.h>

#include "crowbar/context.h"
#include "crowbar/error.h"
#include "crowbar/util.h"

struct cb_image {
  char id[CB_ID_LEN + 1]; /* hex, without "sha256:" */
  json_object *config;    /* the OCI image config */
  char **diff_ids;        /* "sha256:<hex>", bottom layer first */
  char **tags;            /* "repo:tag" that point at this image */
  int64_t created_ns;
  int64_t size; /* bytes of the unpacked layers */
};

/* Find an image by "repo[:tag]" (tag defaults to latest), "sha256:<hex>", full hex ID or
 * a unique ID prefix. Error: "No such image: REF". */
int cb_image_locate(const struct cb_ctx *ctx, const char *ref, struct cb_image **out,
                    cb_error_t *err);
/* Every image, newest first. */
int cb_image_list(const struct cb_ctx *ctx, struct cb_image ***out, size_t *n, cb_error_t *err);
void cb_image_list_free(struct cb_image **v, size_t n);
void cb_image_free(struct cb_image *img);
static inline void cb_image_freep(struct cb_image **i) {
  if (*i)
    cb_image_free(*i);
}
#define cleanup_image __attribute__((cleanup(cb_image_freep)))

/* The unpacked layer folders, top layer FIRST (the order overlayfs's lowerdir= wants).
 * NULL-terminated, malloc'd. */
char **cb_image_layer_dirs(const struct cb_ctx *ctx, const struct cb_image *img);
/* Normalise a reference: "busybox" -> "busybox:latest". The caller frees. */
char *cb_image_normalize_ref(const char *ref);

#endif
