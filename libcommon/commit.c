/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A new image from a container's changes (see commit.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "crowbar/archive.h"
#include "crowbar/cgroup.h"
#include "crowbar/cleanup.h"
#include "crowbar/commit.h"
#include "crowbar/digest.h"
#include "crowbar/format.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/lock.h"
#include "crowbar/rootfs.h"
#include "crowbar/stack.h"

/* The diff_id of an empty tar (1024 zero bytes): Docker's layer.DigestSHA256EmptyTar. */
#define EMPTY_TAR_DIGEST "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

/* ---- pausing ----------------------------------------------------------------------------- */

int cb_commit_pause(const struct cb_ctx *ctx, struct cb_container *c, bool *paused,
                    cb_error_t *err) {
  *paused = false;
  cb_container_refresh(ctx, c);
  cleanup_close int lk = cb_lock(ctx, c->id, 1, err);
  if (lk < 0 || cb_container_reload(ctx, c, err) < 0)
    return -1;
  if (c->state.status != CB_STATUS_RUNNING || !cb_container_pid_alive(c))
    return 0;
  if (cb_cgroup_freeze(c->id, true, err) < 0)
    return cb_error_wrap(err, "pause container %s", c->name);
  c->state.status = CB_STATUS_PAUSED;
  if (cb_container_save(ctx, c, err) < 0) {
    cb_error_t e2 = NULL;
    if (cb_cgroup_freeze(c->id, false, &e2) < 0)
      cb_error_release(&e2);
    return -1;
  }
  *paused = true;
  return 0;
}

int cb_commit_unpause(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err) {
  cleanup_close int lk = cb_lock(ctx, c->id, 1, err);
  if (lk < 0 || cb_container_reload(ctx, c, err) < 0)
    return -1;
  if (c->state.status != CB_STATUS_PAUSED)
    return 0; /* someone else unpaused (or stopped) it meanwhile */
  if (cb_cgroup_freeze(c->id, false, err) < 0)
    return cb_error_wrap(err, "unpause container %s", c->name);
  c->state.status = CB_STATUS_RUNNING;
  return cb_container_save(ctx, c, err);
}

/* ---- the layer ----------------------------------------------------------------------------- */

struct writer {
  int upper;
  int out;
  unsigned flags; /* CB_TAR_* */
  int rc;
  struct cb_tar_stats stats;
  cb_error_t err;
};

static void *writer_main(void *arg) {
  struct writer *w = arg;
  /* A reader that gave up shows as EPIPE, never as a signal. */
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
  struct cb_tar_write tw = {.flags = w->flags};
  w->rc = cb_archive_write_tree(w->upper, "", w->out, &tw, &w->err);
  w->stats = tw.stats;
  close(w->out);
  w->out = -1;
  return NULL;
}

/* Stream the upper dir as an OCI layer into the transaction: tar_flags CB_TAR_*, extract
 * flags CB_EXTRACT_* (CB_EXTRACT_NO_FILES: only its tar, for a commit by rename). */
static int add_upper_layer(struct cb_image_txn *t, const char *upper, unsigned tar_flags,
                           unsigned extract_flags, char diff_id[CB_DIGEST_LEN + 1],
                           struct cb_tar_stats *stats, cb_error_t *err) {
  cleanup_close int ufd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (ufd < 0)
    return cb_error_sys(err, "open the upper dir `%s`", upper);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return cb_error_sys(err, "pipe");
  struct writer w = {.upper = ufd, .out = p[1], .flags = CB_TAR_WHITEOUTS | tar_flags};
  pthread_t th;
  int e = pthread_create(&th, NULL, writer_main, &w);
  if (e) {
    close(p[0]);
    close(p[1]);
    return cb_error_make(err, e, "start the layer writer");
  }
  int rc =
      cb_image_txn_add_layer(t, p[0], CB_EXTRACT_WHITEOUTS | extract_flags, diff_id, NULL, err);
  close(p[0]); /* a writer still writing gets EPIPE and stops */
  pthread_join(th, NULL);
  if (w.rc < 0) {
    /* The writer's failure is the cause; the reader's is only its echo. */
    if (rc < 0)
      cb_error_release(err);
    *err = w.err;
    return cb_error_wrap(err, "write the layer");
  }
  if (rc < 0)
    return cb_error_wrap(err, "store the layer");
  if (stats)
    *stats = w.stats;
  return 0;
}

/* ---- the config ---------------------------------------------------------------------------- */

/* The image's layers as the container's LowerDir names them ($ROOT/layers/<hex>/diff,
 * bottom layer last), for a container whose image is gone. */
static json_object *diff_ids_from_lowers(const struct cb_container *c, cb_error_t *err) {
  struct cb_layer_paths lp;
  if (cb_container_layer_paths(c, &lp, err) < 0)
    return NULL;
  json_object *ids = json_object_new_array();
  size_t n = cb_strv_len(lp.lowers);
  for (size_t i = n; i-- > 0;) {
    const char *p = lp.lowers[i];
    const char *l = strstr(p, "/layers/");
    if (!l || !cb_str_has_suffix(p, "/diff"))
      continue; /* the init layer */
    const char *hex = l + strlen("/layers/");
    if (strlen(hex) != CB_ID_LEN + strlen("/diff") || !cb_is_hex(hex, CB_ID_LEN))
      continue;
    char d[CB_DIGEST_LEN + 1];
    snprintf(d, sizeof d, CB_DIGEST_PREFIX "%.*s", CB_ID_LEN, hex);
    json_object_array_add(ids, json_object_new_string(d));
  }
  cb_layer_paths_release(&lp);
  return ids;
}

static int base_config(const struct cb_ctx *ctx, const struct cb_container *c, int64_t now,
                       json_object **out, bool *has_own, cb_error_t *err) {
  *has_own = false;
  const char *image = cb_json_get_str(c->json, "Image", "");
  struct cb_image *img = NULL;
  cb_error_t e2 = NULL;
  if (*image && cb_image_locate(ctx, image, &img, &e2) == 0) {
    json_object *copy = NULL;
    if (json_object_deep_copy(img->config, &copy, NULL) < 0)
      oom();
    cb_image_free(img);
    *out = copy;
    return 0;
  }
  cb_error_release(&e2);
  json_object *cfg = cb_image_config_new(now);
  json_object *ids = diff_ids_from_lowers(c, err);
  if (!ids) {
    json_object_put(cfg);
    return -1;
  }
  json_object_object_add(cb_json_get(cfg, "rootfs"), "diff_ids", ids);
  *out = cfg;
  *has_own = true;
  return 0;
}

static char *join_strv(char **v) {
  size_t len = 1;
  for (char **p = v; p && *p; p++)
    len += strlen(*p) + 1;
  char *s = xcalloc(len, 1);
  for (char **p = v; p && *p; p++) {
    if (p != v)
      strcat(s, " ");
    strcat(s, *p);
  }
  return s;
}

static int make_config(const struct cb_ctx *ctx, const struct cb_container *c,
                       const struct cb_commit_opts *o, const char *diff_id, int64_t now, char **out,
                       size_t *len, cb_error_t *err) {
  cleanup_json json_object *cfg = NULL;
  bool base_has_own;
  if (base_config(ctx, c, now, &cfg, &base_has_own, err) < 0)
    return -1;
  char created[CB_RFC3339_LEN];
  cb_format_rfc3339nano(now, created);
  cb_json_set_str(cfg, "created", created);
  if (o->author && *o->author)
    cb_json_set_str(cfg, "author", o->author);
  else
    json_object_object_del(cfg, "author");
  if (o->message && *o->message)
    cb_json_set_str(cfg, "comment", o->message);
  else
    json_object_object_del(cfg, "comment");
  cb_json_set_str(cfg, "container", c->id);

  json_object *ccfg = cb_json_get(c->json, "Config");
  json_object *config = NULL;
  if (ccfg && json_object_deep_copy(ccfg, &config, NULL) < 0)
    oom();
  if (!config)
    config = json_object_new_object();
  json_object_object_add(cfg, "config", config);
  if (cb_image_apply_changes(config, o->changes, err) < 0)
    return -1;

  bool empty = !strcmp(diff_id, EMPTY_TAR_DIGEST);
  json_object *rootfs = cb_json_obj(cfg, "rootfs");
  cb_json_set_str(rootfs, "type", "layers");
  json_object *ids = cb_json_get(rootfs, "diff_ids");
  if (!ids || !json_object_is_type(ids, json_type_array)) {
    ids = json_object_new_array();
    json_object_object_add(rootfs, "diff_ids", ids);
  }
  json_object *history = cb_json_get(cfg, "history");
  if (!history || !json_object_is_type(history, json_type_array)) {
    history = json_object_new_array();
    json_object_object_add(cfg, "history", history);
  }
  /* The container's own layers (earlier commits by rename, stack.h), oldest first, between
   * its image's layers and the new one; a base made from the LowerDir has them already. */
  json_object *own = cb_json_get(c->json, "Crowbar.OwnLayers");
  size_t nown =
      own && json_object_is_type(own, json_type_array) ? json_object_array_length(own) : 0;
  for (size_t i = 0; i < nown; i++) {
    json_object *l = json_object_array_get_idx(own, i);
    const char *d = cb_json_get_str(l, "DiffID", "");
    if (!cb_digest_valid(d))
      return cb_error_make(err, 0, "container %s: a bad own layer `%s` in its record", c->name, d);
    if (!base_has_own)
      json_object_array_add(ids, json_object_new_string(d));
    json_object *oh = json_object_new_object();
    cb_json_set_str(oh, "created", cb_json_get_str(l, "Created", created));
    cb_json_set_str(oh, "created_by", cb_json_get_str(l, "CreatedBy", ""));
    if (*cb_json_get_str(l, "Author", ""))
      cb_json_set_str(oh, "author", cb_json_get_str(l, "Author", ""));
    if (*cb_json_get_str(l, "Comment", ""))
      cb_json_set_str(oh, "comment", cb_json_get_str(l, "Comment", ""));
    json_object_array_add(history, oh);
  }
  json_object *h = json_object_new_object();
  cb_json_set_str(h, "created", created);
  cleanup_strv char **cmd = cb_json_get_strv(c->json, "Config.Cmd");
  cleanup_free char *created_by = join_strv(cmd);
  cb_json_set_str(h, "created_by", created_by);
  if (o->author && *o->author)
    cb_json_set_str(h, "author", o->author);
  if (o->message && *o->message)
    cb_json_set_str(h, "comment", o->message);
  if (empty)
    cb_json_set_bool(h, "empty_layer", true);
  json_object_array_add(history, h);
  if (!empty)
    json_object_array_add(ids, json_object_new_string(diff_id));

  const char *s =
      json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  *out = xstrdup(s);
  *len = strlen(s);
  return 0;
}

/* ---- commit by rename ---------------------------------------------------------------------- */

/* Tests only: die here (SIGKILL) when CROWBAR_TEST_COMMIT_KILL names this step, as a kill -9
 * of the commit would, to check that every step leaves a sound container and store. */
static void test_kill_point(const char *step) {
  const char *want = getenv("CROWBAR_TEST_COMMIT_KILL");
  if (want && !strcmp(want, step))
    raise(SIGKILL);
}

/* The upper dir's own folder (mode, owner, times, xattrs but overlay's) onto the empty
 * folder that takes its place: the root of the container's view is the upper dir's. */
static int copy_root(const char *from, const char *to, cb_error_t *err) {
  struct stat st;
  if (lstat(from, &st) < 0)
    return cb_error_sys(err, "stat `%s`", from);
  if (lchown(to, st.st_uid, st.st_gid) < 0 || chmod(to, st.st_mode & 07777) < 0)
    return cb_error_sys(err, "set the owner and mode of `%s`", to);
  char names[4096];
  ssize_t n = llistxattr(from, names, sizeof names);
  for (char *x = names; n > 0 && x < names + n; x += strlen(x) + 1) {
    if (!strncmp(x, "trusted.overlay.", strlen("trusted.overlay.")))
      continue;
    char v[4096];
    ssize_t vl = lgetxattr(from, x, v, sizeof v);
    if (vl >= 0 && lsetxattr(to, x, v, (size_t)vl, 0) < 0)
      return cb_error_sys(err, "copy the xattr %s to `%s`", x, to);
  }
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  if (utimensat(AT_FDCWD, to, ts, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_error_sys(err, "set the times of `%s`", to);
  return 0;
}

/* The longest overlay mount data the engine can pass (mount(2) takes one page). */
#define MOUNT_DATA_MAX 4095

/* Whether the stack with one more lower layer (of about this path's length) still fits in
 * the shim's mount options: "lowerdir=...,upperdir=...,workdir=...". */
static bool stack_fits(const struct cb_layer_paths *lp, size_t new_layer_len) {
  size_t len = strlen("lowerdir=,upperdir=,workdir=") + strlen(lp->upper) + strlen(lp->work) +
               new_layer_len + 1;
  for (char **p = lp->lowers; *p; p++)
    len += strlen(*p) + 1;
  return len <= MOUNT_DATA_MAX;
}

struct place {
  const struct cb_ctx *ctx;
  struct cb_container *c;
  const char *upper;
  const char *diff_id;
  json_object *history; /* the new own layer's entry (Crowbar.OwnLayers) */
};

/* Record the new stack, then exchange the upper dir with the layer's empty diff/ folder
 * (see stack.h). Runs under the images lock, the container's lock held. */
static int place_upper(const char *layer_dir, void *arg, cb_error_t *err) {
  struct place *p = arg;
  struct cb_container *c = p->c;
  test_kill_point("placed");
  cleanup_free char *diff = xasprintf("%s/diff", layer_dir);
  struct stat ds;
  if (lstat(diff, &ds) < 0)
    return cb_error_sys(err, "stat `%s`", diff);
  /* The record first: it names the (empty) layer above the others, and the marker. */
  json_object *saved = NULL;
  if (json_object_deep_copy(c->json, &saved, NULL) < 0)
    oom();
  json_object *data = cb_json_obj(cb_json_obj(c->json, "GraphDriver"), "Data");
  const char *lower = cb_json_get_str(data, "LowerDir", "");
  cleanup_free char *nlower = *lower ? xasprintf("%s:%s", diff, lower) : xstrdup(diff);
  cb_json_set_str(data, "LowerDir", nlower);
  json_object *cb = cb_json_obj(c->json, "Crowbar");
  json_object *own = cb_json_get(cb, "OwnLayers");
  if (!own || !json_object_is_type(own, json_type_array)) {
    own = json_object_new_array();
    json_object_object_add(cb, "OwnLayers", own);
  }
  json_object_array_add(own, json_object_get(p->history));
  json_object *m = json_object_new_object();
  cb_json_set_str(m, "Layer", p->diff_id);
  cb_json_set_int(m, "Dev", (int64_t)ds.st_dev);
  cb_json_set_int(m, "Ino", (int64_t)ds.st_ino);
  json_object_object_add(cb, "Committing", m);
  if (cb_container_save(p->ctx, c, err) < 0) {
    json_object_put(c->json);
    c->json = saved;
    return -1;
  }
  test_kill_point("recorded");
  /* Then the files, in one step: the upper dir becomes the layer, the empty folder the
   * upper dir. */
  if (renameat2(AT_FDCWD, p->upper, AT_FDCWD, diff, RENAME_EXCHANGE) < 0) {
    cb_error_sys(err, "move the upper dir `%s` into the store", p->upper);
    json_object_put(c->json);
    c->json = saved;
    cb_error_t e2 = NULL;
    if (cb_container_save(p->ctx, c, &e2) < 0) {
      /* The record still names the layer: the container's next start finishes. */
      cb_error_release(&e2);
      return -2;
    }
    return -1;
  }
  json_object_put(saved);
  test_kill_point("exchanged");
  return 0;
}

/* Commit a stopped container (its lock held, exclusive): the layer's tar is read from the
 * upper dir as it is, then, unless the store has that layer already or the upper dir cannot
 * be a layer as it is, the upper dir itself becomes the layer (no file is copied) and the
 * container gets an empty one, the layer just below it. */
static int commit_stopped(const struct cb_ctx *ctx, struct cb_container *c,
                          const struct cb_commit_opts *o, char id[CB_ID_LEN + 1], cb_error_t *err) {
  struct cb_layer_paths lp;
  if (cb_container_layer_paths(c, &lp, err) < 0)
    return -1;
  int64_t now = cb_now_ns();
  struct cb_image_txn *t = NULL;
  int rc = -1;
  bool renamed = false;
  char diff_id[CB_DIGEST_LEN + 1];
  struct cb_tar_stats stats = {0};
  cleanup_free char *config = NULL;
  cleanup_free char *layers = cb_ctx_path(ctx, "layers");
  cleanup_json json_object *history = NULL;
  size_t len = 0;
  if (cb_mkdir_p(layers, 0700, err) < 0 || cb_image_txn_begin(ctx, "commit", &t, err) < 0)
    goto out;
  /* The tar (overlay's upper-only xattrs dropped from the files as they are read). */
  if (add_upper_layer(t, lp.upper, CB_TAR_STRIP_UPPER, CB_EXTRACT_NO_FILES, diff_id, &stats, err) <
      0)
    goto out;
  test_kill_point("tar");
  if (make_config(ctx, c, o, diff_id, now, &config, &len, err) < 0)
    goto out;
  if (strcmp(diff_id, EMPTY_TAR_DIGEST)) {
    struct stat us, ls;
    const char *force = getenv("CROWBAR_TEST_COMMIT_COPY");
    bool by_rename = !(force && *force) && stats.overlay_kept == 0 &&
                     stack_fits(&lp, strlen(layers) + CB_ID_LEN + strlen("//diff")) &&
                     stat(lp.upper, &us) == 0 && stat(layers, &ls) == 0 && us.st_dev == ls.st_dev;
    int placed = 1;
    if (by_rename) {
      cleanup_free char *newupper = cb_image_txn_layer_diff(t, diff_id);
      if (!newupper || copy_root(lp.upper, newupper, err) < 0)
        goto out;
      char created[CB_RFC3339_LEN];
      cb_format_rfc3339nano(now, created);
      cleanup_strv char **cmd = cb_json_get_strv(c->json, "Config.Cmd");
      cleanup_free char *created_by = join_strv(cmd);
      history = json_object_new_object();
      cb_json_set_str(history, "DiffID", diff_id);
      cb_json_set_str(history, "Created", created);
      cb_json_set_str(history, "CreatedBy", created_by);
      cb_json_set_str(history, "Author", o->author ? o->author : "");
      cb_json_set_str(history, "Comment", o->message ? o->message : "");
      struct place p = {ctx, c, lp.upper, diff_id, history};
      placed = cb_image_txn_place_layer(t, diff_id, place_upper, &p, err);
      if (placed < 0)
        goto out;
      renamed = placed == 0;
    }
    /* Not by rename: the store has the layer already (the image uses that one), or its
     * files are unpacked from the tar, as for a running container. */
    if (placed > 0 && !by_rename) {
      cleanup_free char *lp0 = cb_ctx_path(ctx, "layers/%s", cb_digest_hex(diff_id));
      if (access(lp0, F_OK) < 0 &&
          cb_image_txn_unpack_layer(t, diff_id, CB_EXTRACT_WHITEOUTS, err) < 0)
        goto out;
    }
  }
  char *refs[2] = {(char *)o->ref, NULL};
  rc = cb_image_txn_commit(t, config, len, o->ref ? refs : NULL, id, err);
  test_kill_point("imaged");
out:
  /* The files moved: whatever became of the image, the marker goes (stack.h). */
  if (renamed) {
    cb_error_t e2 = NULL;
    if (cb_container_finish_commit(ctx, c, rc < 0 ? &e2 : err) < 0) {
      if (rc < 0)
        cb_error_release(&e2);
      rc = -1;
    }
  }
  cb_image_txn_free(t);
  cb_layer_paths_release(&lp);
  return rc;
}

/* ---- commit ------------------------------------------------------------------------------- */

int cb_container_commit(const struct cb_ctx *ctx, struct cb_container *c,
                        const struct cb_commit_opts *o, char id[CB_ID_LEN + 1], cb_error_t *err) {
  if (o->ref) {
    cleanup_free char *n = NULL, *tg = NULL;
    if (cb_image_parse_ref(o->ref, &n, &tg, err) < 0)
      return -1;
  }
  /* Check the changes before any work. */
  {
    cleanup_json json_object *probe = json_object_new_object();
    if (cb_image_apply_changes(probe, o->changes, err) < 0)
      return -1;
  }
  cb_container_refresh(ctx, c);
  /* A stopped container stays stopped (and present) while it is committed; its lock is
   * exclusive, since a commit by rename changes its layers. */
  if (!cb_container_is_running(c)) {
    cleanup_close int lk = cb_lock(ctx, c->id, 1, err);
    if (lk < 0 || cb_container_reload(ctx, c, err) < 0)
      return -1;
    cb_container_refresh_locked(ctx, c);
    if (!cb_container_is_running(c)) {
      if (cb_container_finish_commit(ctx, c, err) < 0)
        return -1;
      return commit_stopped(ctx, c, o, id, err);
    }
    /* Started meanwhile: committed as it runs. */
  }
  /* A running (or paused) container: its upper dir is live, its files are copied. */
  struct cb_layer_paths lp;
  if (cb_container_layer_paths(c, &lp, err) < 0)
    return -1;
  int64_t now = cb_now_ns();
  struct cb_image_txn *t = NULL;
  int rc = -1;
  char diff_id[CB_DIGEST_LEN + 1];
  cleanup_free char *config = NULL;
  size_t len = 0;
  if (cb_image_txn_begin(ctx, "commit", &t, err) < 0)
    goto out;
  if (add_upper_layer(t, lp.upper, 0, 0, diff_id, NULL, err) < 0)
    goto out;
  if (make_config(ctx, c, o, diff_id, now, &config, &len, err) < 0)
    goto out;
  char *refs[2] = {(char *)o->ref, NULL};
  rc = cb_image_txn_commit(t, config, len, o->ref ? refs : NULL, id, err);
out:
  cb_image_txn_free(t);
  cb_layer_paths_release(&lp);
  return rc;
}
