/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image configs: a new one, and Dockerfile-style changes (import -c, commit -c). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/format.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/util.h"
#include "image-internal.h"

const char *cb_image_arch(void) {
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
  cb_json_set_str(c, "architecture", cb_image_arch());
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

/* One --interval/--timeout/--start-period of HEALTHCHECK: a Go duration of at least 1ms
 * (0 when not given). */
static int health_interval(const char *name, const char *v, int64_t *out, cb_error_t *err) {
  *out = 0;
  if (!v || !*v)
    return 0;
  int64_t d;
  if (cb_parse_duration(v, &d) < 0) {
    if (v[strspn(v, "0123456789.")] == '\0')
      return cb_error_make(err, 0, "time: missing unit in duration \"%s\"", v);
    return cb_error_make(err, 0, "time: invalid duration \"%s\"", v);
  }
  if (d < 1000000)
    return cb_error_make(err, 0, "Interval \"%s\" cannot be less than 1ms", name);
  *out = d;
  return 0;
}

/* HEALTHCHECK NONE, or HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D]
 * [--retries=N] CMD command (JSON or shell form), as Docker's builder reads it. The
 * image carries it (Config.Healthcheck); crowbar runs no health checks. */
static int healthcheck_with(json_object *config, const char *rest, char *vals[4], cb_error_t *err);

static int healthcheck(json_object *config, const char *rest, cb_error_t *err) {
  char *vals[4] = {0}; /* the flags' values */
  int r = healthcheck_with(config, rest, vals, err);
  for (size_t i = 0; i < 4; i++)
    free(vals[i]);
  return r;
}

static const char *const health_flags[] = {"interval", "timeout", "start-period", "retries"};

static int healthcheck_with(json_object *config, const char *rest, char *vals[4], cb_error_t *err) {
  const char *const *names = health_flags;
  const char *p = rest;
  /* Flags first: --name=value each, up to "--" or the first other word. */
  while (p[0] == '-' && p[1] == '-') {
    size_t wl = strcspn(p, " \t\r\n");
    cleanup_free char *word = xasprintf("%.*s", (int)wl, p);
    p += wl;
    p += strspn(p, " \t\r\n");
    if (!strcmp(word, "--"))
      break;
    char *eq = strchr(word, '=');
    if (eq)
      *eq = '\0';
    size_t i = 0;
    while (i < 4 && strcmp(word + 2, names[i]))
      i++;
    if (i == 4)
      return cb_error_make(err, 0, "Unknown flag: %s", word + 2);
    if (!eq)
      return cb_error_make(err, 0, "Missing a value on flag: %s", word + 2);
    free(vals[i]);
    vals[i] = xstrdup(eq + 1);
  }
  size_t tl = strcspn(p, " \t\r\n");
  if (!tl)
    return cb_error_make(err, 0, "HEALTHCHECK requires at least one argument");
  cleanup_free char *type = xasprintf("%.*s", (int)tl, p);
  for (char *c = type; *c; c++)
    *c = (char)toupper((unsigned char)*c);
  const char *args = p + tl;
  args += strspn(args, " \t\r\n");
  json_object *h = json_object_new_object();
  if (!strcmp(type, "NONE")) {
    if (*args) {
      json_object_put(h);
      return cb_error_make(err, 0, "HEALTHCHECK NONE takes no arguments");
    }
    json_object *test = json_object_new_array();
    json_object_array_add(test, json_object_new_string("NONE"));
    json_object_object_add(h, "Test", test);
    json_object_object_add(config, "Healthcheck", h);
    return 0;
  }
  if (strcmp(type, "CMD")) {
    json_object_put(h);
    return cb_error_make(err, 0, "Unknown type \"%s\" in HEALTHCHECK (try CMD)", type);
  }
  if (!*args) {
    json_object_put(h);
    return cb_error_make(err, 0, "Missing command after HEALTHCHECK CMD");
  }
  json_object *test = json_object_new_array();
  cleanup_strv char **argv = parse_json_strv(args);
  json_object_array_add(test, json_object_new_string(argv ? "CMD" : "CMD-SHELL"));
  if (argv)
    for (char **a = argv; *a; a++)
      json_object_array_add(test, json_object_new_string(*a));
  else
    json_object_array_add(test, json_object_new_string(args));
  json_object_object_add(h, "Test", test);
  static const char *const keys[] = {"Interval", "Timeout", "StartPeriod"};
  for (size_t i = 0; i < 3; i++) {
    int64_t d;
    if (health_interval(names[i], vals[i], &d, err) < 0) {
      json_object_put(h);
      return -1;
    }
    if (d)
      cb_json_set_int(h, keys[i], d);
  }
  if (vals[3] && *vals[3]) {
    long n;
    if (cb_parse_long(vals[3], &n) < 0 || n < INT32_MIN || n > INT32_MAX) {
      json_object_put(h);
      return cb_error_make(err, 0, "strconv.ParseInt: parsing \"%s\": %s", vals[3],
                           cb_parse_long(vals[3], &n) < 0 ? "invalid syntax"
                                                          : "value out of range");
    }
    if (n < 1) {
      json_object_put(h);
      return cb_error_make(err, 0, "--retries must be at least 1 (not %ld)", n);
    }
    cb_json_set_int(h, "Retries", n);
  }
  json_object_object_add(config, "Healthcheck", h);
  return 0;
}

/* filepath.Clean for an absolute path. */
/* An absolute, clean path: filepath.Clean("/" + p). */
static char *clean_abs(const char *p) {
  cleanup_free char *c = cb_path_clean_in_root(p);
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

  /* Docker 20.10's list: no STOPSIGNAL (its daemon refuses it in a change). */
  static const char *const valid[] = {"cmd",   "entrypoint", "env",  "expose", "healthcheck",
                                      "label", "onbuild",    "user", "volume", "workdir"};
  bool ok = false;
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
    if (!strcmp(name, valid[i]))
      ok = true;
  if (!ok)
    return cb_error_make(err, 0, "%s is not a valid change command", name);
  if (!strcmp(name, "healthcheck"))
    return healthcheck(config, rest, err);
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