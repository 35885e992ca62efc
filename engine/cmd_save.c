/* SPDX-License-Identifier: GPL-2.0-or-later */
/* save: images as a `docker save` archive (the layout Docker 20.10 writes) or as an OCI
 * image-layout archive.
 *
 * Docker format:
 *   <v1id>/VERSION, <v1id>/json, <v1id>/layer.tar   one folder per layer of each image,
 *                                                   named by its legacy v1 ID; a layer
 *                                                   already written is a symlink to it
 *   <imageid>.json                                  the config, byte for byte
 *   manifest.json                                   [{"Config","RepoTags","Layers"}]
 *   repositories                                    {"repo":{"tag":"<top v1id>"}}
 * OCI format:
 *   blobs/sha256/<hex>  configs, manifests and uncompressed layer tars, each once
 *   index.json          one manifest descriptor per tag (io.containerd.image.name and
 *                       org.opencontainers.image.ref.name, as Docker 25 writes them), or
 *                       one without annotations for an untagged image
 *   oci-layout
 * Members are written in the order a directory walk gives (as Docker's archive.Tar). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/context.h"
#include "crowbar/digest.h"
#include "crowbar/format.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/lock.h"
#include "crowbar/outfile.h"
#include "crowbar/util.h"
#include "crowbar/verb.h"

CB_VERB(save, "Save one or more images to a tar archive (streamed to STDOUT by default)");

#define EPOCH_RFC3339 "1970-01-01T00:00:00Z"
#define ZERO_RFC3339 "0001-01-01T00:00:00Z"
#define COPY_BUF (1024 * 1024)

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) {
  interrupted = sig;
}

static void usage(FILE *out) {
  fputs("Usage: crowbar save [OPTIONS] IMAGE [IMAGE...]\n\n"
        "Save one or more images to a tar archive (streamed to STDOUT by default).\n\n"
        "Options:\n"
        "  -o, --output FILE          write to FILE instead of STDOUT\n"
        "      --format docker|oci    a `docker save` archive (the default) or an OCI\n"
        "                             image-layout archive\n"
        "      --help                 show this help\n\n"
        "See crowbar-save(1).\n",
        out);
}

/* ---- which images ------------------------------------------------------------------------ */

struct saved_image {
  char id[CB_ID_LEN + 1];
  char **tags;  /* "repo:tag", in the order asked */
  char *config; /* the config's exact bytes */
  size_t config_len;
  json_object *cfg; /* parsed */
  char **diff_ids;
  int64_t created_s; /* the config's creation time, for member times */
};

struct layer_file {
  char diff_id[CB_DIGEST_LEN + 1];
  int fd;
  int64_t size;
  char *written_as; /* the member that holds it, once written */
};

struct save {
  const struct cb_ctx *ctx;
  struct saved_image *img;
  size_t n;
  struct layer_file *layers;
  size_t nlayers;
};

static struct saved_image *add_image(struct save *s, const char *id) {
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->img[i].id, id))
      return &s->img[i];
  s->img = xrealloc(s->img, (s->n + 1) * sizeof *s->img);
  struct saved_image *im = &s->img[s->n++];
  memset(im, 0, sizeof *im);
  snprintf(im->id, sizeof im->id, "%s", id);
  im->tags = xcalloc(1, sizeof(char *));
  return im;
}

static void add_tag(struct saved_image *im, const char *tag) {
  for (char **t = im->tags; *t; t++)
    if (!strcmp(*t, tag))
      return;
  cb_strv_append(&im->tags, tag);
}

static bool looks_like_id(const char *arg) {
  const char *h = cb_str_has_prefix(arg, CB_DIGEST_PREFIX) ? arg + strlen(CB_DIGEST_PREFIX) : arg;
  if (h != arg)
    return true; /* "sha256:..." is always an ID (prefix) */
  return strlen(h) == CB_ID_LEN && cb_is_hex(h, CB_ID_LEN);
}

/* Docker's parseNames: an ID (or "sha256:" prefix) saves the image untagged; REPO:TAG
 * saves that tag; a bare REPO saves every tag of that repository, or, when it has none,
 * the image whose ID starts with it. */
static int resolve_arg(struct save *s, const char *arg, struct cb_image **all, size_t nall,
                       cb_error_t *err) {
  if (looks_like_id(arg)) {
    cleanup_image struct cb_image *img = NULL;
    if (cb_image_locate(s->ctx, arg, &img, err) < 0)
      return -1;
    add_image(s, img->id);
    return 0;
  }
  cleanup_free char *name = NULL, *tag = NULL;
  if (cb_image_parse_ref(arg, &name, &tag, err) < 0)
    return -1;
  const char *last = strrchr(arg, '/');
  bool name_only = !strchr(last ? last : arg, ':');
  if (name_only) {
    size_t nl = strlen(name);
    bool found = false;
    for (size_t i = 0; i < nall; i++)
      for (char **t = all[i]->tags; *t; t++)
        if (!strncmp(*t, name, nl) && (*t)[nl] == ':') {
          add_tag(add_image(s, all[i]->id), *t);
          found = true;
        }
    if (found)
      return 0;
    cleanup_image struct cb_image *img = NULL;
    if (cb_image_locate(s->ctx, arg, &img, err) < 0)
      return -1;
    add_image(s, img->id);
    return 0;
  }
  cleanup_image struct cb_image *img = NULL;
  if (cb_image_locate(s->ctx, arg, &img, err) < 0)
    return -1;
  cleanup_free char *norm = xasprintf("%s:%s", name, tag);
  add_tag(add_image(s, img->id), norm);
  return 0;
}

/* Read each image's config and open its layer tars. Run under the images lock (shared):
 * once open, the files stay readable even if the image is removed meanwhile. */
static int open_images(struct save *s, cb_error_t *err) {
  for (size_t i = 0; i < s->n; i++) {
    struct saved_image *im = &s->img[i];
    cleanup_free char *p = cb_ctx_path(s->ctx, "images/%s/config.json", im->id);
    if (cb_read_file(p, &im->config, &im->config_len, err) < 0)
      return cb_error_wrap(err, "image %s", im->id);
    char digest[CB_DIGEST_LEN + 1];
    if (cb_sha256_buf(im->config, im->config_len, digest, err) < 0)
      return -1;
    if (strcmp(cb_digest_hex(digest), im->id))
      return cb_error_make(err, 0, "image %s: the stored config does not match its ID", im->id);
    if (cb_json_parse(im->config, &im->cfg, err) < 0)
      return cb_error_wrap(err, "image %s", im->id);
    im->diff_ids = cb_json_get_strv(im->cfg, "rootfs.diff_ids");
    if (!im->diff_ids)
      im->diff_ids = xcalloc(1, sizeof(char *));
    int64_t ns = 0;
    if (cb_parse_rfc3339(cb_json_get_str(im->cfg, "created", ""), &ns) == 0)
      im->created_s = ns / 1000000000;
    for (char **d = im->diff_ids; *d; d++) {
      if (!cb_digest_valid(*d))
        return cb_error_make(err, 0, "image %s: invalid diff_id `%s`", im->id, *d);
      bool have = false;
      for (size_t k = 0; k < s->nlayers; k++)
        if (!strcmp(s->layers[k].diff_id, *d))
          have = true;
      if (have)
        continue;
      cleanup_free char *lp = cb_ctx_path(s->ctx, "layers/%s/layer.tar", cb_digest_hex(*d));
      int fd = open(lp, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        return cb_error_sys(err, "image %s: open the tar of layer %s", im->id, *d);
      struct stat st;
      if (fstat(fd, &st) < 0) {
        close(fd);
        return cb_error_sys(err, "stat `%s`", lp);
      }
      s->layers = xrealloc(s->layers, (s->nlayers + 1) * sizeof *s->layers);
      struct layer_file *l = &s->layers[s->nlayers++];
      memset(l, 0, sizeof *l);
      snprintf(l->diff_id, sizeof l->diff_id, "%s", *d);
      l->fd = fd;
      l->size = st.st_size;
    }
  }
  return 0;
}

static struct layer_file *find_layer(struct save *s, const char *diff_id) {
  for (size_t k = 0; k < s->nlayers; k++)
    if (!strcmp(s->layers[k].diff_id, diff_id))
      return &s->layers[k];
  return NULL;
}

static void save_release(struct save *s) {
  for (size_t i = 0; i < s->n; i++) {
    cb_strv_free(s->img[i].tags);
    free(s->img[i].config);
    if (s->img[i].cfg)
      json_object_put(s->img[i].cfg);
    cb_strv_free(s->img[i].diff_ids);
  }
  free(s->img);
  for (size_t k = 0; k < s->nlayers; k++) {
    if (s->layers[k].fd >= 0)
      close(s->layers[k].fd);
    free(s->layers[k].written_as);
  }
  free(s->layers);
}

/* ---- Go's encoding/json, as json.Marshal writes it (HTML escaped) ------------------------ */

static char *go_marshal(json_object *o) {
  cleanup_free char *s = cb_json_go_string(o, 0);
  size_t extra = 0;
  for (const char *p = s; *p; p++)
    if (*p == '<' || *p == '>' || *p == '&')
      extra += 5;
  char *out = xmalloc(strlen(s) + extra + 1), *q = out;
  for (const char *p = s; *p; p++) {
    switch (*p) {
    case '<': q = stpcpy(q, "\\u003c"); break;
    case '>': q = stpcpy(q, "\\u003e"); break;
    case '&': q = stpcpy(q, "\\u0026"); break;
    default: *q++ = *p;
    }
  }
  *q = '\0';
  return out;
}

/* The value of key in o, matched as Go's decoder does (exact, else case-insensitive). */
static json_object *go_field(json_object *o, const char *key) {
  if (!o || !json_object_is_type(o, json_type_object))
    return NULL;
  json_object *v = NULL;
  if (json_object_object_get_ex(o, key, &v))
    return v;
  json_object_object_foreach(o, k, val) {
    if (!strcasecmp(k, key))
      return val;
  }
  return NULL;
}

static json_object *go_string(json_object *v) {
  return json_object_new_string(json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                                         : "");
}

static json_object *go_bool(json_object *v) {
  return json_object_new_boolean(json_object_is_type(v, json_type_boolean) &&
                                 json_object_get_boolean(v));
}

/* []string: an array stays an array (even empty); anything else is null. A StrSlice also
 * takes a single string. */
static json_object *go_strv(json_object *v, bool strslice) {
  if (strslice && json_object_is_type(v, json_type_string)) {
    json_object *a = json_object_new_array();
    json_object_array_add(a, json_object_new_string(json_object_get_string(v)));
    return a;
  }
  if (!json_object_is_type(v, json_type_array))
    return NULL;
  json_object *a = json_object_new_array();
  for (size_t i = 0; i < json_object_array_length(v); i++)
    json_object_array_add(a, go_string(json_object_array_get_idx(v, i)));
  return a;
}

static int cmp_strp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A Go map, keys sorted: values {} (a set) or strings. */
static json_object *go_map(json_object *v, bool set) {
  if (!json_object_is_type(v, json_type_object))
    return NULL;
  cleanup_strv char **keys = xcalloc(1, sizeof(char *));
  json_object_object_foreach(v, k, val) {
    (void)val;
    cb_strv_append(&keys, k);
  }
  size_t n = cb_strv_len(keys);
  qsort(keys, n, sizeof *keys, cmp_strp);
  json_object *m = json_object_new_object();
  for (size_t i = 0; i < n; i++) {
    json_object *x = NULL;
    json_object_object_get_ex(v, keys[i], &x);
    json_object_object_add(m, keys[i], set ? json_object_new_object() : go_string(x));
  }
  return m;
}

static void add_nonzero_int(json_object *o, const char *key, json_object *v) {
  if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) != 0)
    json_object_object_add(o, key, json_object_new_int64(json_object_get_int64(v)));
}

/* Docker's container.Config as json.Marshal writes it (fields in struct order, omitempty
 * where the struct says so), from a config object as found in an image config (or NULL:
 * the zero Config). */
static json_object *go_container_config(json_object *c) {
  json_object *o = json_object_new_object();
  json_object *v;
  json_object_object_add(o, "Hostname", go_string(go_field(c, "Hostname")));
  json_object_object_add(o, "Domainname", go_string(go_field(c, "Domainname")));
  json_object_object_add(o, "User", go_string(go_field(c, "User")));
  json_object_object_add(o, "AttachStdin", go_bool(go_field(c, "AttachStdin")));
  json_object_object_add(o, "AttachStdout", go_bool(go_field(c, "AttachStdout")));
  json_object_object_add(o, "AttachStderr", go_bool(go_field(c, "AttachStderr")));
  json_object *ports = go_map(go_field(c, "ExposedPorts"), true);
  if (ports && json_object_object_length(ports) > 0)
    json_object_object_add(o, "ExposedPorts", ports);
  else if (ports)
    json_object_put(ports);
  json_object_object_add(o, "Tty", go_bool(go_field(c, "Tty")));
  json_object_object_add(o, "OpenStdin", go_bool(go_field(c, "OpenStdin")));
  json_object_object_add(o, "StdinOnce", go_bool(go_field(c, "StdinOnce")));
  json_object_object_add(o, "Env", go_strv(go_field(c, "Env"), false));
  json_object_object_add(o, "Cmd", go_strv(go_field(c, "Cmd"), true));
  if ((v = go_field(c, "Healthcheck")) && json_object_is_type(v, json_type_object)) {
    json_object *h = json_object_new_object();
    json_object *test = go_strv(go_field(v, "Test"), false);
    if (test && json_object_array_length(test) > 0)
      json_object_object_add(h, "Test", test);
    else if (test)
      json_object_put(test);
    add_nonzero_int(h, "Interval", go_field(v, "Interval"));
    add_nonzero_int(h, "Timeout", go_field(v, "Timeout"));
    add_nonzero_int(h, "StartPeriod", go_field(v, "StartPeriod"));
    add_nonzero_int(h, "Retries", go_field(v, "Retries"));
    json_object_object_add(o, "Healthcheck", h);
  }
  if ((v = go_field(c, "ArgsEscaped")) && json_object_get_boolean(v))
    json_object_object_add(o, "ArgsEscaped", json_object_new_boolean(1));
  json_object_object_add(o, "Image", go_string(go_field(c, "Image")));
  json_object_object_add(o, "Volumes", go_map(go_field(c, "Volumes"), true));
  json_object_object_add(o, "WorkingDir", go_string(go_field(c, "WorkingDir")));
  json_object_object_add(o, "Entrypoint", go_strv(go_field(c, "Entrypoint"), true));
  if ((v = go_field(c, "NetworkDisabled")) && json_object_get_boolean(v))
    json_object_object_add(o, "NetworkDisabled", json_object_new_boolean(1));
  if ((v = go_field(c, "MacAddress")) && json_object_is_type(v, json_type_string) &&
      *json_object_get_string(v))
    json_object_object_add(o, "MacAddress", go_string(v));
  json_object_object_add(o, "OnBuild", go_strv(go_field(c, "OnBuild"), false));
  json_object_object_add(o, "Labels", go_map(go_field(c, "Labels"), false));
  if ((v = go_field(c, "StopSignal")) && json_object_is_type(v, json_type_string) &&
      *json_object_get_string(v))
    json_object_object_add(o, "StopSignal", go_string(v));
  if ((v = go_field(c, "StopTimeout")) && json_object_is_type(v, json_type_int))
    json_object_object_add(o, "StopTimeout", json_object_new_int64(json_object_get_int64(v)));
  json_object *shell = go_strv(go_field(c, "Shell"), true);
  if (shell && json_object_array_length(shell) > 0)
    json_object_object_add(o, "Shell", shell);
  else if (shell)
    json_object_put(shell);
  return o;
}

/* Go's time.Time as it marshals the config's "created" (RFC 3339, nanoseconds trimmed). */
static char *go_created(json_object *cfg) {
  const char *s = cb_json_get_str(cfg, "created", NULL);
  int64_t ns;
  if (!s || cb_parse_rfc3339(s, &ns) < 0)
    return xstrdup(ZERO_RFC3339);
  if (!cb_str_has_suffix(s, "Z"))
    return xstrdup(s);
  if (ns == 0)
    return xstrdup(EPOCH_RFC3339);
  char buf[CB_RFC3339_LEN];
  cb_format_rfc3339nano(ns, buf);
  return xstrdup(buf);
}

static void add_nonempty_str(json_object *o, const char *key, json_object *cfg, const char *from) {
  const char *v = cb_json_get_str(cfg, from, "");
  if (*v)
    json_object_object_add(o, key, json_object_new_string(v));
}

/* The fields of Docker's image.V1Image for a layer, in struct order, without "id" and
 * "parent": for the top layer from the image config, for the others only a zero creation
 * time (Docker keeps them for pre-1.9 clients). with_os adds "os" (the `json` file has it,
 * the v1 ID of a lower layer does not). */
static json_object *v1_fields(const struct saved_image *im, bool top, bool with_os) {
  json_object *o = json_object_new_object();
  json_object *cfg = im->cfg;
  if (!top) {
    json_object_object_add(o, "created", json_object_new_string(EPOCH_RFC3339));
    json_object_object_add(o, "container_config", go_container_config(NULL));
    if (with_os)
      add_nonempty_str(o, "os", cfg, "os");
    return o;
  }
  add_nonempty_str(o, "comment", cfg, "comment");
  cleanup_free char *created = go_created(cfg);
  json_object_object_add(o, "created", json_object_new_string(created));
  add_nonempty_str(o, "container", cfg, "container");
  json_object_object_add(o, "container_config",
                         go_container_config(cb_json_get(cfg, "container_config")));
  add_nonempty_str(o, "docker_version", cfg, "docker_version");
  add_nonempty_str(o, "author", cfg, "author");
  json_object *c = cb_json_get(cfg, "config");
  if (c && json_object_is_type(c, json_type_object))
    json_object_object_add(o, "config", go_container_config(c));
  add_nonempty_str(o, "architecture", cfg, "architecture");
  add_nonempty_str(o, "variant", cfg, "variant");
  add_nonempty_str(o, "os", cfg, "os");
  json_object *size = cb_json_get(cfg, "Size");
  if (size && json_object_is_type(size, json_type_int) && json_object_get_int64(size))
    json_object_object_add(o, "Size", json_object_new_int64(json_object_get_int64(size)));
  return o;
}

/* Docker's v1.CreateID: sha256 of the V1Image's fields plus "layer_id" (the chain ID)
 * and "parent" (the previous v1 ID), keys sorted as a Go map marshals them. */
static int v1_create_id(json_object *fields, const char *chain_id, const char *parent,
                        char out[CB_DIGEST_LEN + 1], cb_error_t *err) {
  cleanup_strv char **keys = xcalloc(1, sizeof(char *));
  json_object_object_foreach(fields, k, val) {
    (void)val;
    cb_strv_append(&keys, k);
  }
  cb_strv_append(&keys, "layer_id");
  if (parent)
    cb_strv_append(&keys, "parent");
  size_t n = cb_strv_len(keys);
  qsort(keys, n, sizeof *keys, cmp_strp);
  cleanup_json json_object *m = json_object_new_object();
  for (size_t i = 0; i < n; i++) {
    json_object *v = NULL;
    if (!strcmp(keys[i], "layer_id"))
      v = json_object_new_string(chain_id);
    else if (!strcmp(keys[i], "parent"))
      v = json_object_new_string(parent);
    else
      v = json_object_get(json_object_object_get(fields, keys[i]));
    json_object_object_add(m, keys[i], v);
  }
  cleanup_free char *text = go_marshal(m);
  return cb_sha256_buf(text, strlen(text), out, err);
}

/* The `json` file of a layer folder: id, parent, then the fields. */
static char *v1_json(json_object *fields, const char *id_hex, const char *parent_hex) {
  cleanup_json json_object *o = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_string(id_hex));
  if (parent_hex)
    json_object_object_add(o, "parent", json_object_new_string(parent_hex));
  json_object_object_foreach(fields, k, val) {
    json_object_object_add(o, k, json_object_get(val));
  }
  return go_marshal(o);
}

/* ---- the members ------------------------------------------------------------------------ */

enum member_kind { M_DIR, M_DATA, M_LAYER, M_SYMLINK };

struct member {
  char *path;
  enum member_kind kind;
  char *data; /* M_DATA: the bytes; M_SYMLINK: the target */
  size_t len;
  struct layer_file *layer; /* M_LAYER */
  int64_t mtime;
};

struct members {
  struct member *v;
  size_t n;
};

static struct member *member_find(struct members *m, const char *path) {
  for (size_t i = 0; i < m->n; i++)
    if (!strcmp(m->v[i].path, path))
      return &m->v[i];
  return NULL;
}

static struct member *member_add(struct members *m, enum member_kind kind, const char *path,
                                 int64_t mtime) {
  m->v = xrealloc(m->v, (m->n + 1) * sizeof *m->v);
  struct member *x = &m->v[m->n++];
  memset(x, 0, sizeof *x);
  x->path = xstrdup(path);
  x->kind = kind;
  x->mtime = mtime;
  return x;
}

static void member_data(struct members *m, const char *path, char *data, int64_t mtime) {
  struct member *x = member_add(m, M_DATA, path, mtime);
  x->data = data;
  x->len = strlen(data);
}

static void members_free(struct members *m) {
  for (size_t i = 0; i < m->n; i++) {
    free(m->v[i].path);
    free(m->v[i].data);
  }
  free(m->v);
}

/* The order of a directory walk: path components compared one by one. */
static int cmp_walk(const void *a, const void *b) {
  const unsigned char *x = (const unsigned char *)((const struct member *)a)->path;
  const unsigned char *y = (const unsigned char *)((const struct member *)b)->path;
  for (; *x && *x == *y; x++, y++)
    ;
  int cx = *x == '/' ? 1 : *x ? *x + 1 : 0;
  int cy = *y == '/' ? 1 : *y ? *y + 1 : 0;
  return cx - cy;
}

static char *chain_next(const char *prev, const char *diff_id, cb_error_t *err) {
  if (!prev)
    return xstrdup(diff_id);
  cleanup_free char *s = xasprintf("%s %s", prev, diff_id);
  char out[CB_DIGEST_LEN + 1];
  if (cb_sha256_buf(s, strlen(s), out, err) < 0)
    return NULL;
  return xstrdup(out);
}

/* "repo" of a "repo:tag" (the last ':' after the last '/'), and the tag. */
static void split_tag(const char *ref, char **repo, const char **tag) {
  const char *slash = strrchr(ref, '/');
  const char *colon = strrchr(slash ? slash : ref, ':');
  *repo = strndup(ref, (size_t)(colon - ref));
  if (!*repo)
    oom();
  *tag = colon + 1;
}

static int docker_members(struct save *s, struct members *m, cb_error_t *err) {
  cleanup_json json_object *manifest = json_object_new_array();
  cleanup_json json_object *repos = json_object_new_object();
  for (size_t i = 0; i < s->n; i++) {
    struct saved_image *im = &s->img[i];
    size_t nl = cb_strv_len(im->diff_ids);
    json_object *layers = json_object_new_array();
    cleanup_free char *chain = NULL;
    char parent[CB_DIGEST_LEN + 1] = "";
    for (size_t k = 0; k < nl; k++) {
      bool top = k == nl - 1;
      char *c = chain_next(chain, im->diff_ids[k], err);
      if (!c) {
        json_object_put(layers);
        return -1;
      }
      free(chain);
      chain = c;
      cleanup_json json_object *id_fields = v1_fields(im, top, false);
      char v1id[CB_DIGEST_LEN + 1];
      if (v1_create_id(id_fields, chain, parent[0] ? parent : NULL, v1id, err) < 0) {
        json_object_put(layers);
        return -1;
      }
      const char *hex = cb_digest_hex(v1id);
      cleanup_free char *tar_path = xasprintf("%s/layer.tar", hex);
      json_object_array_add(layers, json_object_new_string(tar_path));
      if (!member_find(m, tar_path)) {
        cleanup_json json_object *fields = v1_fields(im, top, true);
        member_add(m, M_DIR, hex, im->created_s);
        cleanup_free char *vp = xasprintf("%s/VERSION", hex);
        member_data(m, vp, xstrdup("1.0"), im->created_s);
        cleanup_free char *jp = xasprintf("%s/json", hex);
        member_data(m, jp, v1_json(fields, hex, parent[0] ? cb_digest_hex(parent) : NULL),
                    im->created_s);
        struct layer_file *l = find_layer(s, im->diff_ids[k]);
        if (l->written_as) {
          struct member *x = member_add(m, M_SYMLINK, tar_path, im->created_s);
          x->data = xasprintf("../%s", l->written_as);
        } else {
          struct member *x = member_add(m, M_LAYER, tar_path, im->created_s);
          x->layer = l;
          l->written_as = xstrdup(tar_path);
        }
      }
      memcpy(parent, v1id, sizeof parent);
    }
    cleanup_free char *config_name = xasprintf("%s.json", im->id);
    if (!member_find(m, config_name)) {
      struct member *x = member_add(m, M_DATA, config_name, im->created_s);
      x->data = xmalloc(im->config_len + 1);
      memcpy(x->data, im->config, im->config_len);
      x->len = im->config_len;
    }
    json_object *item = json_object_new_object();
    json_object_object_add(item, "Config", json_object_new_string(config_name));
    json_object_object_add(item, "RepoTags", im->tags[0] ? cb_json_strv(im->tags) : NULL);
    json_object_object_add(item, "Layers", layers);
    json_object_array_add(manifest, item);
    for (char **t = im->tags; *t && nl > 0; t++) {
      cleanup_free char *repo = NULL;
      const char *tag;
      split_tag(*t, &repo, &tag);
      cb_json_set_str(cb_json_obj(repos, repo), tag, cb_digest_hex(parent));
    }
  }
  cleanup_free char *mtext = go_marshal(manifest);
  member_data(m, "manifest.json", xasprintf("%s\n", mtext), 0);
  if (json_object_object_length(repos) > 0) {
    /* A Go map of maps: every level sorted. */
    cleanup_json json_object *sorted = go_map(repos, true);
    json_object_object_foreach(sorted, repo, val) {
      (void)val;
      json_object_object_add(sorted, repo, go_map(json_object_object_get(repos, repo), false));
    }
    cleanup_free char *rtext = go_marshal(sorted);
    member_data(m, "repositories", xasprintf("%s\n", rtext), 0);
  }
  return 0;
}

/* "busybox:latest" -> "docker.io/library/busybox:latest" (reference.String()). */
static char *full_name(const char *familiar) {
  const char *slash = strchr(familiar, '/');
  if (slash) {
    size_t n = (size_t)(slash - familiar);
    if (memchr(familiar, '.', n) || memchr(familiar, ':', n) ||
        (n == 9 && !strncmp(familiar, "localhost", 9)))
      return xstrdup(familiar);
    return xasprintf("docker.io/%s", familiar);
  }
  return xasprintf("docker.io/library/%s", familiar);
}

static json_object *descriptor(const char *media, const char *digest, int64_t size) {
  json_object *o = json_object_new_object();
  cb_json_set_str(o, "mediaType", media);
  cb_json_set_str(o, "digest", digest);
  cb_json_set_int(o, "size", size);
  return o;
}

static int oci_members(struct save *s, struct members *m, cb_error_t *err) {
  member_add(m, M_DIR, "blobs", 0);
  member_add(m, M_DIR, "blobs/sha256", 0);
  cleanup_json json_object *index = json_object_new_object();
  cb_json_set_int(index, "schemaVersion", 2);
  cb_json_set_str(index, "mediaType", "application/vnd.oci.image.index.v1+json");
  json_object *manifests = json_object_new_array();
  json_object_object_add(index, "manifests", manifests);
  for (size_t i = 0; i < s->n; i++) {
    struct saved_image *im = &s->img[i];
    cleanup_free char *config_path = xasprintf("blobs/sha256/%s", im->id);
    if (!member_find(m, config_path)) {
      struct member *x = member_add(m, M_DATA, config_path, im->created_s);
      x->data = xmalloc(im->config_len + 1);
      memcpy(x->data, im->config, im->config_len);
      x->len = im->config_len;
    }
    cleanup_json json_object *man = json_object_new_object();
    cb_json_set_int(man, "schemaVersion", 2);
    cb_json_set_str(man, "mediaType", "application/vnd.oci.image.manifest.v1+json");
    cleanup_free char *config_digest = xasprintf(CB_DIGEST_PREFIX "%s", im->id);
    json_object_object_add(man, "config",
                           descriptor("application/vnd.oci.image.config.v1+json", config_digest,
                                      (int64_t)im->config_len));
    json_object *layers = json_object_new_array();
    json_object_object_add(man, "layers", layers);
    for (char **d = im->diff_ids; *d; d++) {
      struct layer_file *l = find_layer(s, *d);
      json_object_array_add(layers,
                            descriptor("application/vnd.oci.image.layer.v1.tar", *d, l->size));
      cleanup_free char *lp = xasprintf("blobs/sha256/%s", cb_digest_hex(*d));
      if (!member_find(m, lp)) {
        struct member *x = member_add(m, M_LAYER, lp, im->created_s);
        x->layer = l;
      }
    }
    char *mtext = go_marshal(man);
    char mdigest[CB_DIGEST_LEN + 1];
    if (cb_sha256_buf(mtext, strlen(mtext), mdigest, err) < 0) {
      free(mtext);
      return -1;
    }
    size_t mlen = strlen(mtext);
    cleanup_free char *mp = xasprintf("blobs/sha256/%s", cb_digest_hex(mdigest));
    if (!member_find(m, mp))
      member_data(m, mp, mtext, 0);
    else
      free(mtext);
    /* One descriptor per tag, or one plain descriptor for an untagged image. */
    size_t nt = cb_strv_len(im->tags);
    for (size_t t = 0; t < (nt ? nt : 1); t++) {
      json_object *d =
          descriptor("application/vnd.oci.image.manifest.v1+json", mdigest, (int64_t)mlen);
      json_object *plat = json_object_new_object();
      cb_json_set_str(plat, "architecture", cb_json_get_str(im->cfg, "architecture", ""));
      cb_json_set_str(plat, "os", cb_json_get_str(im->cfg, "os", "linux"));
      const char *variant = cb_json_get_str(im->cfg, "variant", "");
      if (*variant)
        cb_json_set_str(plat, "variant", variant);
      json_object_object_add(d, "platform", plat);
      if (nt) {
        cleanup_free char *repo = NULL;
        const char *tag;
        split_tag(im->tags[t], &repo, &tag);
        cleanup_free char *full = full_name(im->tags[t]);
        json_object *ann = json_object_new_object();
        cb_json_set_str(ann, "io.containerd.image.name", full);
        cb_json_set_str(ann, "org.opencontainers.image.ref.name", tag);
        json_object_object_add(d, "annotations", ann);
      }
      json_object_array_add(manifests, d);
    }
  }
  member_data(m, "index.json", go_marshal(index), 0);
  member_data(m, "oci-layout", xstrdup("{\"imageLayoutVersion\":\"1.0.0\"}"), 0);
  return 0;
}

/* ---- writing the tar ------------------------------------------------------------------- */

struct out {
  int fd;
  const char *name; /* for messages */
  int err;          /* errno of the first failed write */
};

static la_ssize_t out_write(struct archive *a, void *data, const void *buf, size_t len) {
  struct out *o = data;
  if (interrupted) {
    o->err = EINTR;
    archive_set_error(a, EINTR, "interrupted");
    return -1;
  }
  if (cb_write_all(o->fd, buf, len) < 0) {
    o->err = errno;
    archive_set_error(a, errno, "write %s: %s", o->name, strerror(errno));
    return -1;
  }
  return (la_ssize_t)len;
}

static int write_failed(struct archive *a, struct out *o, cb_error_t *err) {
  if (interrupted)
    return cb_error_make(err, 0, "interrupted");
  if (o->err)
    return cb_error_make(err, o->err, "write %s", o->name);
  const char *m = archive_error_string(a);
  return cb_error_make(err, 0, "write the archive: %s", m ? m : "unknown error");
}

static int write_layer(struct archive *a, struct out *o, struct layer_file *l, cb_error_t *err) {
  cleanup_free char *buf = xmalloc(COPY_BUF);
  struct cb_sha256 sha;
  if (cb_sha256_init(&sha, err) < 0)
    return -1;
  int64_t left = l->size;
  off_t off = 0;
  while (left > 0) {
    size_t want = left < COPY_BUF ? (size_t)left : COPY_BUF;
    ssize_t r = pread(l->fd, buf, want, off);
    if (r < 0 && errno == EINTR && !interrupted)
      continue;
    if (r <= 0) {
      cb_sha256_release(&sha);
      if (interrupted)
        return cb_error_make(err, 0, "interrupted");
      if (r == 0)
        return cb_error_make(err, 0, "layer %s: its tar in the store is truncated", l->diff_id);
      return cb_error_sys(err, "read the tar of layer %s", l->diff_id);
    }
    if (cb_sha256_update(&sha, buf, (size_t)r, err) < 0)
      return -1;
    if (archive_write_data(a, buf, (size_t)r) != r) {
      cb_sha256_release(&sha);
      return write_failed(a, o, err);
    }
    left -= r;
    off += r;
  }
  char digest[CB_DIGEST_LEN + 1];
  if (cb_sha256_final(&sha, digest, err) < 0)
    return -1;
  if (strcmp(digest, l->diff_id))
    return cb_error_make(err, 0, "layer %s: its tar in the store is corrupt (sha256 %s)",
                         l->diff_id, digest);
  return 0;
}

static int write_members(struct members *m, struct out *o, cb_error_t *err) {
  qsort(m->v, m->n, sizeof *m->v, cmp_walk);
  struct archive *a = archive_write_new();
  if (!a)
    oom();
  int rc = -1;
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_per_block(a, 10240);
  archive_write_set_bytes_in_last_block(a, 1);
  struct archive_entry *e = archive_entry_new();
  if (!e)
    oom();
  if (archive_write_open(a, o, NULL, out_write, NULL) != ARCHIVE_OK) {
    write_failed(a, o, err);
    goto out;
  }
  for (size_t i = 0; i < m->n; i++) {
    struct member *x = &m->v[i];
    archive_entry_clear(e);
    cleanup_free char *path = x->kind == M_DIR ? xasprintf("%s/", x->path) : xstrdup(x->path);
    archive_entry_set_pathname(e, path);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_uname(e, "root");
    archive_entry_set_gname(e, "root");
    archive_entry_set_mtime(e, x->mtime, 0);
    switch (x->kind) {
    case M_DIR:
      archive_entry_set_filetype(e, AE_IFDIR);
      archive_entry_set_perm(e, 0755);
      break;
    case M_SYMLINK:
      archive_entry_set_filetype(e, AE_IFLNK);
      archive_entry_set_perm(e, 0777);
      archive_entry_set_symlink(e, x->data);
      break;
    case M_DATA:
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, (la_int64_t)x->len);
      break;
    case M_LAYER:
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, x->layer->size);
      break;
    }
    if (archive_write_header(a, e) != ARCHIVE_OK) {
      write_failed(a, o, err);
      goto out;
    }
    if (x->kind == M_DATA && x->len > 0 &&
        archive_write_data(a, x->data, x->len) != (la_ssize_t)x->len) {
      write_failed(a, o, err);
      goto out;
    }
    if (x->kind == M_LAYER && write_layer(a, o, x->layer, err) < 0)
      goto out;
    if (archive_write_finish_entry(a) != ARCHIVE_OK) {
      write_failed(a, o, err);
      goto out;
    }
  }
  if (archive_write_close(a) != ARCHIVE_OK) {
    write_failed(a, o, err);
    goto out;
  }
  rc = 0;
out:
  archive_entry_free(e);
  archive_write_free(a);
  return rc;
}

/* ---- the output ------------------------------------------------------------------------ */

struct target {
  const char *path; /* -o FILE, or NULL for stdout */
  struct cb_outfile f;
  int fd;
};

static int target_open(struct target *t, cb_error_t *err) {
  if (!t->path) {
    t->fd = STDOUT_FILENO;
    return 0;
  }
  if (cb_outfile_open(&t->f, t->path, err) < 0)
    return -1;
  t->fd = t->f.fd;
  return 0;
}

static int target_commit(struct target *t, cb_error_t *err) {
  if (!t->path)
    return 0;
  t->fd = -1;
  return cb_outfile_commit(&t->f, err);
}

static void target_abort(struct target *t) {
  if (t->path)
    cb_outfile_abort(&t->f);
  t->fd = -1;
}

static int do_save(const struct cb_ctx *ctx, char **args, bool oci, struct target *t,
                   cb_error_t *err) {
  struct save s = {.ctx = ctx};
  struct members m = {0};
  cleanup_free char *quoted = t->path ? xasprintf("`%s`", t->path) : NULL;
  int rc = -1;
  {
    /* Writers are kept out while the images are resolved and their files opened. */
    cleanup_close int lk = cb_lock(ctx, "images", 0, err);
    if (lk < 0)
      goto out;
    struct cb_image **all = NULL;
    size_t nall = 0;
    if (cb_image_list(ctx, &all, &nall, err) < 0)
      goto out;
    int r = 0;
    for (char **a = args; *a && r == 0; a++)
      r = resolve_arg(&s, *a, all, nall, err);
    cb_image_list_free(all, nall);
    if (r < 0 || open_images(&s, err) < 0)
      goto out;
  }
  if ((oci ? oci_members(&s, &m, err) : docker_members(&s, &m, err)) < 0)
    goto out;
  if (target_open(t, err) < 0)
    goto out;
  struct out o = {.fd = t->fd, .name = quoted ? quoted : "to stdout"};
  if (write_members(&m, &o, err) < 0 || target_commit(t, err) < 0)
    goto out;
  rc = 0;
out:
  members_free(&m);
  save_release(&s);
  return rc;
}

int cmd_save(int argc, char **argv) {
  enum { OPT_FORMAT = CHAR_MAX + 1 };
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'},
      {"format", required_argument, NULL, OPT_FORMAT},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *output = NULL, *format = "docker";
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":o:", longopts, NULL)) != -1) {
    switch (c) {
    case 'o': output = optarg; break;
    case OPT_FORMAT: format = optarg; break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("save", argv, c);
    }
  }
  if (optind >= argc) {
    fputs("Error: \"crowbar save\" requires at least 1 argument.\n"
          "See 'crowbar save --help'.\n",
          stderr);
    return 1;
  }
  if (strcmp(format, "docker") && strcmp(format, "oci")) {
    fprintf(stderr, "Error: invalid --format `%s`: expected docker or oci\n", format);
    return 1;
  }
  if (output && !*output)
    output = NULL;
  if (!output && isatty(STDOUT_FILENO)) {
    fputs("Error: cowardly refusing to save to a terminal. Use the -o flag or redirect\n", stderr);
    return 1;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  cb_ignore_sigpipe();

  cb_error_t err = NULL;
  struct cb_ctx ctx = {0};
  struct target t = {.path = output, .f = CB_OUTFILE_INIT, .fd = -1};
  int ret = 1;
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 1, &err) < 0)
    goto out;
  if (do_save(&ctx, argv + optind, !strcmp(format, "oci"), &t, &err) < 0)
    goto out;
  ret = 0;
out:
  target_abort(&t);
  if (err)
    cb_error_print(&err);
  cb_ctx_release(&ctx);
  return ret;
}
