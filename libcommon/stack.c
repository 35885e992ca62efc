/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A container's own layers and the end of an interrupted commit by rename (see stack.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/digest.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/lock.h"
#include "crowbar/stack.h"
#include "crowbar/util.h"

size_t cb_container_own_layers(const struct cb_container *c) {
  json_object *own = cb_json_get(c->json, "Crowbar.OwnLayers");
  if (!own || !json_object_is_type(own, json_type_array))
    return 0;
  return json_object_array_length(own);
}

int cb_container_finish_commit(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err) {
  json_object *m = cb_json_get(c->json, "Crowbar.Committing");
  if (!m)
    return 0;
  const char *layer = cb_json_get_str(m, "Layer", "");
  dev_t dev = (dev_t)cb_json_get_int(m, "Dev", 0);
  ino_t ino = (ino_t)cb_json_get_int(m, "Ino", 0);
  const char *upper = cb_json_get_str(c->json, "GraphDriver.Data.UpperDir", "");
  /* The store's layers move under the images lock only. */
  cleanup_close int lk = cb_lock(ctx, "images", 1, err);
  if (lk < 0)
    return -1;
  if (cb_digest_valid(layer) && *upper) {
    cleanup_free char *diff = cb_ctx_path(ctx, "layers/%s/diff", cb_digest_hex(layer));
    struct stat ds;
    if (lstat(diff, &ds) == 0 && ds.st_dev == dev && ds.st_ino == ino) {
      /* The layer is still the empty folder: the files are in the upper dir. */
      if (renameat2(AT_FDCWD, upper, AT_FDCWD, diff, RENAME_EXCHANGE) < 0)
        return cb_error_sys(err, "finish the commit of container %s: exchange `%s` and `%s`",
                            c->name, upper, diff);
    }
    /* Otherwise the exchange was done (the upper dir is that empty folder). The layer is
     * whole now: other writers may reuse it. */
    cleanup_free char *placing =
        cb_ctx_path(ctx, "layers/%s/" CB_LAYER_PLACING, cb_digest_hex(layer));
    if (unlink(placing) < 0 && errno != ENOENT)
      return cb_error_sys(err, "remove `%s`", placing);
  }
  json_object_object_del(cb_json_obj(c->json, "Crowbar"), "Committing");
  return cb_container_save(ctx, c, err);
}
