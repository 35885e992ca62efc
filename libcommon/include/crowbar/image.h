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
 *   $ROOT/layers/<hex>/layer.json      {"DiffID":"sha256:<hex>","Size":unpacked bytes,
 *                                      "TarSize":bytes of layer.tar}
 *   $ROOT/repositories.json            {"repo:tag": "sha256:<hex>", ...}
 *   $ROOT/tmp/image-*                  work folders of writers in progress (see below)
 *
 * Writers hold the "images" lock; every file is written atomically and an image folder
 * appears (rename) only once complete, so an interrupted import leaves nothing behind.
 * A writer builds everything in its own folder $ROOT/tmp/image-<what>-XXXXXX, which it
 * holds flock(2)ed while it lives; the next writer removes such folders whose owner is
 * gone (and any layer a killed writer left without an image). Readers (locate, list)
 * take no lock: what they read is either complete or absent. A container's creator should
 * hold the "images" lock shared (cb_lock(ctx, "images", 0, err)) from cb_image_locate until
 * its container record (with "Image" and GraphDriver.Data.LowerDir) is written, so that a
 * concurrent rmi sees the container. Layers stay while a container's LowerDir names them. */
#ifndef CROWBAR_IMAGE_H
#define CROWBAR_IMAGE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowbar/context.h"
#include "crowbar/digest.h"
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

/* The unpacked layer folders, top layer FIRST (the order overlayfs's lowerdir= wants), a
 * layer listed twice only at its topmost place. NULL-terminated, malloc'd. */
char **cb_image_layer_dirs(const struct cb_ctx *ctx, const struct cb_image *img);
/* This machine's architecture as Go (and so image configs) names it: "amd64", "arm64"... */
const char *cb_image_arch(void);
/* Normalise a reference: "busybox" -> "busybox:latest". The caller frees. NULL when ref is
 * not a valid name[:tag] (see cb_image_parse_ref). */
char *cb_image_normalize_ref(const char *ref);

/* ---- references ---------------------------------------------------------------------- */

/* Parse "name[:tag]" with Docker's grammar (distribution/reference): lower-case path
 * components separated by '/', an optional registry host[:port] first, a tag
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. *name is the familiar name ("docker.io/library/x" ->
 * "x"), *tag defaults to "latest". Errors are Docker's ("invalid reference format",
 * "invalid reference format: repository name (library/Foo) must be lowercase", ...). */
int cb_image_parse_ref(const char *ref, char **name, char **tag, cb_error_t *err);
/* "sha256:<hex>" -> "<first 12 hex>" (also takes a bare hex ID), into buf. */
const char *cb_image_short_id(const char *id, char buf[CB_SHORT_ID_LEN + 1]);

/* ---- image configs --------------------------------------------------------------------- */

/* A new OCI image config: {"architecture","os":"linux","created":RFC3339Nano(created_ns),
 * "config":{},"rootfs":{"type":"layers","diff_ids":[]},"history":[]}. */
json_object *cb_image_config_new(int64_t created_ns);
/* Apply Dockerfile instructions to a config's "config" object, as `docker import -c` and
 * `docker commit -c` do: CMD, ENTRYPOINT (JSON array or shell form -> ["/bin/sh","-c",..];
 * an ENTRYPOINT resets a Cmd not set by these changes), ENV (k=v... or legacy "k v"),
 * EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR (relative to the previous one).
 * ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME and WORKDIR expand $VAR and ${VAR} from
 * the Env. Errors: "from is not a valid change command", ... */
int cb_image_apply_changes(json_object *config, char *const *changes, cb_error_t *err);

/* ---- writing --------------------------------------------------------------------------- */

/* A write in progress: a work folder under $ROOT/tmp where layers are unpacked before they
 * move into the store. Free it (removes the folder) whether or not it was committed. */
struct cb_image_txn;
/* what names the work folder ("import", "load", "commit"). Also sweeps the work folders
 * of dead writers. */
int cb_image_txn_begin(const struct cb_ctx *ctx, const char *what, struct cb_image_txn **out,
                       cb_error_t *err);
/* Unpack a (possibly compressed) layer tar read from fd into the work folder (archive.h,
 * with flags CB_EXTRACT_*; layers want CB_EXTRACT_WHITEOUTS). Its diff_id goes to diff_id. */
int cb_image_txn_add_layer(struct cb_image_txn *t, int fd, unsigned flags,
                           char diff_id[CB_DIGEST_LEN + 1], int64_t *unpacked_size,
                           cb_error_t *err);
/* Under the images lock: move the new layers into the store (a layer already there is
 * reused), write the image whose config is exactly these bytes (its rootfs.diff_ids must
 * name layers of the store or of this transaction), point each of refs (NULL-terminated,
 * may be NULL) at it, and give its ID (hex) in id. */
int cb_image_txn_commit(struct cb_image_txn *t, const char *config, size_t len, char *const *refs,
                        char id[CB_ID_LEN + 1], cb_error_t *err);
void cb_image_txn_free(struct cb_image_txn *t);

/* Commit by rename (commit.h): a layer added with CB_EXTRACT_NO_FILES (its tar, its
 * diff_id, an empty diff/ folder) is moved into the store under the images lock, then fn
 * is called, the lock still held, with the layer's folder in the store ($ROOT/layers/<hex>);
 * fn fills the layer (renames the files in) and records who uses it. When the store
 * already holds a layer of that diff_id, nothing moves, fn is not called, and 1 is
 * returned: the image can use the one there. fn returns 0 on success; -1 when it failed
 * and nothing names the layer (it leaves the store again); -2 when it failed but a record
 * names the layer (it stays). */
typedef int (*cb_image_place_fn)(const char *layer_dir, void *arg, cb_error_t *err);
/* While fn has not filled the layer, its folder holds this file: such a layer is never
 * reused by another writer; whoever fills it (fn, or cb_container_finish_commit after a
 * crash) removes the file, and the collection of unused layers removes an unnamed one. */
#define CB_LAYER_PLACING ".placing"
int cb_image_txn_place_layer(struct cb_image_txn *t, const char *diff_id, cb_image_place_fn fn,
                             void *arg, cb_error_t *err);
/* Unpack the tar of a layer added with CB_EXTRACT_NO_FILES into its (empty) diff/ folder
 * after all (flags: CB_EXTRACT_*), checking its digest again. */
int cb_image_txn_unpack_layer(struct cb_image_txn *t, const char *diff_id, unsigned flags,
                              cb_error_t *err);
/* The path of the diff/ folder of a layer this transaction holds (not yet in the store), or
 * NULL. The caller frees. */
char *cb_image_txn_layer_diff(struct cb_image_txn *t, const char *diff_id);

/* Remove every layer that no image and no container's LowerDir names (rm of a container
 * whose own layers or image are gone). Takes the images lock. */
int cb_image_gc_layers(const struct cb_ctx *ctx, cb_error_t *err);

struct cb_image_import_opts {
  const char *ref;      /* "repo[:tag]" to point at the image, or NULL */
  char *const *changes; /* Dockerfile instructions, NULL-terminated, or NULL */
  const char *message;  /* the history comment; default "Imported from -" as Docker */
};
/* `import`: a rootfs tarball (plain, gzip, xz, zstd, bzip2) read from fd becomes a
 * one-layer image. */
int cb_image_import(const struct cb_ctx *ctx, int fd, const struct cb_image_import_opts *o,
                    char id[CB_ID_LEN + 1], cb_error_t *err);

/* Point ref ("repo[:tag]") at the image with this ID (hex); the image it named before, if
 * any, keeps its other tags or becomes untagged. Takes the images lock. */
int cb_image_tag(const struct cb_ctx *ctx, const char *id, const char *ref, cb_error_t *err);

/* `rmi`: untag and/or delete what ref names, with Docker's rules and messages (conflicts
 * with containers using the image, several tags, -f). On success *records (may be NULL)
 * gets the lines to print: "Untagged: repo:tag", "Deleted: sha256:<hex>" (the image, then
 * each layer removed, as its chain ID, top first). */
int cb_image_remove(const struct cb_ctx *ctx, const char *ref, bool force, char ***records,
                    cb_error_t *err);

#endif
