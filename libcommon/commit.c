/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A new image from a container's changes (see commit.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* The diff_id of an empty tar (1024 zero bytes): Docker's layer.DigestSHA256EmptyTar. */
#define EMPTY_TAR_DIGEST "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

/* ---- pausing ----------------------------------------------------------------------------- */

static int reload(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err) {
  struct cb_container *fresh = NULL;
  if (cb_container_load(ctx, c->id, &fresh, err) < 0)
    return -1;
  free(c->state.error);
  c->state = fresh->state;
  fresh->state.error = NULL;
  json_object_put(c->json);
  c->json = fresh->json;
  fresh->json = NULL;
  cb_container_free(fresh);
  return 0;
}

int cb_commit_pause(const struct cb_ctx *ctx, struct cb_container *c, bool *paused,
                    cb_error_t *err) {
  *paused = false;
  cb_container_refresh(ctx, c);
  cleanup_close int lk = cb_lock(ctx, c->id, 1, err);
  if (lk < 0 || reload(ctx, c, err) < 0)
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
  if (lk < 0 || reload(ctx, c, err) < 0)
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
  int rc;
  cb_error_t err;
};

static void *writer_main(void *arg) {
  struct writer *w = arg;
  /* A reader that gave up shows as EPIPE, never as a signal. */
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, NULL);
  struct cb_tar_write tw = {.flags = CB_TAR_WHITEOUTS};
  w->rc = cb_archive_write_tree(w->upper, "", w->out, &tw, &w->err);
  close(w->out);
  w->out = -1;
  return NULL;
}

/* Stream the upper dir as an OCI layer into the transaction. */
static int add_upper_layer(struct cb_image_txn *t, const char *upper,
                           char diff_id[CB_DIGEST_LEN + 1], cb_error_t *err) {
  cleanup_close int ufd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (ufd < 0)
    return cb_error_sys(err, "open the upper dir `%s`", upper);
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return cb_error_sys(err, "pipe");
  struct writer w = {.upper = ufd, .out = p[1]};
  pthread_t th;
  int e = pthread_create(&th, NULL, writer_main, &w);
  if (e) {
    close(p[0]);
    close(p[1]);
    return cb_error_make(err, e, "start the layer writer");
  }
  int rc = cb_image_txn_add_layer(t, p[0], CB_EXTRACT_WHITEOUTS, diff_id, NULL, err);
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
                       json_object **out, cb_error_t *err) {
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
  if (base_config(ctx, c, now, &cfg, err) < 0)
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
  if (!empty)
    json_object_array_add(ids, json_object_new_string(diff_id));

  json_object *history = cb_json_get(cfg, "history");
  if (!history || !json_object_is_type(history, json_type_array)) {
    history = json_object_new_array();
    json_object_object_add(cfg, "history", history);
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

  const char *s =
      json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  *out = xstrdup(s);
  *len = strlen(s);
  return 0;
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
  /* A stopped container stays stopped (and present) while its upper dir is read. */
  cleanup_close int lk = -1;
  if (!cb_container_is_running(c)) {
    lk = cb_lock(ctx, c->id, 0, err);
    if (lk < 0 || reload(ctx, c, err) < 0)
      return -1;
  }
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
  if (add_upper_layer(t, lp.upper, diff_id, err) < 0)
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
