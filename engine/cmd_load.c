/* SPDX-License-Identifier: GPL-2.0-or-later */
/* load: images from a `docker save` archive or an OCI image-layout archive.
 *
 * The archive (plain or compressed) is first spooled, member by member, into a work
 * folder $ROOT/tmp/image-spool-XXXXXX (flock()ed while we live, so that the next writer
 * removes it if we are killed): its index (manifest.json, index.json) may come last.
 * Then every image is checked (config, layer count, blob digests, tags) before anything
 * is unpacked, each layer the store lacks is unpacked into one image-store transaction
 * and its diff ID compared with the config's, and only then are the images committed.
 * A malformed or tampered archive changes nothing. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/archive.h"
#include "crowbar/cleanup.h"
#include "crowbar/context.h"
#include "crowbar/digest.h"
#include "crowbar/format.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/lock.h"
#include "crowbar/util.h"
#include "crowbar/verb.h"

CB_VERB(load, "Load an image from a tar archive or STDIN");

#define MAX_JSON (32 * 1024 * 1024) /* manifests, indexes and configs */
#define MAX_SYMLINK_HOPS 40
#define MAX_MEMBERS 100000 /* an image archive has a few per layer */
#define OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define ANN_REF_NAME "org.opencontainers.image.ref.name"
#define ANN_IMAGE_NAME "io.containerd.image.name"

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) {
  interrupted = sig;
}

static int check_interrupted(cb_error_t *err) {
  if (interrupted)
    return cb_error_make(err, 0, "interrupted");
  return 0;
}

static void usage(FILE *out) {
  fputs("Usage: crowbar load [OPTIONS]\n\n"
        "Load images from a tar archive (a `docker save` archive or an OCI image layout,\n"
        "plain or compressed with gzip, xz, zstd or bzip2) read from STDIN by default.\n\n"
        "Options:\n"
        "  -i, --input FILE           read from FILE instead of STDIN\n"
        "  -q, --quiet                suppress the load progress\n"
        "      --help                 show this help\n\n"
        "See crowbar-load(1).\n",
        out);
}

/* ---- the spool ------------------------------------------------------------------------- */

enum spool_kind { S_FILE, S_SYMLINK, S_HARDLINK };

struct spool_entry {
  char *name; /* the cleaned member name */
  enum spool_kind kind;
  char *target;                   /* S_SYMLINK: as written; S_HARDLINK: cleaned name */
  unsigned idx;                   /* S_FILE: the spool file's number */
  int64_t size;                   /* S_FILE */
  char digest[CB_DIGEST_LEN + 1]; /* S_FILE: sha256 of its bytes */
  bool verified;                  /* its uncompressed content matched a diff ID */
};

struct spool {
  char *dir;
  int fd; /* the folder, flock()ed */
  struct spool_entry *v;
  size_t n;
  unsigned files;
};

static void spool_free(struct spool *s) {
  if (s->dir) {
    cb_error_t e = NULL;
    if (cb_rm_rf(s->dir, &e) < 0)
      cb_error_release(&e); /* the next writer sweeps it */
  }
  if (s->fd >= 0)
    close(s->fd);
  for (size_t i = 0; i < s->n; i++) {
    free(s->v[i].name);
    free(s->v[i].target);
  }
  free(s->v);
  free(s->dir);
}

/* Make the spool folder where the image store's writers keep theirs: under the images
 * lock, so that no sweeper takes it before we hold its flock. */
static int spool_create(const struct cb_ctx *ctx, struct spool *s, cb_error_t *err) {
  cleanup_close int lk = cb_lock(ctx, "images", 1, err);
  if (lk < 0)
    return -1;
  cleanup_free char *tmp = cb_ctx_path(ctx, "tmp");
  if (cb_mkdir_p(tmp, 0700, err) < 0)
    return -1;
  char *dir = xasprintf("%s/image-spool-XXXXXX", tmp);
  if (!mkdtemp(dir)) {
    free(dir);
    return cb_error_sys(err, "create a work folder in `%s`", tmp);
  }
  s->dir = dir;
  s->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s->fd < 0 || flock(s->fd, LOCK_EX) < 0)
    return cb_error_sys(err, "lock `%s`", dir);
  return 0;
}

static struct spool_entry *spool_get(struct spool *s, const char *name) {
  for (size_t i = s->n; i-- > 0;)
    if (!strcmp(s->v[i].name, name))
      return &s->v[i];
  return NULL;
}

/* A new entry; a later member of a name hides an earlier one (spool_get looks from the
 * end), as extracting the archive would replace it. */
static struct spool_entry *spool_put(struct spool *s, const char *name, enum spool_kind kind) {
  if (s->n % 64 == 0)
    s->v = xrealloc(s->v, (s->n + 64) * sizeof *s->v);
  struct spool_entry *e = &s->v[s->n++];
  memset(e, 0, sizeof *e);
  e->name = xstrdup(name);
  e->kind = kind;
  return e;
}

struct input {
  int fd;
  char buf[64 * 1024];
  int err; /* errno of a failed read */
};

static la_ssize_t input_read(struct archive *a, void *data, const void **buf) {
  struct input *in = data;
  for (;;) {
    if (interrupted) {
      archive_set_error(a, EINTR, "interrupted");
      return -1;
    }
    ssize_t r = read(in->fd, in->buf, sizeof in->buf);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      in->err = errno;
      archive_set_error(a, errno, "read: %s", strerror(errno));
      return -1;
    }
    *buf = in->buf;
    return r;
  }
}

static int read_failed(struct archive *a, struct input *in, cb_error_t *err) {
  if (interrupted)
    return cb_error_make(err, 0, "interrupted");
  if (in->err)
    return cb_error_make(err, in->err, "read the archive");
  const char *m = archive_error_string(a);
  return cb_error_make(err, 0, "invalid archive: %s", m ? m : "read error");
}

static int spool_data(struct spool *s, struct archive *a, struct input *in, struct spool_entry *e,
                      cb_error_t *err) {
  char name[32];
  e->idx = s->files++;
  snprintf(name, sizeof name, "%u", e->idx);
  cleanup_close int fd = openat(s->fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return cb_error_sys(err, "create `%s/%s`", s->dir, name);
  struct cb_sha256 sha;
  if (cb_sha256_init(&sha, err) < 0)
    return -1;
  cleanup_free char *buf = xmalloc(256 * 1024);
  for (;;) {
    la_ssize_t r = archive_read_data(a, buf, 256 * 1024);
    if (r == 0)
      break;
    if (r < 0) {
      cb_sha256_release(&sha);
      return read_failed(a, in, err);
    }
    if (cb_sha256_update(&sha, buf, (size_t)r, err) < 0)
      return -1;
    if (cb_write_all(fd, buf, (size_t)r) < 0) {
      cb_sha256_release(&sha);
      return cb_error_sys(err, "write `%s/%s`", s->dir, name);
    }
    e->size += r;
  }
  return cb_sha256_final(&sha, e->digest, err);
}

/* Spool every member: regular files into the spool folder, symlinks and hard links as
 * names; folders and special files are of no use to a loader. */
static int spool_archive(struct spool *s, int fd, cb_error_t *err) {
  struct archive *a = archive_read_new();
  if (!a)
    oom();
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_gnutar(a);
  archive_read_support_format_empty(a);
  cleanup_free struct input *in = xcalloc(1, sizeof *in);
  in->fd = fd;
  int rc = -1;
  if (archive_read_open(a, in, NULL, input_read, NULL) != ARCHIVE_OK) {
    read_failed(a, in, err);
    goto out;
  }
  size_t members = 0;
  for (;;) {
    struct archive_entry *e;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF)
      break;
    if (r < ARCHIVE_WARN || r == ARCHIVE_RETRY) {
      read_failed(a, in, err);
      goto out;
    }
    if (++members > MAX_MEMBERS) {
      cb_error_make(err, 0, "invalid archive: more than %d members", MAX_MEMBERS);
      goto out;
    }
    const char *raw = archive_entry_pathname(e);
    if (!raw) {
      cb_error_make(err, 0, "invalid archive: a member has no usable name");
      goto out;
    }
    cleanup_free char *name = cb_archive_clean_path(raw);
    if (!name) {
      cb_error_make(err, 0, "invalid archive: the member `%s` leads outside the archive", raw);
      goto out;
    }
    const char *hard = archive_entry_hardlink(e);
    if (hard) {
      cleanup_free char *target = cb_archive_clean_path(hard);
      if (!target) {
        cb_error_make(err, 0, "invalid archive: the hard link `%s` leads outside the archive", raw);
        goto out;
      }
      spool_put(s, name, S_HARDLINK)->target = steal_pointer(&target);
    } else if (archive_entry_filetype(e) == AE_IFLNK) {
      const char *t = archive_entry_symlink(e);
      spool_put(s, name, S_SYMLINK)->target = xstrdup(t ? t : "");
    } else if (archive_entry_filetype(e) == AE_IFREG) {
      struct spool_entry *x = spool_put(s, name, S_FILE);
      if (spool_data(s, a, in, x, err) < 0)
        goto out;
    }
  }
  if (members == 0) {
    cb_error_make(err, 0, "invalid archive: the input is empty");
    goto out;
  }
  rc = 0;
out:
  archive_read_free(a);
  return rc;
}

/* The regular file a path of the archive names, following its symlinks and hard links
 * inside the archive (as Docker's FollowSymlinkInScope does in its unpacked copy). */
static struct spool_entry *spool_lookup(struct spool *s, const char *path, cb_error_t *err) {
  cleanup_free char *cur = cb_path_clean_in_root(path);
  for (int hops = 0; hops <= MAX_SYMLINK_HOPS; hops++) {
    bool restarted = false;
    for (char *p = cur;; p++) {
      if (*p && *p != '/')
        continue;
      char save = *p;
      *p = '\0';
      struct spool_entry *e = spool_get(s, cur);
      *p = save;
      if (e && e->kind == S_SYMLINK) {
        /* Replace the prefix by the link's target (relative to the link's folder). */
        size_t plen = (size_t)(p - cur);
        char *slash = memrchr(cur, '/', plen);
        cleanup_free char *dir = slash ? strndup(cur, (size_t)(slash - cur)) : xstrdup("");
        cleanup_free char *joined = e->target[0] == '/' ? xasprintf("%s%s", e->target, p)
                                                        : xasprintf("%s/%s%s", dir, e->target, p);
        free(cur);
        cur = cb_path_clean_in_root(joined);
        restarted = true;
        break;
      }
      if (e && e->kind == S_HARDLINK && !*p) {
        cleanup_free char *t = xstrdup(e->target);
        free(cur);
        cur = steal_pointer(&t);
        restarted = true;
        break;
      }
      if (!*p) {
        if (e && e->kind == S_FILE)
          return e;
        break;
      }
    }
    if (!restarted)
      break;
  }
  cb_error_make(err, 0, "invalid archive: `%s` is not in the archive", path);
  return NULL;
}

static int spool_open(struct spool *s, const struct spool_entry *e, cb_error_t *err) {
  char name[32];
  snprintf(name, sizeof name, "%u", e->idx);
  int fd = openat(s->fd, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return cb_error_sys(err, "open `%s/%s`", s->dir, name);
  return fd;
}

/* A (small) member's bytes, NUL-terminated. */
static int spool_read(struct spool *s, const char *path, char **out, size_t *len,
                      const char **digest, cb_error_t *err) {
  struct spool_entry *e = spool_lookup(s, path, err);
  if (!e)
    return -1;
  if (e->size > MAX_JSON)
    return cb_error_make(err, 0, "invalid archive: `%s` is too large (%lld bytes)", path,
                         (long long)e->size);
  char name[32];
  snprintf(name, sizeof name, "%u", e->idx);
  if (cb_read_file_at(s->fd, name, out, len, err) < 0)
    return -1;
  if (digest)
    *digest = e->digest;
  return 0;
}

static int spool_read_json(struct spool *s, const char *path, json_object **out, cb_error_t *err) {
  cleanup_free char *text = NULL;
  size_t len;
  if (spool_read(s, path, &text, &len, NULL, err) < 0)
    return -1;
  if (strlen(text) != len || cb_json_parse(text, out, err) < 0)
    return cb_error_make(err, 0, "invalid archive: `%s` is not valid JSON", path);
  return 0;
}

/* ---- what to load ---------------------------------------------------------------------- */

struct plan_layer {
  char diff_id[CB_DIGEST_LEN + 1];
  struct spool_entry *src;
};

struct plan_image {
  char *config;
  size_t config_len;
  char **tags; /* normalised "repo:tag" */
  struct plan_layer *layers;
  size_t nlayers;
};

struct plan {
  struct plan_image *v;
  size_t n;
};

static void plan_free(struct plan *p) {
  for (size_t i = 0; i < p->n; i++) {
    free(p->v[i].config);
    cb_strv_free(p->v[i].tags);
    free(p->v[i].layers);
  }
  free(p->v);
}

/* A config read from the archive: valid JSON, a Linux image, with its diff IDs. */
static int check_config(const char *bytes, size_t len, const char *what, char ***diff_ids,
                        cb_error_t *err) {
  cleanup_json json_object *cfg = NULL;
  if (strlen(bytes) != len || cb_json_parse(bytes, &cfg, err) < 0 ||
      !json_object_is_type(cfg, json_type_object)) {
    if (*err)
      cb_error_release(err);
    return cb_error_make(err, 0, "invalid archive: the image config `%s` is not a JSON object",
                         what);
  }
  const char *os = cb_json_get_str(cfg, "os", "");
  if (*os && strcmp(os, "linux"))
    return cb_error_make(err, 0, "cannot load %s image on linux", os);
  json_object *rootfs = cb_json_get(cfg, "rootfs");
  if (!rootfs || !json_object_is_type(rootfs, json_type_object))
    return cb_error_make(err, 0, "invalid image JSON, no RootFS key");
  json_object *d = cb_json_get(rootfs, "diff_ids");
  if (d && !json_object_is_type(d, json_type_array))
    return cb_error_make(err, 0, "invalid image JSON: rootfs.diff_ids is not an array");
  char **v = cb_json_get_strv(cfg, "rootfs.diff_ids");
  if (!v)
    v = xcalloc(1, sizeof(char *));
  if (d && cb_strv_len(v) != json_object_array_length(d)) {
    cb_strv_free(v);
    return cb_error_make(err, 0, "invalid image JSON: rootfs.diff_ids holds a non-string");
  }
  for (char **x = v; *x; x++)
    if (!cb_digest_valid(*x)) {
      cb_error_make(err, 0, "invalid image JSON: unsupported diff ID `%s`", *x);
      cb_strv_free(v);
      return -1;
    }
  *diff_ids = v;
  return 0;
}

/* A tag as Docker's load takes it (a name with an explicit tag). */
static char *check_tag(const char *ref, cb_error_t *err) {
  cleanup_free char *name = NULL, *tag = NULL;
  if (cb_image_parse_ref(ref, &name, &tag, err) < 0)
    return NULL;
  const char *slash = strrchr(ref, '/');
  if (!strchr(slash ? slash : ref, ':')) {
    cb_error_make(err, 0, "invalid tag \"%s\"", ref);
    return NULL;
  }
  return xasprintf("%s:%s", name, tag);
}

static struct plan_image *plan_add(struct plan *p, char *config, size_t len) {
  for (size_t i = 0; i < p->n; i++)
    if (p->v[i].config_len == len && !memcmp(p->v[i].config, config, len)) {
      free(config);
      return &p->v[i];
    }
  p->v = xrealloc(p->v, (p->n + 1) * sizeof *p->v);
  struct plan_image *im = &p->v[p->n++];
  memset(im, 0, sizeof *im);
  im->config = config;
  im->config_len = len;
  im->tags = xcalloc(1, sizeof(char *));
  return im;
}

static void plan_tag(struct plan_image *im, const char *tag) {
  for (char **t = im->tags; *t; t++)
    if (!strcmp(*t, tag))
      return;
  cb_strv_append(&im->tags, tag);
}

static int plan_layers(struct plan_image *im, char **diff_ids, struct spool_entry **srcs, size_t n,
                       cb_error_t *err) {
  if (cb_strv_len(diff_ids) != n)
    return cb_error_make(err, 0, "invalid manifest, layers length mismatch: expected %zu, got %zu",
                         n, cb_strv_len(diff_ids));
  if (im->layers)
    return 0; /* the same image named twice */
  im->layers = xcalloc(n ? n : 1, sizeof *im->layers);
  im->nlayers = n;
  for (size_t i = 0; i < n; i++) {
    snprintf(im->layers[i].diff_id, sizeof im->layers[i].diff_id, "%s", diff_ids[i]);
    im->layers[i].src = srcs[i];
  }
  return 0;
}

/* manifest.json: [{"Config": PATH, "RepoTags": [REF...]|null, "Layers": [PATH...]}] */
static int plan_docker(struct spool *s, struct plan *p, cb_error_t *err) {
  cleanup_json json_object *m = NULL;
  if (spool_read_json(s, "manifest.json", &m, err) < 0)
    return -1;
  if (json_object_is_type(m, json_type_null))
    return cb_error_make(err, 0, "invalid manifest, manifest cannot be null (but can be [])");
  if (!json_object_is_type(m, json_type_array))
    return cb_error_make(err, 0, "invalid archive: manifest.json is not an array");
  for (size_t i = 0; i < json_object_array_length(m); i++) {
    json_object *item = json_object_array_get_idx(m, i);
    const char *config = cb_json_get_str(item, "Config", NULL);
    json_object *layers = cb_json_get(item, "Layers");
    if (!config || (layers && !json_object_is_type(layers, json_type_array)))
      return cb_error_make(err, 0, "invalid archive: manifest.json: entry %zu is malformed", i);
    char *bytes = NULL;
    size_t len;
    if (spool_read(s, config, &bytes, &len, NULL, err) < 0)
      return -1;
    cleanup_strv char **diff_ids = NULL;
    if (check_config(bytes, len, config, &diff_ids, err) < 0) {
      free(bytes);
      return -1;
    }
    struct plan_image *im = plan_add(p, bytes, len);
    size_t nl = layers ? json_object_array_length(layers) : 0;
    cleanup_free struct spool_entry **srcs = xcalloc(nl ? nl : 1, sizeof *srcs);
    for (size_t k = 0; k < nl; k++) {
      json_object *l = json_object_array_get_idx(layers, k);
      if (!json_object_is_type(l, json_type_string))
        return cb_error_make(err, 0, "invalid archive: manifest.json: entry %zu is malformed", i);
      srcs[k] = spool_lookup(s, json_object_get_string(l), err);
      if (!srcs[k])
        return -1;
    }
    if (plan_layers(im, diff_ids, srcs, nl, err) < 0)
      return -1;
    json_object *tags = cb_json_get(item, "RepoTags");
    if (tags && !json_object_is_type(tags, json_type_array) &&
        !json_object_is_type(tags, json_type_null))
      return cb_error_make(err, 0, "invalid archive: manifest.json: entry %zu is malformed", i);
    for (size_t k = 0; tags && k < json_object_array_length(tags); k++) {
      const char *ref = json_object_get_string(json_object_array_get_idx(tags, k));
      cleanup_free char *norm = ref ? check_tag(ref, err) : NULL;
      if (!norm)
        return ref ? -1 : cb_error_make(err, 0, "invalid archive: a RepoTag is not a string");
      plan_tag(im, norm);
    }
  }
  return 0;
}

/* The blob a descriptor names, checked against its digest and size. */
static struct spool_entry *oci_blob(struct spool *s, json_object *desc, cb_error_t *err) {
  const char *digest = cb_json_get_str(desc, "digest", "");
  if (!cb_str_has_prefix(digest, CB_DIGEST_PREFIX)) {
    cb_error_make(err, 0, "invalid archive: unsupported digest `%s`", digest);
    return NULL;
  }
  if (!cb_digest_valid(digest)) {
    cb_error_make(err, 0, "invalid archive: invalid digest `%s`", digest);
    return NULL;
  }
  cleanup_free char *path = xasprintf("blobs/sha256/%s", cb_digest_hex(digest));
  struct spool_entry *e = spool_lookup(s, path, err);
  if (!e)
    return NULL;
  if (strcmp(e->digest, digest)) {
    cb_error_make(err, 0, "invalid archive: the blob %s does not match its digest (sha256 %s)",
                  digest, e->digest);
    return NULL;
  }
  json_object *size = cb_json_get(desc, "size");
  if (size && json_object_get_int64(size) != e->size) {
    cb_error_make(err, 0, "invalid archive: the blob %s holds %lld bytes, not %lld", digest,
                  (long long)e->size, (long long)json_object_get_int64(size));
    return NULL;
  }
  return e;
}

static int oci_read_blob(struct spool *s, json_object *desc, json_object **out, cb_error_t *err) {
  struct spool_entry *e = oci_blob(s, desc, err);
  if (!e)
    return -1;
  cleanup_free char *path = xasprintf("blobs/sha256/%s", cb_digest_hex(e->digest));
  return spool_read_json(s, path, out, err);
}

static bool is_index(json_object *desc, json_object *blob) {
  const char *mt = cb_json_get_str(desc, "mediaType", "");
  if (!*mt && blob)
    mt = cb_json_get_str(blob, "mediaType", "");
  if (!strcmp(mt, OCI_INDEX) || !strcmp(mt, DOCKER_LIST))
    return true;
  return !*mt && blob && cb_json_get(blob, "manifests");
}

/* The tag a top-level descriptor gives: containerd's full image name, else a ref.name
 * that is a whole reference ("busybox:latest"); a bare ref.name ("latest") names no
 * repository. NULL when none; -1 on an invalid one. */
static int oci_tag(json_object *desc, char **out, cb_error_t *err) {
  *out = NULL;
  /* Annotation keys hold dots: no dotted paths here. */
  json_object *ann = cb_json_get(desc, "annotations"), *v = NULL;
  const char *name = NULL;
  if (ann && json_object_object_get_ex(ann, ANN_IMAGE_NAME, &v) &&
      json_object_is_type(v, json_type_string))
    name = json_object_get_string(v);
  if (!name) {
    const char *ref = NULL;
    if (ann && json_object_object_get_ex(ann, ANN_REF_NAME, &v) &&
        json_object_is_type(v, json_type_string))
      ref = json_object_get_string(v);
    if (ref && (strchr(ref, ':') || strchr(ref, '/')))
      name = ref;
  }
  if (!name)
    return 0;
  cleanup_free char *n = NULL, *t = NULL;
  if (cb_image_parse_ref(name, &n, &t, err) < 0)
    return -1;
  *out = xasprintf("%s:%s", n, t);
  return 0;
}

static int plan_oci_manifest(struct spool *s, struct plan *p, json_object *man, const char *tag,
                             cb_error_t *err) {
  json_object *cdesc = cb_json_get(man, "config");
  json_object *layers = cb_json_get(man, "layers");
  if (!cdesc || !json_object_is_type(cdesc, json_type_object) ||
      (layers && !json_object_is_type(layers, json_type_array)))
    return cb_error_make(err, 0, "invalid archive: a manifest is malformed");
  struct spool_entry *ce = oci_blob(s, cdesc, err);
  if (!ce)
    return -1;
  cleanup_free char *cpath = xasprintf("blobs/sha256/%s", cb_digest_hex(ce->digest));
  char *bytes = NULL;
  size_t len;
  if (spool_read(s, cpath, &bytes, &len, NULL, err) < 0)
    return -1;
  cleanup_strv char **diff_ids = NULL;
  if (check_config(bytes, len, ce->digest, &diff_ids, err) < 0) {
    free(bytes);
    return -1;
  }
  struct plan_image *im = plan_add(p, bytes, len);
  size_t nl = layers ? json_object_array_length(layers) : 0;
  cleanup_free struct spool_entry **srcs = xcalloc(nl ? nl : 1, sizeof *srcs);
  for (size_t k = 0; k < nl; k++) {
    srcs[k] = oci_blob(s, json_object_array_get_idx(layers, k), err);
    if (!srcs[k])
      return -1;
  }
  if (plan_layers(im, diff_ids, srcs, nl, err) < 0)
    return -1;
  if (tag)
    plan_tag(im, tag);
  return 0;
}

/* index.json: each manifest it lists (or, for a multi-platform index, ours). */
static int plan_oci(struct spool *s, struct plan *p, cb_error_t *err) {
  cleanup_json json_object *layout = NULL;
  if (spool_read_json(s, "oci-layout", &layout, err) < 0)
    return -1;
  const char *v = cb_json_get_str(layout, "imageLayoutVersion", "");
  if (strcmp(v, "1.0.0"))
    return cb_error_make(err, 0, "invalid archive: unsupported OCI image layout version `%s`", v);
  cleanup_json json_object *index = NULL;
  if (spool_read_json(s, "index.json", &index, err) < 0)
    return -1;
  json_object *mans = cb_json_get(index, "manifests");
  if (!mans || !json_object_is_type(mans, json_type_array))
    return cb_error_make(err, 0, "invalid archive: index.json lists no manifests");
  for (size_t i = 0; i < json_object_array_length(mans); i++) {
    json_object *desc = json_object_array_get_idx(mans, i);
    cleanup_free char *tag = NULL;
    if (oci_tag(desc, &tag, err) < 0)
      return -1;
    cleanup_json json_object *blob = NULL;
    if (oci_read_blob(s, desc, &blob, err) < 0)
      return -1;
    if (is_index(desc, blob)) {
      /* A multi-platform index: the manifest for linux/<our architecture>. */
      json_object *sub = cb_json_get(blob, "manifests");
      json_object *pick = NULL;
      for (size_t k = 0; sub && k < json_object_array_length(sub); k++) {
        json_object *d = json_object_array_get_idx(sub, k);
        const char *os = cb_json_get_str(d, "platform.os", "");
        const char *arch = cb_json_get_str(d, "platform.architecture", "");
        if ((!*os || !strcmp(os, "linux")) && (!*arch || !strcmp(arch, cb_image_arch()))) {
          pick = d;
          break;
        }
      }
      if (!pick)
        return cb_error_make(err, 0, "invalid archive: no image for linux/%s in the index",
                             cb_image_arch());
      cleanup_json json_object *man = NULL;
      if (oci_read_blob(s, pick, &man, err) < 0)
        return -1;
      if (is_index(pick, man))
        return cb_error_make(err, 0, "invalid archive: nested image indexes are not supported");
      if (plan_oci_manifest(s, p, man, tag, err) < 0)
        return -1;
      continue;
    }
    if (plan_oci_manifest(s, p, blob, tag, err) < 0)
      return -1;
  }
  return 0;
}

/* ---- loading --------------------------------------------------------------------------- */

static bool layer_in_store(const struct cb_ctx *ctx, const char *diff_id) {
  cleanup_free char *p = cb_ctx_path(ctx, "layers/%s", cb_digest_hex(diff_id));
  struct stat st;
  return lstat(p, &st) == 0;
}

/* The sha256 of the uncompressed stream in fd (plain or compressed), read, not unpacked. */
static int uncompressed_digest(int fd, char out[CB_DIGEST_LEN + 1], cb_error_t *err) {
  struct archive *a = archive_read_new();
  if (!a)
    oom();
  archive_read_support_filter_all(a);
  archive_read_support_format_raw(a);
  archive_read_support_format_empty(a);
  struct cb_sha256 sha = {0};
  cleanup_free char *buf = xmalloc(256 * 1024);
  int rc = -1;
  struct archive_entry *e;
  if (archive_read_open_fd(a, fd, 256 * 1024) != ARCHIVE_OK ||
      archive_read_next_header(a, &e) < ARCHIVE_WARN) {
    cb_error_make(err, 0, "invalid layer: %s", archive_error_string(a));
    goto out;
  }
  if (cb_sha256_init(&sha, err) < 0)
    goto out;
  for (;;) {
    if (check_interrupted(err) < 0)
      goto out;
    la_ssize_t r = archive_read_data(a, buf, 256 * 1024);
    if (r == 0)
      break;
    if (r < 0) {
      cb_error_make(err, 0, "invalid layer: %s", archive_error_string(a));
      goto out;
    }
    if (cb_sha256_update(&sha, buf, (size_t)r, err) < 0)
      goto out;
  }
  rc = cb_sha256_final(&sha, out, err);
out:
  if (rc < 0)
    cb_sha256_release(&sha);
  archive_read_free(a);
  return rc;
}

/* A layer of the archive that is not unpacked (the store has it already) must still hold
 * what its diff ID says: a tampered archive is refused whatever the store holds. */
static int verify_layer(struct spool *s, struct plan_layer *l, size_t k, cb_error_t *err) {
  if (l->src->verified || !strcmp(l->src->digest, l->diff_id)) {
    l->src->verified = true;
    return 0;
  }
  cleanup_close int fd = spool_open(s, l->src, err);
  if (fd < 0)
    return -1;
  char got[CB_DIGEST_LEN + 1];
  if (uncompressed_digest(fd, got, err) < 0)
    return cb_error_wrap(err, "layer %s", l->diff_id);
  if (strcmp(got, l->diff_id))
    return cb_error_make(err, 0, "invalid diffID for layer %zu: expected \"%s\", got \"%s\"", k,
                         l->diff_id, got);
  l->src->verified = true;
  return 0;
}

static void progress(const char *diff_id, int64_t size) {
  cleanup_free char *h = cb_human_size((double)size);
  printf("%.12s: Loading layer [==================================================>] %8s/%s\n",
         cb_digest_hex(diff_id), h, h);
  fflush(stdout);
}

static int unpack_layers(const struct cb_ctx *ctx, struct spool *s, struct plan *p,
                         struct cb_image_txn *t, bool show, cb_error_t *err) {
  cleanup_strv char **done = xcalloc(1, sizeof(char *));
  for (size_t i = 0; i < p->n; i++) {
    struct plan_image *im = &p->v[i];
    for (size_t k = 0; k < im->nlayers; k++) {
      struct plan_layer *l = &im->layers[k];
      bool seen = false;
      for (char **d = done; *d; d++)
        if (!strcmp(*d, l->diff_id))
          seen = true;
      if (check_interrupted(err) < 0)
        return -1;
      if (seen || layer_in_store(ctx, l->diff_id)) {
        if (verify_layer(s, l, k, err) < 0)
          return -1;
        continue;
      }
      cleanup_close int fd = spool_open(s, l->src, err);
      if (fd < 0)
        return -1;
      char got[CB_DIGEST_LEN + 1];
      if (cb_image_txn_add_layer(t, fd, CB_EXTRACT_WHITEOUTS, got, NULL, err) < 0)
        return cb_error_wrap(err, "layer %s", l->diff_id);
      if (strcmp(got, l->diff_id))
        return cb_error_make(err, 0, "invalid diffID for layer %zu: expected \"%s\", got \"%s\"", k,
                             l->diff_id, got);
      cb_strv_append(&done, l->diff_id);
      l->src->verified = true;
      if (show)
        progress(l->diff_id, l->src->size);
    }
  }
  return check_interrupted(err);
}

static int commit_images(const struct cb_ctx *ctx, struct plan *p, struct cb_image_txn *t,
                         cb_error_t *err) {
  cleanup_free char *ids = xstrdup("");
  size_t last_tags = 0;
  for (size_t i = 0; i < p->n; i++) {
    struct plan_image *im = &p->v[i];
    /* What the tags named before, for Docker's notice. */
    size_t nt = cb_strv_len(im->tags);
    char(*prev)[CB_ID_LEN + 1] = xcalloc(nt ? nt : 1, sizeof *prev);
    for (size_t k = 0; k < nt; k++) {
      cleanup_image struct cb_image *old = NULL;
      cb_error_t e = NULL;
      if (cb_image_locate(ctx, im->tags[k], &old, &e) == 0)
        memcpy(prev[k], old->id, sizeof prev[k]);
      else
        cb_error_release(&e);
    }
    char id[CB_ID_LEN + 1];
    if (cb_image_txn_commit(t, im->config, im->config_len, im->tags, id, err) < 0) {
      free(prev);
      return -1;
    }
    char *more = xasprintf("%sLoaded image ID: sha256:%s\n", ids, id);
    free(ids);
    ids = more;
    for (size_t k = 0; k < nt; k++) {
      if (prev[k][0] && strcmp(prev[k], id))
        printf("The image %s already exists, renaming the old one with ID sha256:%s to empty "
               "string\n",
               im->tags[k], prev[k]);
      printf("Loaded image: %s\n", im->tags[k]);
    }
    free(prev);
    last_tags = nt;
  }
  /* As Docker: the IDs are printed when the last image has no tag. */
  if (p->n > 0 && last_tags == 0)
    fputs(ids, stdout);
  return 0;
}

static int do_load(const struct cb_ctx *ctx, int fd, bool show, cb_error_t *err) {
  struct spool s = {.fd = -1};
  struct plan p = {0};
  struct cb_image_txn *t = NULL;
  int rc = -1;
  if (spool_create(ctx, &s, err) < 0 || spool_archive(&s, fd, err) < 0)
    goto out;
  if (spool_get(&s, "manifest.json")) {
    if (plan_docker(&s, &p, err) < 0)
      goto out;
  } else if (spool_get(&s, "index.json")) {
    if (plan_oci(&s, &p, err) < 0)
      goto out;
  } else {
    cb_error_make(err, 0,
                  "invalid archive: no manifest.json or index.json (not a `docker "
                  "save` or OCI image-layout archive)");
    goto out;
  }
  if (check_interrupted(err) < 0 || cb_image_txn_begin(ctx, "load", &t, err) < 0)
    goto out;
  if (unpack_layers(ctx, &s, &p, t, show, err) < 0 || commit_images(ctx, &p, t, err) < 0)
    goto out;
  rc = 0;
out:
  cb_image_txn_free(t);
  plan_free(&p);
  spool_free(&s);
  return rc;
}

int cmd_load(int argc, char **argv) {
  static const struct option longopts[] = {
      {"input", required_argument, NULL, 'i'},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *input = NULL;
  bool quiet = false;
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":i:q", longopts, NULL)) != -1) {
    switch (c) {
    case 'i': input = optarg; break;
    case 'q': quiet = true; break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("load", argv, c);
    }
  }
  if (optind < argc) {
    fputs("Error: \"crowbar load\" accepts no arguments.\nSee 'crowbar load --help'.\n", stderr);
    return 1;
  }
  if (input && !*input)
    input = NULL;
  if (!input && isatty(STDIN_FILENO)) {
    fputs("Error: requested load from stdin, but stdin is empty\n", stderr);
    return 1;
  }
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  cb_error_t err = NULL;
  struct cb_ctx ctx = {0};
  int ret = 1;
  cleanup_close int fd = -1;
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 1, &err) < 0)
    goto out;
  if (input) {
    fd = open(input, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      cb_error_sys(&err, "open %s", input);
      goto out;
    }
  }
  if (do_load(&ctx, fd >= 0 ? fd : STDIN_FILENO, !quiet && isatty(STDOUT_FILENO), &err) < 0)
    goto out;
  ret = 0;
out:
  if (err)
    cb_error_print(&err);
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
