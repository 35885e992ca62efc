/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The local image store (layout in image.h), the reading side: references, loading,
 * locating and listing images. Everything a container start needs, and nothing that
 * pulls in libarchive or libcrypto (imagestore.c writes, imageconfig.c edits configs). */
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

#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/format.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/lock.h"
#include "crowbar/util.h"
#include "image-internal.h"

bool cb_image_is_full_id(const char *s) {
  return strlen(s) == CB_ID_LEN && cb_is_hex(s, CB_ID_LEN);
}

const char *cb_image_short_id(const char *id, char buf[CB_SHORT_ID_LEN + 1]) {
  snprintf(buf, CB_SHORT_ID_LEN + 1, "%s", cb_digest_hex(id));
  return buf;
}

/* ---- references ------------------------------------------------------------------------ */

static bool is_alnum_lower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* pathComponent: [a-z0-9]+ ((?:[._]|__|[-]+) [a-z0-9]+)* */
static bool valid_path_component(const char *s, size_t n) {
  size_t i = 0;
  if (n == 0 || !is_alnum_lower(s[0]))
    return false;
  while (i < n) {
    while (i < n && is_alnum_lower(s[i]))
      i++;
    if (i == n)
      return true;
    size_t sep = i;
    if (s[i] == '.') {
      i++;
    } else if (s[i] == '_') {
      i++;
      if (i < n && s[i] == '_')
        i++;
    } else if (s[i] == '-') {
      while (i < n && s[i] == '-')
        i++;
    } else {
      return false;
    }
    if (i == n || !is_alnum_lower(s[i]) || i - sep == 0)
      return false;
  }
  return true;
}

/* domain: components [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])? joined by '.', then :port. */
static bool valid_domain(const char *s, size_t n) {
  const char *colon = memchr(s, ':', n);
  size_t host = colon ? (size_t)(colon - s) : n;
  if (colon) {
    if (colon + 1 == s + n)
      return false;
    for (const char *p = colon + 1; p < s + n; p++)
      if (!isdigit((unsigned char)*p))
        return false;
  }
  size_t i = 0;
  while (i < host) {
    size_t start = i;
    while (i < host && s[i] != '.')
      i++;
    size_t l = i - start;
    if (l == 0 || !isalnum((unsigned char)s[start]) || !isalnum((unsigned char)s[i - 1]))
      return false;
    for (size_t k = start; k < i; k++)
      if (!isalnum((unsigned char)s[k]) && s[k] != '-')
        return false;
    if (i < host)
      i++;
    if (i == host && s[i - 1] == '.')
      return false;
  }
  return host > 0;
}

static bool valid_tag(const char *t) {
  size_t n = strlen(t);
  if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!(isalnum((unsigned char)t[i]) || t[i] == '_' || t[i] == '.' || t[i] == '-'))
      return false;
  return true;
}

int cb_image_parse_ref(const char *ref, char **name, char **tag, cb_error_t *err) {
  if (!ref || !*ref)
    return cb_error_make(err, 0, "invalid reference format");
  if (cb_image_is_full_id(ref))
    return cb_error_make(err, 0,
                         "invalid repository name (%s), cannot specify 64-byte hexadecimal "
                         "strings",
                         ref);
  if (strchr(ref, '@'))
    return cb_error_make(err, 0,
                         "invalid reference format: digest references are not "
                         "supported by the local store");
  /* splitDockerDomain */
  const char *slash = strchr(ref, '/');
  cleanup_free char *domain = NULL;
  const char *rest;
  if (slash) {
    size_t dl = (size_t)(slash - ref);
    bool has_dot_colon = memchr(ref, '.', dl) || memchr(ref, ':', dl);
    bool is_localhost = dl == 9 && !strncmp(ref, "localhost", 9);
    bool lower = true;
    for (size_t i = 0; i < dl; i++)
      if (isupper((unsigned char)ref[i]))
        lower = false;
    if (has_dot_colon || is_localhost || !lower) {
      domain = strndup(ref, dl);
      rest = slash + 1;
    } else {
      rest = ref;
    }
  } else {
    rest = ref;
  }
  if (!domain)
    domain = xstrdup(DEFAULT_DOMAIN);
  if (!domain)
    oom();
  if (!strcmp(domain, LEGACY_DEFAULT_DOMAIN)) {
    free(domain);
    domain = xstrdup(DEFAULT_DOMAIN);
  }
  cleanup_free char *remainder = NULL;
  if (!strcmp(domain, DEFAULT_DOMAIN) && !strchr(rest, '/'))
    remainder = xasprintf(OFFICIAL_PREFIX "%s", rest);
  else
    remainder = xstrdup(rest);
  char *colon = strchr(remainder, ':');
  cleanup_free char *t = xstrdup(colon ? colon + 1 : "latest");
  if (colon)
    *colon = '\0';
  for (char *p = remainder; *p; p++)
    if (isupper((unsigned char)*p))
      return cb_error_make(
          err, 0, "invalid reference format: repository name (%s) must be lowercase", remainder);
  if (!valid_domain(domain, strlen(domain)) || !valid_tag(t))
    return cb_error_make(err, 0, "invalid reference format");
  for (const char *p = remainder;;) {
    const char *e = strchrnul(p, '/');
    if (!valid_path_component(p, (size_t)(e - p)))
      return cb_error_make(err, 0, "invalid reference format");
    if (!*e)
      break;
    p = e + 1;
  }
  if (strlen(domain) + 1 + strlen(remainder) > NAME_MAX_LEN)
    return cb_error_make(err, 0,
                         "invalid reference format: repository name must not be more "
                         "than %d characters",
                         NAME_MAX_LEN);
  /* FamiliarName */
  char *familiar;
  if (!strcmp(domain, DEFAULT_DOMAIN)) {
    const char *r = remainder;
    if (cb_str_has_prefix(r, OFFICIAL_PREFIX) && !strchr(r + strlen(OFFICIAL_PREFIX), '/'))
      r += strlen(OFFICIAL_PREFIX);
    familiar = xstrdup(r);
  } else {
    familiar = xasprintf("%s/%s", domain, remainder);
  }
  *name = familiar;
  *tag = steal_pointer(&t);
  return 0;
}

char *cb_image_normalize_ref(const char *ref) {
  cb_error_t err = NULL;
  cleanup_free char *name = NULL, *tag = NULL;
  if (cb_image_parse_ref(ref, &name, &tag, &err) < 0) {
    cb_error_release(&err);
    return NULL;
  }
  return xasprintf("%s:%s", name, tag);
}

/* "No such image: busybox:latest" for names (as Docker's daemon says it), else as given. */
int cb_image_no_such(cb_error_t *err, const char *ref) {
  cleanup_free char *n = cb_image_normalize_ref(ref);
  return cb_error_make(err, 0, "No such image: %s", n ? n : ref);
}

/* ---- repositories.json ----------------------------------------------------------------- */

int cb_image_repos_read(const struct cb_ctx *ctx, json_object **out, cb_error_t *err) {
  cleanup_free char *path = cb_ctx_path(ctx, "repositories.json");
  if (access(path, F_OK) < 0 && errno == ENOENT) {
    *out = json_object_new_object();
    return 0;
  }
  if (cb_json_read_file(path, out, err) < 0)
    return -1;
  if (!json_object_is_type(*out, json_type_object)) {
    json_object_put(*out);
    *out = NULL;
    return cb_error_make(err, 0, "%s: not a JSON object", path);
  }
  return 0;
}

int cb_image_repos_write(const struct cb_ctx *ctx, json_object *repos, cb_error_t *err) {
  cleanup_free char *path = cb_ctx_path(ctx, "repositories.json");
  return cb_json_write_file(path, repos, err);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The tags (sorted) that point at "sha256:<hex>". */
char **cb_image_repos_tags_of(json_object *repos, const char *hex) {
  char **v = xcalloc(1, sizeof *v);
  if (!repos)
    return v;
  json_object_object_foreach(repos, key, val) {
    const char *s = json_object_get_string(val);
    if (s && !strcmp(cb_digest_hex(s), hex) && cb_str_has_prefix(s, CB_DIGEST_PREFIX))
      cb_strv_append(&v, key);
  }
  qsort(v, cb_strv_len(v), sizeof *v, cmp_str);
  return v;
}

/* ---- loading ----------------------------------------------------------------------------- */

static int64_t layer_size(const struct cb_ctx *ctx, const char *diff_id) {
  cleanup_free char *path = cb_ctx_path(ctx, "layers/%s/layer.json", cb_digest_hex(diff_id));
  json_object *j = NULL;
  cb_error_t err = NULL;
  if (cb_json_read_file(path, &j, &err) < 0) {
    cb_error_release(&err);
    return 0;
  }
  int64_t s = cb_json_get_int(j, "Size", 0);
  json_object_put(j);
  return s;
}

static int image_load(const struct cb_ctx *ctx, const char *hex, json_object *repos,
                      struct cb_image **out, cb_error_t *err) {
  cleanup_free char *path = cb_ctx_path(ctx, "images/%s/config.json", hex);
  json_object *cfg = NULL;
  if (cb_json_read_file(path, &cfg, err) < 0)
    return -1;
  if (!json_object_is_type(cfg, json_type_object)) {
    json_object_put(cfg);
    return cb_error_make(err, 0, "%s: not a JSON object", path);
  }
  struct cb_image *img = xcalloc(1, sizeof *img);
  snprintf(img->id, sizeof img->id, "%s", hex);
  img->config = cfg;
  img->diff_ids = cb_json_get_strv(cfg, "rootfs.diff_ids");
  if (!img->diff_ids)
    img->diff_ids = xcalloc(1, sizeof(char *));
  img->tags = cb_image_repos_tags_of(repos, hex);
  int64_t ns = 0;
  if (cb_parse_rfc3339(cb_json_get_str(cfg, "created", ""), &ns) == 0)
    img->created_ns = ns;
  for (char **d = img->diff_ids; *d; d++)
    img->size += layer_size(ctx, *d);
  *out = img;
  return 0;
}

void cb_image_free(struct cb_image *img) {
  if (!img)
    return;
  if (img->config)
    json_object_put(img->config);
  cb_strv_free(img->diff_ids);
  cb_strv_free(img->tags);
  free(img);
}

/* The ID of the only image whose ID starts with prefix: 1 found, 0 none, -1 error. */
static int find_prefix(const struct cb_ctx *ctx, const char *prefix, char id[CB_ID_LEN + 1],
                       cb_error_t *err) {
  cleanup_free char *dir = cb_ctx_path(ctx, "images");
  cleanup_dir DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : cb_error_sys(err, "open `%s`", dir);
  size_t pl = strlen(prefix);
  int found = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!cb_image_is_full_id(de->d_name) || strncmp(de->d_name, prefix, pl))
      continue;
    if (found++)
      return cb_error_make(err, 0, "multiple images match prefix %s", prefix);
    memcpy(id, de->d_name, CB_ID_LEN + 1);
  }
  return found;
}

/* Resolve ref to an image ID (Docker's order: full ID or sha256:ID, tag, ID prefix). */
static int resolve(const struct cb_ctx *ctx, const char *ref, json_object *repos,
                   char id[CB_ID_LEN + 1], cb_error_t *err) {
  if (!ref || !*ref)
    return cb_error_make(err, 0, "No such image: ");
  bool digest = cb_str_has_prefix(ref, CB_DIGEST_PREFIX);
  const char *h = digest ? ref + strlen(CB_DIGEST_PREFIX) : ref;
  size_t hl = strlen(h);
  if (cb_image_is_full_id(h)) {
    cleanup_free char *p = cb_ctx_path(ctx, "images/%s/config.json", h);
    if (access(p, F_OK) == 0) {
      memcpy(id, h, CB_ID_LEN + 1);
      return 0;
    }
    return cb_image_no_such(err, ref);
  }
  cleanup_free char *norm = digest ? NULL : cb_image_normalize_ref(ref);
  if (norm) {
    json_object *v = NULL;
    if (json_object_object_get_ex(repos, norm, &v)) {
      const char *s = json_object_get_string(v);
      if (s && cb_digest_valid(s)) {
        memcpy(id, s + strlen(CB_DIGEST_PREFIX), CB_ID_LEN + 1);
        return 0;
      }
    }
  }
  if (hl > 0 && hl < CB_ID_LEN && cb_is_hex(h, hl)) {
    int r = find_prefix(ctx, h, id, err);
    if (r < 0)
      return -1;
    if (r == 1)
      return 0;
  }
  if (!digest && !norm) {
    cleanup_free char *n = NULL, *t = NULL;
    if (cb_image_parse_ref(ref, &n, &t, err) < 0)
      return -1;
  }
  return cb_image_no_such(err, ref);
}

int cb_image_locate(const struct cb_ctx *ctx, const char *ref, struct cb_image **out,
                    cb_error_t *err) {
  cleanup_json json_object *repos = NULL;
  if (cb_image_repos_read(ctx, &repos, err) < 0)
    return -1;
  char id[CB_ID_LEN + 1];
  if (resolve(ctx, ref, repos, id, err) < 0)
    return -1;
  if (image_load(ctx, id, repos, out, err) < 0) {
    if ((*err)->errno_ == ENOENT) {
      cb_error_release(err);
      return cb_image_no_such(err, ref);
    }
    return -1;
  }
  return 0;
}

static int cmp_image_newest(const void *a, const void *b) {
  const struct cb_image *x = *(struct cb_image *const *)a, *y = *(struct cb_image *const *)b;
  if (x->created_ns != y->created_ns)
    return x->created_ns > y->created_ns ? -1 : 1;
  return strcmp(x->id, y->id);
}

int cb_image_list(const struct cb_ctx *ctx, struct cb_image ***out, size_t *n, cb_error_t *err) {
  cleanup_json json_object *repos = NULL;
  if (cb_image_repos_read(ctx, &repos, err) < 0)
    return -1;
  *out = NULL;
  *n = 0;
  cleanup_free char *dir = cb_ctx_path(ctx, "images");
  cleanup_dir DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : cb_error_sys(err, "open `%s`", dir);
  struct cb_image **v = NULL;
  size_t k = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!cb_image_is_full_id(de->d_name))
      continue;
    struct cb_image *img = NULL;
    if (image_load(ctx, de->d_name, repos, &img, err) < 0) {
      if ((*err)->errno_ == ENOENT) { /* removed meanwhile */
        cb_error_release(err);
        continue;
      }
      cb_image_list_free(v, k);
      return -1;
    }
    v = xrealloc(v, (k + 1) * sizeof *v);
    v[k++] = img;
  }
  if (k)
    qsort(v, k, sizeof *v, cmp_image_newest);
  *out = v;
  *n = k;
  return 0;
}

void cb_image_list_free(struct cb_image **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    cb_image_free(v[i]);
  free(v);
}

char **cb_image_layer_dirs(const struct cb_ctx *ctx, const struct cb_image *img) {
  size_t n = cb_strv_len(img->diff_ids);
  char **v = xcalloc(n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = cb_ctx_path(ctx, "layers/%s/diff", cb_digest_hex(img->diff_ids[n - 1 - i]));
  return v;
}

/* ---- configs ----------------------------------------------------------------------------- */
