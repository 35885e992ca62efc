/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The image store's writing side: transactions (atomic, under the images lock), import,
 * tags, removal and the collection of unused layers. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "crowbar/archive.h"
#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/digest.h"
#include "crowbar/format.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/lock.h"
#include "crowbar/util.h"
#include "image-internal.h"

struct txn_layer {
  char diff_id[CB_DIGEST_LEN + 1];
  char name[32]; /* folder under the work folder */
  bool moved;
};

struct cb_image_txn {
  const struct cb_ctx *ctx;
  char *dir;
  int fd; /* the work folder, flock()ed while we live */
  struct txn_layer *layers;
  size_t n;
};

int cb_image_txn_begin(const struct cb_ctx *ctx, const char *what, struct cb_image_txn **out,
                       cb_error_t *err) {
  cleanup_close int lk = cb_lock(ctx, "images", 1, err);
  if (lk < 0)
    return -1;
  if (cb_image_sweep_tmp(ctx) > 0) {
    /* A writer died: it may have left a layer without its image. */
    cb_error_t e = NULL;
    if (cb_image_gc_locked(ctx, &e) < 0)
      cb_error_release(&e);
  }
  cleanup_free char *tmp = cb_ctx_path(ctx, "tmp");
  if (cb_mkdir_p(tmp, 0700, err) < 0)
    return -1;
  cleanup_free char *dir = xasprintf("%s/" TMP_PREFIX "%s-XXXXXX", tmp, what);
  if (!mkdtemp(dir))
    return cb_error_sys(err, "create a work folder in `%s`", tmp);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || flock(fd, LOCK_EX) < 0) {
    cb_error_sys(err, "lock `%s`", dir);
    if (fd >= 0)
      close(fd);
    rmdir(dir);
    return -1;
  }
  struct cb_image_txn *t = xcalloc(1, sizeof *t);
  t->ctx = ctx;
  t->dir = steal_pointer(&dir);
  t->fd = fd;
  *out = t;
  return 0;
}

void cb_image_txn_free(struct cb_image_txn *t) {
  if (!t)
    return;
  cb_error_t e = NULL;
  if (t->dir && cb_rm_rf(t->dir, &e) < 0)
    cb_error_release(&e); /* the next writer sweeps it */
  if (t->fd >= 0)
    close(t->fd);
  free(t->dir);
  free(t->layers);
  free(t);
}

int cb_image_txn_add_layer(struct cb_image_txn *t, int fd, unsigned flags,
                           char diff_id[CB_DIGEST_LEN + 1], int64_t *unpacked_size,
                           cb_error_t *err) {
  struct txn_layer l = {0};
  snprintf(l.name, sizeof l.name, "layer-%zu", t->n);
  if (mkdirat(t->fd, l.name, 0700) < 0)
    return cb_error_sys(err, "mkdir `%s/%s`", t->dir, l.name);
  cleanup_close int lfd = openat(t->fd, l.name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lfd < 0)
    return cb_error_sys(err, "open `%s/%s`", t->dir, l.name);
  if (mkdirat(lfd, "diff", 0755) < 0)
    return cb_error_sys(err, "mkdir `%s/%s/diff`", t->dir, l.name);
  cleanup_close int tar = openat(lfd, "layer.tar", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (tar < 0)
    return cb_error_sys(err, "create `%s/%s/layer.tar`", t->dir, l.name);
  cleanup_free char *diff = xasprintf("%s/%s/diff", t->dir, l.name);
  struct cb_extract x = {.flags = flags, .tee_fd = tar};
  if (cb_archive_extract_fd(fd, diff, &x, err) < 0)
    return -1;
  if (fsync(tar) < 0)
    return cb_error_sys(err, "fsync the layer tar");
  cleanup_json json_object *meta = json_object_new_object();
  cb_json_set_str(meta, "DiffID", x.digest);
  cb_json_set_int(meta, "Size", x.unpacked_size);
  cb_json_set_int(meta, "TarSize", x.stream_size);
  if (cb_json_write_file_at(lfd, "layer.json", meta, err) < 0)
    return -1;
  memcpy(l.diff_id, x.digest, sizeof l.diff_id);
  t->layers = xrealloc(t->layers, (t->n + 1) * sizeof *t->layers);
  t->layers[t->n++] = l;
  memcpy(diff_id, x.digest, CB_DIGEST_LEN + 1);
  if (unpacked_size)
    *unpacked_size = x.unpacked_size;
  return 0;
}

int cb_image_txn_unpack_layer(struct cb_image_txn *t, const char *diff_id, unsigned flags,
                              cb_error_t *err) {
  struct txn_layer *l = NULL;
  for (size_t i = 0; i < t->n; i++)
    if (!t->layers[i].moved && !strcmp(t->layers[i].diff_id, diff_id))
      l = &t->layers[i];
  if (!l)
    return cb_error_make(err, 0, "layer %s not found", diff_id);
  cleanup_free char *tar = xasprintf("%s/%s/layer.tar", t->dir, l->name);
  cleanup_free char *diff = xasprintf("%s/%s/diff", t->dir, l->name);
  cleanup_close int fd = open(tar, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return cb_error_sys(err, "open `%s`", tar);
  struct cb_extract x = {.flags = flags & ~(unsigned)CB_EXTRACT_NO_FILES, .tee_fd = -1};
  if (cb_archive_extract_fd(fd, diff, &x, err) < 0)
    return -1;
  if (strcmp(x.digest, diff_id))
    return cb_error_make(err, 0, "layer %s changed while it was unpacked", diff_id);
  return 0;
}

/* A layer of the store that a commit by rename has not filled yet (CB_LAYER_PLACING): not
 * to be reused. Fills err and returns true then. */
static bool layer_in_progress(int lfd, const char *hex, cb_error_t *err) {
  cleanup_free char *p = xasprintf("%s/" CB_LAYER_PLACING, hex);
  if (faccessat(lfd, p, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
    return false;
  cb_error_make(err, 0,
                "layer sha256:%s is being committed by a container whose commit was "
                "interrupted: start or commit that container, then try again",
                hex);
  return true;
}

char *cb_image_txn_layer_diff(struct cb_image_txn *t, const char *diff_id) {
  for (size_t i = 0; i < t->n; i++)
    if (!t->layers[i].moved && !strcmp(t->layers[i].diff_id, diff_id))
      return xasprintf("%s/%s/diff", t->dir, t->layers[i].name);
  return NULL;
}

int cb_image_txn_place_layer(struct cb_image_txn *t, const char *diff_id, cb_image_place_fn fn,
                             void *arg, cb_error_t *err) {
  struct txn_layer *l = NULL;
  for (size_t i = 0; i < t->n; i++)
    if (!t->layers[i].moved && !strcmp(t->layers[i].diff_id, diff_id))
      l = &t->layers[i];
  if (!l || !cb_digest_valid(diff_id))
    return cb_error_make(err, 0, "layer %s not found", diff_id);
  const char *hex = cb_digest_hex(diff_id);
  cleanup_close int lk = cb_lock(t->ctx, "images", 1, err);
  if (lk < 0)
    return -1;
  cleanup_close int lfd = cb_image_store_dir(t->ctx, "layers", err);
  if (lfd < 0)
    return -1;
  struct stat st;
  if (fstatat(lfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return layer_in_progress(lfd, hex, err) ? -1 : 1;
  cleanup_free char *placing = xasprintf("%s/" CB_LAYER_PLACING, l->name);
  cleanup_close int pf = openat(t->fd, placing, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (pf < 0 || fsync(pf) < 0)
    return cb_error_sys(err, "create `%s/%s`", t->dir, placing);
  if (renameat(t->fd, l->name, lfd, hex) < 0)
    return cb_error_sys(err, "move layer %s into the store", diff_id);
  fsync(lfd);
  l->moved = true;
  cleanup_free char *dir = cb_ctx_path(t->ctx, "layers/%s", hex);
  int rc = fn(dir, arg, err);
  if (rc == 0) {
    cleanup_free char *p = xasprintf("%s/" CB_LAYER_PLACING, hex);
    unlinkat(lfd, p, 0);
  }
  if (rc == -1) {
    /* Nothing names it: out of the store again (the work folder's removal takes it). */
    if (renameat(lfd, hex, t->fd, l->name) == 0) {
      l->moved = false;
    } else {
      cb_error_t e = NULL;
      if (cb_image_trash(t->ctx, lfd, hex, &e) < 0)
        cb_error_release(&e);
    }
  }
  return rc < 0 ? -1 : 0;
}

static json_object *descriptor(const char *media, const char *digest, int64_t size) {
  json_object *o = json_object_new_object();
  cb_json_set_str(o, "mediaType", media);
  cb_json_set_str(o, "digest", digest);
  cb_json_set_int(o, "size", size);
  return o;
}

static json_object *make_manifest(const struct cb_ctx *ctx, const char *config_digest,
                                  size_t config_len, char **diff_ids) {
  json_object *m = json_object_new_object();
  cb_json_set_int(m, "schemaVersion", 2);
  cb_json_set_str(m, "mediaType", "application/vnd.oci.image.manifest.v1+json");
  json_object_object_add(
      m, "config",
      descriptor("application/vnd.oci.image.config.v1+json", config_digest, (int64_t)config_len));
  json_object *layers = json_object_new_array();
  for (char **d = diff_ids; d && *d; d++) {
    cleanup_free char *p = cb_ctx_path(ctx, "layers/%s/layer.json", cb_digest_hex(*d));
    cleanup_json json_object *meta = NULL;
    cb_error_t e = NULL;
    int64_t size = 0;
    if (cb_json_read_file(p, &meta, &e) == 0)
      size = cb_json_get_int(meta, "TarSize", 0);
    else
      cb_error_release(&e);
    json_object_array_add(layers, descriptor("application/vnd.oci.image.layer.v1.tar", *d, size));
  }
  json_object_object_add(m, "layers", layers);
  return m;
}

/* Point refs at "sha256:<id>" in repositories.json. Hold the images lock. */
static int set_tags(const struct cb_ctx *ctx, const char *id, char *const *refs, cb_error_t *err) {
  if (!refs || !refs[0])
    return 0;
  cleanup_json json_object *repos = NULL;
  if (cb_image_repos_read(ctx, &repos, err) < 0)
    return -1;
  for (char *const *r = refs; *r; r++) {
    cleanup_free char *name = NULL, *tag = NULL;
    if (cb_image_parse_ref(*r, &name, &tag, err) < 0)
      return -1;
    cleanup_free char *key = xasprintf("%s:%s", name, tag);
    cleanup_free char *val = xasprintf(CB_DIGEST_PREFIX "%s", id);
    cb_json_set_str(repos, key, val);
  }
  return cb_image_repos_write(ctx, repos, err);
}

static int commit_locked(struct cb_image_txn *t, const char *config, size_t len, char *const *refs,
                         char id[CB_ID_LEN + 1], bool *moved_any, bool *new_image,
                         cb_error_t *err) {
  const struct cb_ctx *ctx = t->ctx;
  cleanup_free char *text = strndup(config, len);
  if (!text)
    oom();
  cleanup_json json_object *cfg = NULL;
  if (strlen(text) != len || cb_json_parse(text, &cfg, err) < 0 ||
      !json_object_is_type(cfg, json_type_object))
    return cb_error_wrap(err, "invalid image config");
  cleanup_strv char **diffs = cb_json_get_strv(cfg, "rootfs.diff_ids");
  for (char **d = diffs; d && *d; d++)
    if (!cb_digest_valid(*d))
      return cb_error_make(err, 0, "invalid image config: bad diff_id `%s`", *d);
  char digest[CB_DIGEST_LEN + 1];
  if (cb_sha256_buf(config, len, digest, err) < 0)
    return -1;
  memcpy(id, cb_digest_hex(digest), CB_ID_LEN + 1);

  cleanup_close int lfd = cb_image_store_dir(ctx, "layers", err);
  if (lfd < 0)
    return -1;
  for (char **d = diffs; d && *d; d++) {
    const char *hex = cb_digest_hex(*d);
    struct stat st;
    if (fstatat(lfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (layer_in_progress(lfd, hex, err))
        return -1;
      continue; /* already in the store: reuse it */
    }
    struct txn_layer *l = NULL;
    for (size_t i = 0; i < t->n; i++)
      if (!t->layers[i].moved && !strcmp(t->layers[i].diff_id, *d))
        l = &t->layers[i];
    if (!l)
      return cb_error_make(err, 0, "layer %s not found", *d);
    if (renameat(t->fd, l->name, lfd, hex) < 0)
      return cb_error_sys(err, "move layer %s into the store", *d);
    l->moved = true;
    *moved_any = true;
  }
  if (*moved_any)
    fsync(lfd);

  cleanup_close int ifd = cb_image_store_dir(ctx, "images", err);
  if (ifd < 0)
    return -1;
  struct stat st;
  if (fstatat(ifd, id, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (mkdirat(t->fd, "image", 0700) < 0)
      return cb_error_sys(err, "mkdir `%s/image`", t->dir);
    cleanup_close int dfd = openat(t->fd, "image", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
      return cb_error_sys(err, "open `%s/image`", t->dir);
    if (cb_write_file_atomic_at(dfd, "config.json", config, len, 0600, err) < 0)
      return -1;
    cleanup_json json_object *m = make_manifest(ctx, digest, len, diffs);
    if (cb_json_write_file_at(dfd, "manifest.json", m, err) < 0)
      return -1;
    if (renameat(t->fd, "image", ifd, id) < 0)
      return cb_error_sys(err, "move image %s into the store", id);
    fsync(ifd);
    *new_image = true;
  }
  return set_tags(ctx, id, refs, err);
}

int cb_image_txn_commit(struct cb_image_txn *t, const char *config, size_t len, char *const *refs,
                        char id[CB_ID_LEN + 1], cb_error_t *err) {
  /* Check the references before anything moves. */
  for (char *const *r = refs; r && *r; r++) {
    cleanup_free char *n = NULL, *tg = NULL;
    if (cb_image_parse_ref(*r, &n, &tg, err) < 0)
      return -1;
  }
  cleanup_close int lk = cb_lock(t->ctx, "images", 1, err);
  if (lk < 0)
    return -1;
  bool moved = false, created = false;
  if (commit_locked(t, config, len, refs, id, &moved, &created, err) == 0)
    return 0;
  /* Leave no image or layer behind. */
  cb_error_t e = NULL;
  if (created) {
    cleanup_close int ifd = cb_image_store_dir(t->ctx, "images", &e);
    if (ifd < 0 || cb_image_trash(t->ctx, ifd, id, &e) < 0)
      cb_error_release(&e);
  }
  if (moved && cb_image_gc_locked(t->ctx, &e) < 0)
    cb_error_release(&e);
  return -1;
}

int cb_image_import(const struct cb_ctx *ctx, int fd, const struct cb_image_import_opts *o,
                    char id[CB_ID_LEN + 1], cb_error_t *err) {
  int64_t now = cb_now_ns();
  cleanup_json json_object *cfg = cb_image_config_new(now);
  if (cb_image_apply_changes(cb_json_obj(cfg, "config"), o->changes, err) < 0)
    return -1;
  char *refs[2] = {(char *)o->ref, NULL};
  if (o->ref) {
    cleanup_free char *n = NULL, *t = NULL;
    if (cb_image_parse_ref(o->ref, &n, &t, err) < 0)
      return -1;
  }
  struct cb_image_txn *t = NULL;
  if (cb_image_txn_begin(ctx, "import", &t, err) < 0)
    return -1;
  char diff_id[CB_DIGEST_LEN + 1];
  int rc = -1;
  if (cb_image_txn_add_layer(t, fd, CB_EXTRACT_WHITEOUTS, diff_id, NULL, err) < 0)
    goto out;
  const char *msg = o->message && *o->message ? o->message : "Imported from -";
  char created[CB_RFC3339_LEN];
  cb_format_rfc3339nano(now, created);
  if (o->message && *o->message)
    cb_json_set_str(cfg, "comment", msg);
  json_object_array_add(cb_json_get(cfg, "rootfs.diff_ids"), json_object_new_string(diff_id));
  json_object *h = json_object_new_object();
  cb_json_set_str(h, "created", created);
  cb_json_set_str(h, "comment", msg);
  json_object_array_add(cb_json_get(cfg, "history"), h);
  size_t len;
  const char *bytes = json_object_to_json_string_length(
      cfg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  rc = cb_image_txn_commit(t, bytes, len, o->ref ? refs : NULL, id, err);
out:
  cb_image_txn_free(t);
  return rc;
}

int cb_image_tag(const struct cb_ctx *ctx, const char *id, const char *ref, cb_error_t *err) {
  cleanup_free char *n = NULL, *tg = NULL;
  if (cb_image_parse_ref(ref, &n, &tg, err) < 0)
    return -1;
  cleanup_close int lk = cb_lock(ctx, "images", 1, err);
  if (lk < 0)
    return -1;
  const char *hex = cb_digest_hex(id);
  cleanup_free char *p = cb_ctx_path(ctx, "images/%s/config.json", hex);
  if (!cb_image_is_full_id(hex) || access(p, F_OK) < 0)
    return cb_image_no_such(err, id);
  char *refs[2] = {(char *)ref, NULL};
  return set_tags(ctx, hex, refs, err);
}

/* ---- removal ------------------------------------------------------------------------------ */

struct users {
  struct cb_container **v;
  size_t n;
};

static const struct cb_container *first_user(const struct users *u, const char *hex,
                                             int running /* -1 any, 0 stopped, 1 running */) {
  for (size_t i = 0; i < u->n; i++) {
    const char *img = cb_json_get_str(u->v[i]->json, "Image", "");
    if (!cb_digest_valid(img) || strcmp(cb_digest_hex(img), hex))
      continue;
    if (running < 0 || (running == 1) == cb_container_is_running(u->v[i]))
      return u->v[i];
  }
  return NULL;
}

/* Containers created since the list was taken, their records as they are (a new container
 * does not run yet). A creator that holds the images lock shared from cb_image_locate to
 * writing its record (see image.h) cannot slip in after this. */
static void add_new_users(const struct cb_ctx *ctx, struct users *u) {
  cleanup_free char *cdir = cb_ctx_path(ctx, "containers");
  cleanup_dir DIR *d = opendir(cdir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (!cb_image_is_full_id(de->d_name))
      continue;
    bool known = false;
    for (size_t i = 0; i < u->n && !known; i++)
      known = !strcmp(u->v[i]->id, de->d_name);
    struct cb_container *c = NULL;
    cb_error_t e = NULL;
    if (known || cb_container_load(ctx, de->d_name, &c, &e) < 0) {
      cb_error_release(&e);
      continue;
    }
    u->v = xrealloc(u->v, (u->n + 1) * sizeof *u->v);
    u->v[u->n++] = c;
  }
}

static int untag(const struct cb_ctx *ctx, const char *key, char ***records, cb_error_t *err) {
  cleanup_json json_object *repos = NULL;
  if (cb_image_repos_read(ctx, &repos, err) < 0)
    return -1;
  json_object_object_del(repos, key);
  if (cb_image_repos_write(ctx, repos, err) < 0)
    return -1;
  cleanup_free char *line = xasprintf("Untagged: %s", key);
  cb_strv_append(records, line);
  return 0;
}

enum { CONFLICT_HARD = 1, CONFLICT_SOFT = 2, CONFLICT_SOFT_NO_REFS = 4 };

/* Docker's checkImageDeleteConflict. Returns 1 with err filled on a conflict; *used tells
 * whether a container is the reason. */
static int check_conflict(const struct cb_image *img, size_t ntags, const struct users *u, int mask,
                          bool *used, cb_error_t *err) {
  char s1[CB_SHORT_ID_LEN + 1], s2[CB_SHORT_ID_LEN + 1];
  const struct cb_container *c;
  cb_image_short_id(img->id, s1);
  *used = false;
  if ((mask & CONFLICT_HARD) && (c = first_user(u, img->id, 1))) {
    *used = true;
    cb_error_make(err, 0,
                  "conflict: unable to delete %s (cannot be forced) - image is being used by "
                  "running container %s",
                  s1, cb_image_short_id(c->id, s2));
    return 1;
  }
  if ((mask & CONFLICT_SOFT) && !(mask & CONFLICT_SOFT_NO_REFS) && ntags > 0) {
    cb_error_make(err, 0,
                  "conflict: unable to delete %s (must be forced) - image is referenced in "
                  "multiple repositories",
                  s1);
    return 1;
  }
  if ((mask & CONFLICT_SOFT) && (c = first_user(u, img->id, 0))) {
    *used = true;
    cb_error_make(err, 0,
                  "conflict: unable to delete %s (must be forced) - image is being used by "
                  "stopped container %s",
                  s1, cb_image_short_id(c->id, s2));
    return 1;
  }
  return 0;
}

/* The chain IDs of an image's layers (Docker's layer.CreateChainID). */
static char **chain_ids(char **diffs, cb_error_t *err) {
  char **v = xcalloc(1, sizeof *v);
  char prev[CB_DIGEST_LEN + 1] = "";
  for (char **d = diffs; d && *d; d++) {
    char cur[CB_DIGEST_LEN + 1];
    if (!prev[0]) {
      snprintf(cur, sizeof cur, "%s", *d);
    } else {
      cleanup_free char *s = xasprintf("%s %s", prev, *d);
      if (cb_sha256_buf(s, strlen(s), cur, err) < 0) {
        cb_strv_free(v);
        return NULL;
      }
    }
    cb_strv_append(&v, cur);
    memcpy(prev, cur, sizeof prev);
  }
  return v;
}

/* Docker's imageDeleteHelper: delete the image (its tags, then itself, then the layers no
 * one else uses). quiet: a tag was just removed; a conflict then ends silently unless the
 * image is left dangling and unused. */
static int delete_image(const struct cb_ctx *ctx, const struct cb_image *img, const struct users *u,
                        bool force, bool quiet, char ***records, cb_error_t *err) {
  cleanup_json json_object *repos = NULL;
  if (cb_image_repos_read(ctx, &repos, err) < 0)
    return -1;
  cleanup_strv char **tags = cb_image_repos_tags_of(repos, img->id);
  size_t ntags = cb_strv_len(tags);
  bool used;
  int mask = CONFLICT_HARD | (force ? 0 : CONFLICT_SOFT);
  if (check_conflict(img, ntags, u, mask, &used, err)) {
    if (quiet && (ntags > 0 || used)) {
      cb_error_release(err);
      return 0;
    }
    return -1;
  }
  for (char **t = tags; *t; t++)
    if (untag(ctx, *t, records, err) < 0)
      return -1;
  /* Which of its layers stay: those of other images and of containers. */
  cleanup_strv char **keep = NULL;
  int r = cb_image_layers_in_use(ctx, img->id, &keep, err);
  if (r < 0)
    return -1;
  cleanup_strv char **chains = chain_ids(img->diff_ids, err);
  if (!chains)
    return -1;
  cleanup_close int ifd = cb_image_store_dir(ctx, "images", err);
  if (ifd < 0 || cb_image_trash(ctx, ifd, img->id, err) < 0)
    return -1;
  cleanup_free char *line = xasprintf("Deleted: " CB_DIGEST_PREFIX "%s", img->id);
  cb_strv_append(records, line);
  if (r > 0)
    return 0; /* some container's layers are unknown: keep every layer */
  cleanup_close int lfd = cb_image_store_dir(ctx, "layers", err);
  if (lfd < 0)
    return -1;
  size_t n = cb_strv_len(img->diff_ids);
  for (size_t i = n; i-- > 0;) {
    const char *hex = cb_digest_hex(img->diff_ids[i]);
    if (cb_image_strv_has(keep, hex))
      continue;
    struct stat st;
    if (fstatat(lfd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (cb_image_trash(ctx, lfd, hex, err) < 0)
      return -1;
    cb_strv_append(&keep, hex); /* a layer listed twice goes once */
    cleanup_free char *l = xasprintf("Deleted: %s", chains[i]);
    cb_strv_append(records, l);
  }
  return 0;
}

static bool is_id_prefix(const char *hex, const char *ref) {
  if (cb_str_has_prefix(ref, CB_DIGEST_PREFIX))
    return cb_str_has_prefix(hex, ref + strlen(CB_DIGEST_PREFIX));
  return cb_str_has_prefix(hex, ref);
}

static int remove_locked(const struct cb_ctx *ctx, const char *ref, bool force,
                         const struct users *u, char ***records, cb_error_t *err) {
  cleanup_image struct cb_image *img = NULL;
  if (cb_image_locate(ctx, ref, &img, err) < 0)
    return -1;
  size_t ntags = cb_strv_len(img->tags);
  char s1[CB_SHORT_ID_LEN + 1], s2[CB_SHORT_ID_LEN + 1];
  bool removed_ref = false;
  if (!is_id_prefix(img->id, ref)) {
    /* A repository reference: untag it first. */
    const struct cb_container *c;
    if (!force && ntags == 1 && (c = first_user(u, img->id, -1)))
      return cb_error_make(err, 0,
                           "conflict: unable to remove repository reference \"%s\" (must "
                           "force) - container %s is using its referenced image %s",
                           ref, cb_image_short_id(c->id, s1), cb_image_short_id(img->id, s2));
    cleanup_free char *key = cb_image_normalize_ref(ref);
    if (!key)
      return cb_image_no_such(err, ref);
    if (untag(ctx, key, records, err) < 0)
      return -1;
    if (ntags > 1)
      return 0;
    removed_ref = true;
  } else if (ntags == 1) {
    /* An ID with a single tag: the tag goes along, unless something conflicts. */
    bool used;
    int mask = CONFLICT_HARD | (force ? 0 : CONFLICT_SOFT | CONFLICT_SOFT_NO_REFS);
    if (check_conflict(img, ntags, u, mask, &used, err))
      return -1;
    if (untag(ctx, img->tags[0], records, err) < 0)
      return -1;
  }
  return delete_image(ctx, img, u, force, removed_ref, records, err);
}

int cb_image_remove(const struct cb_ctx *ctx, const char *ref, bool force, char ***records,
                    cb_error_t *err) {
  /* The containers, their status made truthful, before the images lock (the container
   * code takes container locks, which come first). */
  struct users u = {0};
  if (cb_container_list(ctx, &u.v, &u.n, err) < 0)
    return -1;
  cleanup_strv char **recs = xcalloc(1, sizeof *recs);
  int rc;
  {
    cleanup_close int lk = cb_lock(ctx, "images", 1, err);
    rc = lk < 0 ? -1 : 0;
    if (rc == 0)
      add_new_users(ctx, &u);
    if (rc == 0)
      rc = remove_locked(ctx, ref, force, &u, &recs, err);
  }
  cb_container_list_free(u.v, u.n);
  if (rc == 0 && records)
    *records = steal_pointer(&recs);
  return rc;
}
