/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The local image store (layout in image.h): references, loading and locating images,
 * configs and Dockerfile changes, writing (transactions, import, tags) and removal. */
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

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"
#define NAME_MAX_LEN 255
#define TMP_PREFIX "image-"

static bool is_full_id(const char *s) {
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
  if (is_full_id(ref))
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
static int no_such_image(cb_error_t *err, const char *ref) {
  cleanup_free char *n = cb_image_normalize_ref(ref);
  return cb_error_make(err, 0, "No such image: %s", n ? n : ref);
}

/* ---- repositories.json ----------------------------------------------------------------- */

static int repos_read(const struct cb_ctx *ctx, json_object **out, cb_error_t *err) {
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

static int repos_write(const struct cb_ctx *ctx, json_object *repos, cb_error_t *err) {
  cleanup_free char *path = cb_ctx_path(ctx, "repositories.json");
  return cb_json_write_file(path, repos, err);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The tags (sorted) that point at "sha256:<hex>". */
static char **repos_tags_of(json_object *repos, const char *hex) {
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
  img->tags = repos_tags_of(repos, hex);
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
    if (!is_full_id(de->d_name) || strncmp(de->d_name, prefix, pl))
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
  if (is_full_id(h)) {
    cleanup_free char *p = cb_ctx_path(ctx, "images/%s/config.json", h);
    if (access(p, F_OK) == 0) {
      memcpy(id, h, CB_ID_LEN + 1);
      return 0;
    }
    return no_such_image(err, ref);
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
  return no_such_image(err, ref);
}

int cb_image_locate(const struct cb_ctx *ctx, const char *ref, struct cb_image **out,
                    cb_error_t *err) {
  cleanup_json json_object *repos = NULL;
  if (repos_read(ctx, &repos, err) < 0)
    return -1;
  char id[CB_ID_LEN + 1];
  if (resolve(ctx, ref, repos, id, err) < 0)
    return -1;
  if (image_load(ctx, id, repos, out, err) < 0) {
    if ((*err)->errno_ == ENOENT) {
      cb_error_release(err);
      return no_such_image(err, ref);
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
  if (repos_read(ctx, &repos, err) < 0)
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
    if (!is_full_id(de->d_name))
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

static const char *go_arch(void) {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__i386__)
  return "386";
#elif defined(__arm__)
  return "arm";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  static struct utsname u;
  uname(&u);
  return u.machine;
#endif
}

json_object *cb_image_config_new(int64_t created_ns) {
  json_object *c = json_object_new_object();
  char t[CB_RFC3339_LEN];
  cb_format_rfc3339nano(created_ns, t);
  cb_json_set_str(c, "architecture", go_arch());
  cb_json_set_str(c, "os", "linux");
  cb_json_set_str(c, "created", t);
  json_object_object_add(c, "config", json_object_new_object());
  json_object *rootfs = json_object_new_object();
  cb_json_set_str(rootfs, "type", "layers");
  json_object_object_add(rootfs, "diff_ids", json_object_new_array());
  json_object_object_add(c, "rootfs", rootfs);
  json_object_object_add(c, "history", json_object_new_array());
  return c;
}

/* A growing string. */
struct buf {
  char *s;
  size_t n, cap;
};
static void buf_putn(struct buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->s = xrealloc(b->s, b->cap);
  }
  memcpy(b->s + b->n, s, n);
  b->n += n;
  b->s[b->n] = '\0';
}
static void buf_putc(struct buf *b, char c) {
  buf_putn(b, &c, 1);
}
static char *buf_take(struct buf *b) {
  if (!b->s)
    return xstrdup("");
  return b->s;
}

static const char *env_lookup(char **env, const char *name, size_t n) {
  for (char **e = env; e && *e; e++)
    if (!strncmp(*e, name, n) && (*e)[n] == '=')
      return *e + n + 1;
  return NULL;
}

static bool is_name_char(char c) {
  return isalnum((unsigned char)c) || c == '_';
}

/* Expand one $VAR / ${VAR} at *p (pointing after '$'); appends to b. */
static void expand_var(const char **p, char **env, struct buf *b) {
  const char *s = *p;
  if (*s == '{') {
    const char *close = strchr(s, '}');
    if (!close) {
      buf_putc(b, '$');
      return;
    }
    const char *v = env_lookup(env, s + 1, (size_t)(close - s - 1));
    if (v)
      buf_putn(b, v, strlen(v));
    *p = close + 1;
    return;
  }
  size_t n = 0;
  while (is_name_char(s[n]))
    n++;
  if (n == 0) {
    buf_putc(b, '$');
    return;
  }
  const char *v = env_lookup(env, s, n);
  if (v)
    buf_putn(b, v, strlen(v));
  *p = s + n;
}

/* Docker's shell lexer for one word (ProcessWord): quotes removed, backslash escapes,
 * variables expanded from env (when env_on). */
static char *process_word(const char *s, char **env, bool env_on) {
  struct buf b = {0};
  const char *p = s;
  while (*p) {
    char c = *p++;
    if (c == '\\' && *p) {
      buf_putc(&b, *p++);
    } else if (c == '\'') {
      while (*p && *p != '\'')
        buf_putc(&b, *p++);
      if (*p)
        p++;
    } else if (c == '"') {
      while (*p && *p != '"') {
        if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$')) {
          buf_putc(&b, p[1]);
          p += 2;
        } else if (*p == '$' && env_on) {
          p++;
          expand_var(&p, env, &b);
        } else {
          buf_putc(&b, *p++);
        }
      }
      if (*p)
        p++;
    } else if (c == '$' && env_on) {
      expand_var(&p, env, &b);
    } else {
      buf_putc(&b, c);
    }
  }
  return buf_take(&b);
}

/* Split on blanks outside quotes, keeping quotes and escapes (Dockerfile parseWords). */
static char **split_words(const char *s) {
  char **v = xcalloc(1, sizeof *v);
  struct buf b = {0};
  char quote = 0;
  bool in_word = false;
  for (const char *p = s; *p; p++) {
    char c = *p;
    if (!quote && isspace((unsigned char)c)) {
      if (in_word) {
        cb_strv_append(&v, b.s);
        b.n = 0;
        b.s[0] = '\0';
        in_word = false;
      }
      continue;
    }
    in_word = true;
    if (c == '\\' && p[1] && quote != '\'') {
      buf_putc(&b, c);
      buf_putc(&b, *++p);
      continue;
    }
    if (quote && c == quote)
      quote = 0;
    else if (!quote && (c == '"' || c == '\''))
      quote = c;
    buf_putc(&b, c);
  }
  if (in_word)
    cb_strv_append(&v, b.s);
  free(b.s);
  return v;
}

/* A JSON array of strings, or NULL (then the shell form applies). */
static char **parse_json_strv(const char *s) {
  if (*s != '[')
    return NULL;
  cleanup_json json_object *j = NULL;
  cb_error_t e = NULL;
  if (cb_json_parse(s, &j, &e) < 0) {
    cb_error_release(&e);
    return NULL;
  }
  if (!json_object_is_type(j, json_type_array))
    return NULL;
  size_t n = json_object_array_length(j);
  for (size_t i = 0; i < n; i++)
    if (!json_object_is_type(json_object_array_get_idx(j, i), json_type_string))
      return NULL;
  char **v = xcalloc(n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = xstrdup(json_object_get_string(json_object_array_get_idx(j, i)));
  return v;
}

static char **shell_form(const char *rest) {
  char **v = xcalloc(4, sizeof *v);
  v[0] = xstrdup("/bin/sh");
  v[1] = xstrdup("-c");
  v[2] = xstrdup(rest);
  return v;
}

static void env_set(json_object *config, const char *key, const char *value) {
  cleanup_strv char **env = cb_json_get_strv(config, "Env");
  size_t kl = strlen(key);
  bool done = false;
  for (char **e = env; e && *e; e++)
    if (!strncmp(*e, key, kl) && (*e)[kl] == '=') {
      free(*e);
      *e = xasprintf("%s=%s", key, value);
      done = true;
    }
  if (!done) {
    cleanup_free char *kv = xasprintf("%s=%s", key, value);
    cb_strv_append(&env, kv);
  }
  cb_json_set_strv(config, "Env", env);
}

static void label_set(json_object *config, const char *key, const char *value) {
  json_object *labels = cb_json_obj(config, "Labels");
  cb_json_set_str(labels, key, value);
}

/* ENV and LABEL: "k=v k2=v2" or the legacy "k v with spaces". */
static int key_values(json_object *config, const char *what, const char *rest,
                      void (*set)(json_object *, const char *, const char *), cb_error_t *err) {
  cleanup_strv char **words = split_words(rest);
  if (!words[0])
    return cb_error_make(err, 0, "%s requires at least one argument", what);
  if (!strchr(words[0], '=')) {
    /* Legacy form: the first word is the name, the rest of the line its value. */
    const char *p = rest;
    while (*p && isspace((unsigned char)*p))
      p++;
    while (*p && !isspace((unsigned char)*p))
      p++;
    while (*p && isspace((unsigned char)*p))
      p++;
    if (!*p)
      return cb_error_make(err, 0, "%s must have two arguments", what);
    cleanup_strv char **env = cb_json_get_strv(config, "Env");
    cleanup_free char *k = process_word(words[0], env, true);
    cleanup_free char *v = process_word(p, env, true);
    if (!*k)
      return cb_error_make(err, 0, "%s names can not be blank", what);
    set(config, k, v);
    return 0;
  }
  for (char **w = words; *w; w++) {
    char *eq = strchr(*w, '=');
    if (!eq)
      return cb_error_make(err, 0,
                           "Syntax error - can't find = in \"%s\". Must be of the form: "
                           "name=value",
                           *w);
    *eq = '\0';
    cleanup_strv char **env = cb_json_get_strv(config, "Env");
    cleanup_free char *k = process_word(*w, env, true);
    cleanup_free char *v = process_word(eq + 1, env, true);
    if (!*k)
      return cb_error_make(err, 0, "%s names can not be blank", what);
    set(config, k, v);
  }
  return 0;
}

static int parse_port(const char *s, long *out) {
  long v;
  if (cb_parse_long(s, &v) < 0 || v < 0 || v > 65535)
    return -1;
  *out = v;
  return 0;
}

static int expose(json_object *config, const char *rest, char **env, cb_error_t *err) {
  cleanup_strv char **words = split_words(rest);
  if (!words[0])
    return cb_error_make(err, 0, "EXPOSE requires at least one argument");
  json_object *ports = cb_json_obj(config, "ExposedPorts");
  for (char **w = words; *w; w++) {
    cleanup_free char *word = process_word(*w, env, true);
    char *slash = strchr(word, '/');
    cleanup_free char *proto = xstrdup(slash ? slash + 1 : "tcp");
    if (slash)
      *slash = '\0';
    for (char *p = proto; *p; p++)
      *p = (char)tolower((unsigned char)*p);
    if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
      return cb_error_make(err, 0, "invalid proto: %s", proto);
    long lo, hi = 0;
    char *dash = strchr(word, '-');
    if (dash)
      *dash = '\0';
    if (parse_port(word, &lo) < 0 || (dash && parse_port(dash + 1, &hi) < 0))
      return cb_error_make(err, 0, "invalid containerPort: %s", *w);
    if (!dash)
      hi = lo;
    if (hi < lo)
      return cb_error_make(err, 0, "invalid range specified for containerPort: %s", *w);
    for (long p = lo; p <= hi; p++) {
      char key[32];
      snprintf(key, sizeof key, "%ld/%s", p, proto);
      json_object_object_add(ports, key, json_object_new_object());
    }
  }
  return 0;
}

static int volume(json_object *config, const char *rest, char **env, cb_error_t *err) {
  cleanup_strv char **vols = parse_json_strv(rest);
  bool json = vols != NULL;
  if (!vols)
    vols = split_words(rest);
  if (!vols[0])
    return cb_error_make(err, 0, "VOLUME requires at least one argument");
  json_object *v = cb_json_obj(config, "Volumes");
  for (char **w = vols; *w; w++) {
    cleanup_free char *path = json ? xstrdup(*w) : process_word(*w, env, true);
    if (!*path)
      return cb_error_make(err, 0, "VOLUME specified can not be an empty string");
    json_object_object_add(v, path, json_object_new_object());
  }
  return 0;
}

/* filepath.Clean for an absolute path. */
static char *clean_abs(const char *p) {
  cleanup_free char *c = cb_archive_clean_path(p);
  /* cb_archive_clean_path refuses to climb above the root; for WORKDIR ".." at the root
   * stays at the root, as filepath.Clean("/..") does. */
  if (!c) {
    struct buf b = {0};
    cleanup_strv char **parts = NULL;
    cleanup_free char *copy = xstrdup(p);
    char *save = NULL;
    for (char *t = strtok_r(copy, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
      if (!strcmp(t, "."))
        continue;
      if (!strcmp(t, "..")) {
        size_t n = cb_strv_len(parts);
        if (n) {
          free(parts[n - 1]);
          parts[n - 1] = NULL;
        }
        continue;
      }
      cb_strv_append(&parts, t);
    }
    for (char **q = parts; q && *q; q++) {
      buf_putc(&b, '/');
      buf_putn(&b, *q, strlen(*q));
    }
    if (!b.s)
      return xstrdup("/");
    return buf_take(&b);
  }
  if (!strcmp(c, "."))
    return xstrdup("/");
  return xasprintf("/%s", c);
}

static int apply_one(json_object *config, const char *change, bool *cmd_set, cb_error_t *err) {
  const char *p = change;
  while (*p && isspace((unsigned char)*p))
    p++;
  const char *kw = p;
  while (*p && !isspace((unsigned char)*p))
    p++;
  size_t kl = (size_t)(p - kw);
  while (*p && isspace((unsigned char)*p))
    p++;
  cleanup_free char *rest = xstrdup(p);
  for (size_t n = strlen(rest); n > 0 && isspace((unsigned char)rest[n - 1]); n--)
    rest[n - 1] = '\0';
  char name[32];
  if (kl == 0)
    return cb_error_make(err, 0, "empty change instruction");
  snprintf(name, sizeof name, "%.*s", (int)(kl < sizeof name - 1 ? kl : sizeof name - 1), kw);
  for (char *c = name; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  cleanup_strv char **env = cb_json_get_strv(config, "Env");

  static const char *const valid[] = {"cmd",         "entrypoint", "env",     "expose",
                                      "healthcheck", "label",      "onbuild", "stopsignal",
                                      "user",        "volume",     "workdir"};
  bool ok = false;
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
    if (!strcmp(name, valid[i]))
      ok = true;
  if (!ok)
    return cb_error_make(err, 0, "%s is not a valid change command", name);
  if (!*rest)
    return cb_error_make(err, 0, "%s requires at least one argument", name);

  if (!strcmp(name, "cmd") || !strcmp(name, "entrypoint")) {
    cleanup_strv char **argv = parse_json_strv(rest);
    if (!argv)
      argv = shell_form(rest);
    if (!strcmp(name, "cmd")) {
      cb_json_set_strv(config, "Cmd", argv);
      *cmd_set = true;
    } else {
      cb_json_set_strv(config, "Entrypoint", argv);
      if (!*cmd_set)
        json_object_object_add(config, "Cmd", NULL);
    }
    return 0;
  }
  if (!strcmp(name, "env"))
    return key_values(config, "ENV", rest, env_set, err);
  if (!strcmp(name, "label"))
    return key_values(config, "LABEL", rest, label_set, err);
  if (!strcmp(name, "expose"))
    return expose(config, rest, env, err);
  if (!strcmp(name, "volume"))
    return volume(config, rest, env, err);
  if (!strcmp(name, "user")) {
    cleanup_free char *u = process_word(rest, env, true);
    cb_json_set_str(config, "User", u);
    return 0;
  }
  if (!strcmp(name, "workdir")) {
    cleanup_free char *w = process_word(rest, env, true);
    cleanup_free char *joined = NULL;
    if (w[0] != '/')
      joined = xasprintf("/%s/%s", cb_json_get_str(config, "WorkingDir", ""), w);
    cleanup_free char *clean = clean_abs(joined ? joined : w);
    cb_json_set_str(config, "WorkingDir", clean);
    return 0;
  }
  if (!strcmp(name, "stopsignal")) {
    cleanup_free char *s = process_word(rest, env, true);
    if (cb_signal_parse(s) < 0)
      return cb_error_make(err, 0, "Invalid signal: %s", s);
    cb_json_set_str(config, "StopSignal", s);
    return 0;
  }
  if (!strcmp(name, "onbuild")) {
    cleanup_strv char **w = split_words(rest);
    if (w[0] && (!strcasecmp(w[0], "ONBUILD")))
      return cb_error_make(err, 0, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (w[0] && (!strcasecmp(w[0], "FROM") || !strcasecmp(w[0], "MAINTAINER")))
      return cb_error_make(err, 0, "%s isn't allowed as an ONBUILD trigger", w[0]);
    cleanup_strv char **ob = cb_json_get_strv(config, "OnBuild");
    cb_strv_append(&ob, rest);
    cb_json_set_strv(config, "OnBuild", ob);
    return 0;
  }
  return cb_error_make(err, 0, "%s is not supported by crowbar", name);
}

int cb_image_apply_changes(json_object *config, char *const *changes, cb_error_t *err) {
  bool cmd_set = false;
  for (char *const *c = changes; c && *c; c++)
    if (apply_one(config, *c, &cmd_set, err) < 0)
      return -1;
  return 0;
}

/* ---- writing ------------------------------------------------------------------------------ */

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

static int open_store_dir(const struct cb_ctx *ctx, const char *name, cb_error_t *err) {
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
static int trash(const struct cb_ctx *ctx, int dirfd, const char *name, cb_error_t *err) {
  cleanup_close int tmpfd = open_store_dir(ctx, "tmp", err);
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
static int sweep_tmp(const struct cb_ctx *ctx) {
  cb_error_t e = NULL;
  cleanup_close int tmpfd = open_store_dir(ctx, "tmp", &e);
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

static bool strv_has(char **v, const char *s) {
  for (; v && *v; v++)
    if (!strcmp(*v, s))
      return true;
  return false;
}

/* The layers (hex) that images and containers still need. Returns -1 when a container's
 * layers cannot be known (its image is gone and it recorded no LowerDir): then nothing
 * may be collected. Hold the images lock. */
static int layers_in_use(const struct cb_ctx *ctx, const char *except_image, char ***out,
                         cb_error_t *err) {
  char **keep = xcalloc(1, sizeof *keep);
  cleanup_free char *idir = cb_ctx_path(ctx, "images");
  cleanup_dir DIR *d = opendir(idir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (!is_full_id(de->d_name) || (except_image && !strcmp(de->d_name, except_image)))
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
    if (!is_full_id(de->d_name))
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
static int gc_layers(const struct cb_ctx *ctx, cb_error_t *err) {
  cleanup_strv char **keep = NULL;
  int r = layers_in_use(ctx, NULL, &keep, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  cleanup_close int lfd = open_store_dir(ctx, "layers", err);
  if (lfd < 0)
    return -1;
  cleanup_dir DIR *d = fdopendir(dup(lfd));
  if (!d)
    return cb_error_sys(err, "open the layers folder");
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!is_full_id(de->d_name) || strv_has(keep, de->d_name))
      continue;
    if (trash(ctx, lfd, de->d_name, err) < 0)
      return -1;
  }
  return 0;
}

int cb_image_txn_begin(const struct cb_ctx *ctx, const char *what, struct cb_image_txn **out,
                       cb_error_t *err) {
  cleanup_close int lk = cb_lock(ctx, "images", 1, err);
  if (lk < 0)
    return -1;
  if (sweep_tmp(ctx) > 0) {
    /* A writer died: it may have left a layer without its image. */
    cb_error_t e = NULL;
    if (gc_layers(ctx, &e) < 0)
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
  if (repos_read(ctx, &repos, err) < 0)
    return -1;
  for (char *const *r = refs; *r; r++) {
    cleanup_free char *name = NULL, *tag = NULL;
    if (cb_image_parse_ref(*r, &name, &tag, err) < 0)
      return -1;
    cleanup_free char *key = xasprintf("%s:%s", name, tag);
    cleanup_free char *val = xasprintf(CB_DIGEST_PREFIX "%s", id);
    cb_json_set_str(repos, key, val);
  }
  return repos_write(ctx, repos, err);
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

  cleanup_close int lfd = open_store_dir(ctx, "layers", err);
  if (lfd < 0)
    return -1;
  for (char **d = diffs; d && *d; d++) {
    const char *hex = cb_digest_hex(*d);
    struct stat st;
    if (fstatat(lfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0)
      continue; /* already in the store: reuse it */
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

  cleanup_close int ifd = open_store_dir(ctx, "images", err);
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
    cleanup_close int ifd = open_store_dir(t->ctx, "images", &e);
    if (ifd < 0 || trash(t->ctx, ifd, id, &e) < 0)
      cb_error_release(&e);
  }
  if (moved && gc_layers(t->ctx, &e) < 0)
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
  if (!is_full_id(hex) || access(p, F_OK) < 0)
    return no_such_image(err, id);
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
    if (!is_full_id(de->d_name))
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
  if (repos_read(ctx, &repos, err) < 0)
    return -1;
  json_object_object_del(repos, key);
  if (repos_write(ctx, repos, err) < 0)
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
  if (repos_read(ctx, &repos, err) < 0)
    return -1;
  cleanup_strv char **tags = repos_tags_of(repos, img->id);
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
  int r = layers_in_use(ctx, img->id, &keep, err);
  if (r < 0)
    return -1;
  cleanup_strv char **chains = chain_ids(img->diff_ids, err);
  if (!chains)
    return -1;
  cleanup_close int ifd = open_store_dir(ctx, "images", err);
  if (ifd < 0 || trash(ctx, ifd, img->id, err) < 0)
    return -1;
  cleanup_free char *line = xasprintf("Deleted: " CB_DIGEST_PREFIX "%s", img->id);
  cb_strv_append(records, line);
  if (r > 0)
    return 0; /* some container's layers are unknown: keep every layer */
  cleanup_close int lfd = open_store_dir(ctx, "layers", err);
  if (lfd < 0)
    return -1;
  size_t n = cb_strv_len(img->diff_ids);
  for (size_t i = n; i-- > 0;) {
    const char *hex = cb_digest_hex(img->diff_ids[i]);
    if (strv_has(keep, hex))
      continue;
    struct stat st;
    if (fstatat(lfd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (trash(ctx, lfd, hex, err) < 0)
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
      return no_such_image(err, ref);
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
