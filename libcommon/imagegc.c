/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image store's collection of unused layers, and the helpers it shares with the
 * writers (imagestore.c). Kept apart from them so that the engine's container verbs (rm)
 * can collect layers without loading libarchive. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/digest.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/lock.h"
#include "crowbar/util.h"
#include "image-internal.h"

int cb_image_store_dir(const struct cb_ctx *ctx, const char *name, cb_error_t *err) {
  cleanup_free char *p = cb_ctx_path(ctx, "%s", name);
  if (cb_mkdir_p(p, 0700, err) < 0)
    return -1;
  int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return cb_error_sys(err, "open `%s`", p);
  return fd;
}

/* Move name (under dirfd) into tmp/ and remove it there, so that it disappears from
 * the store at once. */
int cb_image_trash(const struct cb_ctx *ctx, int dirfd, const char *name, cb_error_t *err) {
  cleanup_close int tmpfd = cb_image_store_dir(ctx, "tmp", err);
  if (tmpfd < 0)
    return -1;
  char tname[64];
  char rnd[CB_ID_LEN + 1];
  if (cb_random_id(rnd, err) < 0)
    return -1;
  snprintf(tname, sizeof tname, TMP_PREFIX "trash-%.16s", rnd);
  if (renameat(dirfd, name, tmpfd, tname) < 0)
    return errno == ENOENT ? 0 : cb_error_sys(err, "remove `%s`", name);
  return cb_rm_rf_at(tmpfd, tname, err);
}

/* Remove work folders whose owner is gone. Returns how many. Hold the images lock. */
int cb_image_sweep_tmp(const struct cb_ctx *ctx) {
  cb_error_t e = NULL;
  cleanup_close int tmpfd = cb_image_store_dir(ctx, "tmp", &e);
  if (tmpfd < 0) {
    cb_error_release(&e);
    return 0;
  }
  cleanup_dir DIR *d = fdopendir(dup(tmpfd));
  if (!d)
    return 0;
  int swept = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!cb_str_has_prefix(de->d_name, TMP_PREFIX))
      continue;
    cleanup_close int fd =
        openat(tmpfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
      continue;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
      continue; /* its owner lives */
    if (cb_rm_rf_at(tmpfd, de->d_name, &e) < 0)
      cb_error_release(&e);
    swept++;
  }
  return swept;
}

/* Add the layer hex IDs named in a container's LowerDir ("/x/layers/<hex>/diff:..."). */
static void add_lowerdir_layers(const char *lower, char ***keep) {
  for (const char *p = strstr(lower, "/layers/"); p; p = strstr(p + 1, "/layers/")) {
    const char *h = p + strlen("/layers/");
    if (strlen(h) >= CB_ID_LEN && cb_is_hex(h, CB_ID_LEN) &&
        (h[CB_ID_LEN] == '/' || !h[CB_ID_LEN])) {
      char hex[CB_ID_LEN + 1];
      memcpy(hex, h, CB_ID_LEN);
      hex[CB_ID_LEN] = '\0';
      cb_strv_append(keep, hex);
    }
  }
}

bool cb_image_strv_has(char **v, const char *s) {
  for (; v && *v; v++)
    if (!strcmp(*v, s))
      return true;
  return false;
}

/* The layers (hex) that images and containers still need. Returns -1 when a container's
 * layers cannot be known (its image is gone and it recorded no LowerDir): then nothing
 * may be collected. Hold the images lock. */
int cb_image_layers_in_use(const struct cb_ctx *ctx, const char *except_image, char ***out,
                           cb_error_t *err) {
  char **keep = xcalloc(1, sizeof *keep);
  cleanup_free char *idir = cb_ctx_path(ctx, "images");
  cleanup_dir DIR *d = opendir(idir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (!cb_image_is_full_id(de->d_name) || (except_image && !strcmp(de->d_name, except_image)))
      continue;
    cleanup_free char *p = xasprintf("%s/%s/config.json", idir, de->d_name);
    cleanup_json json_object *cfg = NULL;
    if (cb_json_read_file(p, &cfg, err) < 0) {
      if ((*err)->errno_ == ENOENT) {
        cb_error_release(err);
        continue;
      }
      cb_strv_free(keep);
      return -1;
    }
    cleanup_strv char **diffs = cb_json_get_strv(cfg, "rootfs.diff_ids");
    for (char **x = diffs; x && *x; x++)
      cb_strv_append(&keep, cb_digest_hex(*x));
  }
  cleanup_free char *cdir = cb_ctx_path(ctx, "containers");
  cleanup_dir DIR *cd = opendir(cdir);
  while (cd && (de = readdir(cd))) {
    if (!cb_image_is_full_id(de->d_name))
      continue;
    struct cb_container *c = NULL;
    if (cb_container_load(ctx, de->d_name, &c, err) < 0) {
      if ((*err)->errno_ == ENOENT) {
        cb_error_release(err);
        continue;
      }
      cb_strv_free(keep);
      return -1;
    }
    if (c->damaged) {
      /* Its record cannot say which layers it stands on (its own commits are in its
       * state): unknown, collect nothing until it is removed. */
      cb_container_free(c);
      cb_strv_free(keep);
      *out = NULL;
      return 1;
    }
    const char *image = cb_json_get_str(c->json, "Image", "");
    const char *lower = cb_json_get_str(c->json, "GraphDriver.Data.LowerDir", NULL);
    bool known = false;
    if (lower) {
      add_lowerdir_layers(lower, &keep);
      known = true;
    }
    if (cb_digest_valid(image) && (!except_image || strcmp(cb_digest_hex(image), except_image))) {
      cleanup_free char *p = cb_ctx_path(ctx, "images/%s/config.json", cb_digest_hex(image));
      if (access(p, F_OK) == 0)
        known = true; /* its layers are that image's */
    }
    if (!known && except_image && !strcmp(cb_digest_hex(image), except_image)) {
      /* It uses the image being deleted: keep that image's layers. */
      cleanup_free char *p = cb_ctx_path(ctx, "images/%s/config.json", except_image);
      cleanup_json json_object *cfg = NULL;
      if (cb_json_read_file(p, &cfg, err) == 0) {
        cleanup_strv char **diffs = cb_json_get_strv(cfg, "rootfs.diff_ids");
        for (char **x = diffs; x && *x; x++)
          cb_strv_append(&keep, cb_digest_hex(*x));
        known = true;
      } else {
        cb_error_release(err);
      }
    }
    cb_container_free(c);
    if (!known && *image) {
      cb_strv_free(keep);
      *out = NULL;
      return 1; /* unknown: collect nothing */
    }
  }
  *out = keep;
  return 0;
}

/* Remove every layer no image or container needs. Hold the images lock. */
int cb_image_gc_locked(const struct cb_ctx *ctx, cb_error_t *err) {
  cleanup_strv char **keep = NULL;
  int r = cb_image_layers_in_use(ctx, NULL, &keep, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  cleanup_close int lfd = cb_image_store_dir(ctx, "layers", err);
  if (lfd < 0)
    return -1;
  cleanup_dir DIR *d = fdopendir(dup(lfd));
  if (!d)
    return cb_error_sys(err, "open the layers folder");
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!cb_image_is_full_id(de->d_name) || cb_image_strv_has(keep, de->d_name))
      continue;
    if (cb_image_trash(ctx, lfd, de->d_name, err) < 0)
      return -1;
  }
  return 0;
}

int cb_image_gc_layers(const struct cb_ctx *ctx, cb_error_t *err) {
  cleanup_close int lk = cb_lock(ctx, "images", 1, err);
  if (lk < 0)
    return -1;
  return cb_image_gc_locked(ctx, err);
}
