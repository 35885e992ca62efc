/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar ps: list containers, with docker ps's columns, filters and --format fields. */
#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/du.h"
#include "crowbar/format.h"
#include "crowbar/json.h"
#include "crowbar/output.h"
#include "crowbar/ports.h"
#include "crowbar/verb.h"

CB_VERB(ps, "List containers");

#define DEFAULT_TABLE                                                                              \
  "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t"      \
  "{{.Names}}"

static void usage(FILE *out) {
  fputs("Usage: crowbar ps [OPTIONS]\n\n"
        "List containers (only the running ones without -a).\n\n"
        "Options:\n"
        "  -a, --all             show all containers, not only the running ones\n"
        "  -f, --filter KEY=VAL  show only the containers that match (id, name, status,\n"
        "                        label, exited, before, since, ancestor, network, volume)\n"
        "      --format TEMPLATE print with a Go template ('table', 'json', or e.g.\n"
        "                        'table {{.ID}}\\t{{.Names}}')\n"
        "  -n, --last N          show the N most recently created containers (all states)\n"
        "  -l, --latest          show the most recently created container (all states)\n"
        "      --no-trunc        do not truncate IDs and commands\n"
        "  -q, --quiet           print the container IDs only\n"
        "  -s, --size            add the SIZE column: the container's changes (virtual:\n"
        "                        with its image)\n"
        "  -h, --help            show this help\n\n"
        "See crowbar-ps(1).\n",
        out);
}

/* ---- filters ------------------------------------------------------------------------ */

struct filter_value {
  char *text;
  regex_t re;
  bool re_ok;
  int status;         /* status= */
  int code;           /* exited= */
  int64_t created_ns; /* before=, since= */
};

struct filter {
  char *key;
  struct filter_value *v;
  size_t n;
};

struct filters {
  struct filter *f;
  size_t n;
};

static const char *const filter_keys[] = {"id",     "name",  "status",   "label",   "exited",
                                          "before", "since", "ancestor", "network", "volume"};

static struct filter *filter_get(struct filters *fs, const char *key) {
  for (size_t i = 0; i < fs->n; i++)
    if (!strcmp(fs->f[i].key, key))
      return &fs->f[i];
  return NULL;
}

static int filter_add(struct filters *fs, const char *arg, cb_error_t *err) {
  const char *eq = strchr(arg, '=');
  if (!eq)
    return cb_error_make(err, 0, "bad format of filter (expected name=value)");
  cleanup_free char *key = strndup(arg, (size_t)(eq - arg));
  if (!key)
    oom();
  for (char *p = key; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  bool known = false;
  for (size_t i = 0; i < sizeof filter_keys / sizeof filter_keys[0]; i++)
    known = known || !strcmp(key, filter_keys[i]);
  if (!known)
    return cb_error_make(err, 0, "invalid filter '%s'", key);
  struct filter *f = filter_get(fs, key);
  if (!f) {
    fs->f = xrealloc(fs->f, (fs->n + 1) * sizeof *fs->f);
    f = &fs->f[fs->n++];
    memset(f, 0, sizeof *f);
    f->key = steal_pointer(&key);
  }
  f->v = xrealloc(f->v, (f->n + 1) * sizeof *f->v);
  struct filter_value *v = &f->v[f->n++];
  memset(v, 0, sizeof *v);
  v->text = xstrdup(eq + 1);
  if (!strcmp(f->key, "status")) {
    v->status = cb_status_parse(v->text);
    if (v->status < 0)
      return cb_error_make(err, 0, "invalid filter 'status=%s'", v->text);
  } else if (!strcmp(f->key, "exited")) {
    if (cb_parse_int(v->text, &v->code) < 0)
      return cb_error_make(err, 0, "invalid filter 'exited=%s'", v->text);
  } else if (!strcmp(f->key, "id") || !strcmp(f->key, "name")) {
    /* Docker matches these as regular expressions (exact match first). */
    v->re_ok = regcomp(&v->re, v->text, REG_EXTENDED | REG_NOSUB) == 0;
  }
  return 0;
}

static void filters_free(struct filters *fs) {
  for (size_t i = 0; i < fs->n; i++) {
    for (size_t j = 0; j < fs->f[i].n; j++) {
      free(fs->f[i].v[j].text);
      if (fs->f[i].v[j].re_ok)
        regfree(&fs->f[i].v[j].re);
    }
    free(fs->f[i].v);
    free(fs->f[i].key);
  }
  free(fs->f);
}

/* Docker's filters.Args.Match: exact, else the value as a regular expression. */
static bool match_re(const struct filter_value *v, const char *s) {
  return !strcmp(v->text, s) || (v->re_ok && regexec(&v->re, s, 0, NULL, 0) == 0);
}

static bool label_match(json_object *labels, const char *want) {
  const char *eq = strchr(want, '=');
  size_t kl = eq ? (size_t)(eq - want) : strlen(want);
  if (!labels || !json_object_is_type(labels, json_type_object))
    return false;
  json_object_object_foreach(labels, k, val) {
    if (strlen(k) != kl || strncmp(k, want, kl))
      continue;
    if (!eq)
      return true;
    const char *s = json_object_get_string(val);
    return s && !strcmp(s, eq + 1);
  }
  return false;
}

static bool ancestor_match(const struct cb_container *c, const char *want) {
  const char *ref = cb_json_get_str(c->json, "Crowbar.ImageRef", "");
  const char *image = cb_json_get_str(c->json, "Image", "");
  const char *hex = cb_str_has_prefix(image, "sha256:") ? image + 7 : image;
  const char *w = cb_str_has_prefix(want, "sha256:") ? want + 7 : want;
  if (*ref) {
    if (!strcmp(ref, want))
      return true;
    /* "busybox" and "busybox:latest" name the same image. */
    size_t rl = strlen(ref), wl = strlen(want);
    if (rl == wl + 7 && !strncmp(ref, want, wl) && !strcmp(ref + wl, ":latest"))
      return true;
    if (wl == rl + 7 && !strncmp(want, ref, rl) && !strcmp(want + rl, ":latest"))
      return true;
  }
  size_t l = strlen(w);
  return l > 0 && cb_is_hex(w, l) && !strncmp(hex, w, l);
}

static bool any_mount_match(json_object *mounts, const char *want) {
  size_t n =
      mounts && json_object_is_type(mounts, json_type_array) ? json_object_array_length(mounts) : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *m = json_object_array_get_idx(mounts, i);
    if (!strcmp(cb_json_get_str(m, "Name", ""), want) ||
        !strcmp(cb_json_get_str(m, "Source", ""), want) ||
        !strcmp(cb_json_get_str(m, "Destination", ""), want))
      return true;
  }
  return false;
}

static bool value_match(const struct filter *f, const struct filter_value *v,
                        const struct cb_container *c) {
  const char *k = f->key;
  if (!strcmp(k, "id"))
    return match_re(v, c->id);
  if (!strcmp(k, "name")) {
    char slash[NAME_MAX + 2];
    snprintf(slash, sizeof slash, "/%s", c->name);
    return match_re(v, c->name) || match_re(v, slash);
  }
  if (!strcmp(k, "status"))
    return (int)c->state.status == v->status;
  if (!strcmp(k, "label"))
    return label_match(cb_json_get(c->json, "Config.Labels"), v->text);
  if (!strcmp(k, "exited"))
    return !cb_container_is_running(c) && c->state.status != CB_STATUS_CREATED &&
           c->state.started_ns != 0 && c->state.exit_code == v->code;
  if (!strcmp(k, "before"))
    return c->created_ns < v->created_ns;
  if (!strcmp(k, "since"))
    return c->created_ns > v->created_ns;
  if (!strcmp(k, "ancestor"))
    return ancestor_match(c, v->text);
  if (!strcmp(k, "network")) {
    json_object *nets = cb_json_get(c->json, "NetworkSettings.Networks");
    const char *mode = cb_json_get_str(c->json, "HostConfig.NetworkMode", "");
    return (nets && json_object_is_type(nets, json_type_object) &&
            json_object_object_get_ex(nets, v->text, NULL)) ||
           !strcmp(mode, v->text);
  }
  if (!strcmp(k, "volume"))
    return any_mount_match(cb_json_get(c->json, "Mounts"), v->text);
  return false;
}

/* Values of one key OR together; keys AND together. */
static bool filters_match(const struct filters *fs, const struct cb_container *c) {
  for (size_t i = 0; i < fs->n; i++) {
    bool any = false;
    for (size_t j = 0; j < fs->f[i].n && !any; j++)
      any = value_match(&fs->f[i], &fs->f[i].v[j], c);
    if (!any)
      return false;
  }
  return true;
}

/* before= and since= name a container: find its creation time among the listed ones. */
static int resolve_time_filters(struct filters *fs, struct cb_container **v, size_t n,
                                cb_error_t *err) {
  for (size_t i = 0; i < fs->n; i++) {
    if (strcmp(fs->f[i].key, "before") && strcmp(fs->f[i].key, "since"))
      continue;
    for (size_t j = 0; j < fs->f[i].n; j++) {
      struct filter_value *fv = &fs->f[i].v[j];
      const char *ref = fv->text[0] == '/' ? fv->text + 1 : fv->text;
      size_t rl = strlen(ref);
      const struct cb_container *hit = NULL;
      int prefix_hits = 0;
      for (size_t k = 0; k < n && !hit; k++)
        if (!strcmp(v[k]->id, ref) || !strcmp(v[k]->name, ref))
          hit = v[k];
      if (!hit && rl && cb_is_hex(ref, rl))
        for (size_t k = 0; k < n; k++)
          if (!strncmp(v[k]->id, ref, rl)) {
            hit = v[k];
            prefix_hits++;
          }
      if (!hit || prefix_hits > 1)
        return cb_error_make(err, 0, "No such container: %s", fv->text);
      fv->created_ns = hit->created_ns;
    }
  }
  return 0;
}

/* ---- rows --------------------------------------------------------------------------- */

/* Go's strconv.Quote. */
static void go_quote(const char *s, char **out) {
  size_t cap = strlen(s) * 4 + 3, k = 0;
  char *r = xmalloc(cap + 8);
  r[k++] = '"';
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned char c = *p;
    if (c == '"' || c == '\\') {
      r[k++] = '\\';
      r[k++] = (char)c;
      p++;
    } else if (c >= 0x20 && c < 0x7f) {
      r[k++] = (char)c;
      p++;
    } else if (c < 0x80) {
      const char *esc = c == '\a'   ? "\\a"
                        : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f"
                        : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t"
                        : c == '\v' ? "\\v"
                                    : NULL;
      if (esc)
        k += (size_t)sprintf(r + k, "%s", esc);
      else
        k += (size_t)sprintf(r + k, "\\x%02x", c);
      p++;
    } else {
      /* A valid UTF-8 sequence stays as it is; a stray byte is \xNN. */
      size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
      size_t i = 1;
      for (; len && i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
          break;
      if (len && i == len) {
        memcpy(r + k, p, len);
        k += len;
        p += len;
      } else {
        k += (size_t)sprintf(r + k, "\\x%02x", c);
        p++;
      }
    }
  }
  r[k++] = '"';
  r[k] = '\0';
  *out = r;
}

/* The docker CLI's Ellipsis(s, max) for text of single-width characters. */
static char *ellipsis(const char *s, int max) {
  int runes = 0;
  for (const char *p = s; *p; p++)
    if (((unsigned char)*p & 0xc0) != 0x80)
      runes++;
  if (runes <= max)
    return xstrdup(s);
  const char *p = s;
  for (int n = 0; *p; p++) {
    if (((unsigned char)*p & 0xc0) != 0x80) {
      if (n == max - 1)
        break;
      n++;
    }
  }
  return xasprintf("%.*s\xe2\x80\xa6", (int)(p - s), s);
}

/* The daemon's Command: Path, then the arguments, those with a space in single quotes. */
static char *command_of(json_object *j) {
  size_t cap = 256, len = 0;
  char *s = xmalloc(cap);
  s[0] = '\0';
  const char *path = cb_json_get_str(j, "Path", "");
  json_object *args = cb_json_get(j, "Args");
  size_t n =
      args && json_object_is_type(args, json_type_array) ? json_object_array_length(args) : 0;
  for (size_t i = 0; i <= n; i++) {
    const char *a = i == 0 ? path : json_object_get_string(json_object_array_get_idx(args, i - 1));
    if (!a)
      a = "";
    bool q = i > 0 && strchr(a, ' ');
    size_t need = len + strlen(a) + 4;
    if (need > cap) {
      while (cap < need)
        cap *= 2;
      s = xrealloc(s, cap);
    }
    len += (size_t)sprintf(s + len, "%s%s%s%s", i ? " " : "", q ? "'" : "", a, q ? "'" : "");
  }
  return s;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Strings joined by sep, sorted first when sort is set. */
static char *join(char **v, size_t n, const char *sep, bool sort) {
  if (sort && n > 1)
    qsort(v, n, sizeof *v, cmp_str);
  size_t len = 1;
  for (size_t i = 0; i < n; i++)
    len += strlen(v[i]) + strlen(sep);
  char *r = xmalloc(len);
  r[0] = '\0';
  char *p = r;
  for (size_t i = 0; i < n; i++)
    p = stpcpy(stpcpy(p, i ? sep : ""), v[i]);
  return r;
}

static void free_strs(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static void set_str(json_object *o, const char *key, const char *v) {
  json_object_object_add(o, key, json_object_new_string(v ? v : ""));
}

static void set_own(json_object *o, const char *key, char *v) {
  set_str(o, key, v);
  free(v);
}

static bool is_image_id(const char *s) {
  if (cb_str_has_prefix(s, "sha256:"))
    return true;
  size_t l = strlen(s);
  return l == CB_ID_LEN && cb_is_hex(s, l);
}

/* The row of one container: docker's ContainerContext fields, keys in alphabetical order. */
/* Which of the costlier fields the format uses (a row skips the others). */
enum {
  F_CREATED_AT = 1u << 0,
  F_LABELS = 1u << 1,
  F_MOUNTS = 1u << 2,
  F_NETWORKS = 1u << 3,
  F_ALL = ~0u,
};

static unsigned fields_of(const char *format) {
  if (!format)
    return 0; /* the default table: ID, Image, Command, RunningFor, Status, Ports, Names */
  /* {{.}} or {{json .}} print every field. */
  for (const char *p = strchr(format, '.'); p; p = strchr(p + 1, '.'))
    if (p[1] == '}' || p[1] == ' ' || p[1] == '\0' || p[1] == ')')
      return F_ALL;
  unsigned f = 0;
  if (strstr(format, "CreatedAt"))
    f |= F_CREATED_AT;
  if (strstr(format, "Label"))
    f |= F_LABELS;
  if (strstr(format, "Mounts") || strstr(format, "LocalVolumes"))
    f |= F_MOUNTS;
  if (strstr(format, "Networks"))
    f |= F_NETWORKS;
  return f;
}

/* Docker's SIZE: "0B (virtual 2.79MB)", precision 3; without sizes 0B. */
static char *size_text(int64_t rw, int64_t rootfs) {
  char *srw = cb_human_size_precision((double)rw, 3);
  if (rootfs <= 0)
    return srw;
  cleanup_free char *sv = cb_human_size_precision((double)rootfs, 3);
  char *s = xasprintf("%s (virtual %s)", srw, sv);
  free(srw);
  return s;
}

static json_object *make_row(const struct cb_container *c, bool trunc, int64_t now, unsigned fields,
                             int64_t size_rw, int64_t size_rootfs) {
  json_object *j = c->json, *row = json_object_new_object();

  cleanup_free char *cmd = command_of(j);
  if (trunc) {
    char *t = ellipsis(cmd, 20);
    free(cmd);
    cmd = t;
  }
  char *quoted;
  go_quote(cmd, &quoted);
  set_own(row, "Command", quoted);

  /* time.Unix(Created, 0).String(): local time, seconds */
  time_t created = (time_t)(c->created_ns / 1000000000LL);
  if (fields & F_CREATED_AT) {
    struct tm tm;
    char when[64];
    localtime_r(&created, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
    set_str(row, "CreatedAt", when);
  }

  set_own(row, "ID", trunc ? xasprintf("%.12s", c->id) : xstrdup(c->id));

  const char *ref = cb_json_get_str(j, "Crowbar.ImageRef", "");
  if (!*ref)
    ref = cb_json_get_str(j, "Image", "");
  if (!*ref)
    set_str(row, "Image", "<no image>");
  else if (trunc && is_image_id(ref))
    set_own(row, "Image", xasprintf("%.12s", cb_str_has_prefix(ref, "sha256:") ? ref + 7 : ref));
  else
    set_str(row, "Image", ref);

  if (fields & F_LABELS) {
    json_object *labels = cb_json_get(j, "Config.Labels");
    size_t nl = labels && json_object_is_type(labels, json_type_object)
                    ? (size_t)json_object_object_length(labels)
                    : 0,
           k = 0;
    char **lv = xcalloc(nl + 1, sizeof *lv);
    if (nl) {
      json_object_object_foreach(labels, lk, lval) {
        lv[k++] = xasprintf("%s=%s", lk,
                            json_object_get_string(lval) ? json_object_get_string(lval) : "");
      }
    }
    set_own(row, "Labels", join(lv, k, ",", true));
    free_strs(lv, k);
  }
  if (fields & F_MOUNTS) {
    json_object *mounts = cb_json_get(j, "Mounts");
    size_t nm = mounts && json_object_is_type(mounts, json_type_array)
                    ? json_object_array_length(mounts)
                    : 0;
    char **mv = xcalloc(nm + 1, sizeof *mv);
    int local = 0;
    for (size_t i = 0; i < nm; i++) {
      json_object *m = json_object_array_get_idx(mounts, i);
      const char *name = cb_json_get_str(m, "Name", "");
      if (!*name)
        name = cb_json_get_str(m, "Source", "");
      mv[i] = trunc ? ellipsis(name, 15) : xstrdup(name);
      if (!strcmp(cb_json_get_str(m, "Driver", ""), "local"))
        local++;
    }
    set_own(row, "LocalVolumes", xasprintf("%d", local));
    set_own(row, "Mounts", join(mv, nm, ",", false));
    free_strs(mv, nm);
  }
  set_str(row, "Names", c->name);

  if (fields & F_NETWORKS) {
    json_object *nets = cb_json_get(j, "NetworkSettings.Networks");
    size_t nn = nets && json_object_is_type(nets, json_type_object)
                    ? (size_t)json_object_object_length(nets)
                    : 0;
    char **nv = xcalloc(nn + 1, sizeof *nv);
    size_t k = 0;
    if (nn) {
      json_object_object_foreach(nets, nk, nval) {
        (void)nval;
        nv[k++] = xstrdup(nk);
      }
    } else {
      const char *mode = cb_json_get_str(j, "HostConfig.NetworkMode", "");
      if (*mode)
        nv[k++] = xstrdup(mode);
    }
    set_own(row, "Networks", join(nv, k, ",", true));
    free_strs(nv, k);
  }
  /* The published ports of a running container (a stopped one has none, as in Docker). */
  if (cb_container_is_running(c))
    set_own(row, "Ports", cb_ports_display(cb_json_get(j, "NetworkSettings.Ports")));
  else
    set_str(row, "Ports", "");
  char *ago = cb_time_ago(created * 1000000000LL, now);
  set_own(row, "RunningFor", ago);
  set_own(row, "Size", size_text(size_rw, size_rootfs));
  set_str(row, "State", cb_status_name(c->state.status));
  set_own(row, "Status", cb_container_status_string(c, now));
  return row;
}

static json_object *header(void) {
  json_object *h = json_object_new_object();
  static const char *const titles[][2] = {
      {"Command", "COMMAND"}, {"CreatedAt", "CREATED AT"}, {"ID", "CONTAINER ID"},
      {"Image", "IMAGE"},     {"Labels", "LABELS"},        {"LocalVolumes", "LOCAL VOLUMES"},
      {"Mounts", "MOUNTS"},   {"Names", "NAMES"},          {"Networks", "NETWORKS"},
      {"Ports", "PORTS"},     {"RunningFor", "CREATED"},   {"Size", "SIZE"},
      {"State", "STATE"},     {"Status", "STATUS"},
  };
  for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++)
    set_str(h, titles[i][0], titles[i][1]);
  return h;
}

struct ps_opts {
  bool all, quiet, trunc, size;
  int last;
  const char *format;
  struct filters fs;
};

static int ps(const char *argv0, struct ps_opts *po, cb_error_t *err) {
  struct cb_ctx ctx;
  if (cb_require_root(err) < 0 || cb_ctx_init(&ctx, argv0, 0, err) < 0)
    return -1;
  struct cb_container **v = NULL;
  size_t n = 0;
  int ret = -1;
  if (cb_container_list(&ctx, &v, &n, err) < 0) {
    cb_ctx_release(&ctx);
    return -1;
  }
  struct cb_output *o = NULL;
  json_object *h = header();
  if (resolve_time_filters(&po->fs, v, n, err) < 0 ||
      cb_output_new(po->quiet ? "{{.ID}}" : po->format,
                    po->size ? DEFAULT_TABLE "\\t{{.Size}}" : DEFAULT_TABLE, &o, err) < 0)
    goto done;
  int64_t now = cb_now_ns();
  unsigned fields = po->quiet ? 0 : fields_of(po->format);
  int shown = 0;
  for (size_t i = 0; i < n && (po->last <= 0 || shown < po->last); i++) {
    struct cb_container *ct = v[i];
    bool running = cb_container_is_running(ct) || ct->state.status == CB_STATUS_RESTARTING;
    if (!running && !po->all && po->last <= 0)
      continue;
    if (!filters_match(&po->fs, ct))
      continue;
    int64_t rw = 0, rootfs = 0;
    if (po->size && !po->quiet) {
      /* Listing records are partial: the sizes need the whole record. */
      cleanup_container struct cb_container *full = NULL;
      if (cb_container_load(&ctx, ct->id, &full, err) < 0 ||
          cb_container_sizes(&ctx, full, &rw, &rootfs, err) < 0)
        goto done;
    }
    json_object *row = make_row(ct, po->trunc, now, fields, rw, rootfs);
    int r = cb_output_add(o, row, err);
    json_object_put(row);
    if (r < 0)
      goto done;
    shown++;
  }
  if (cb_output_flush(o, h, stdout, err) < 0)
    goto done;
  ret = 0;
done:
  cb_output_free(o);
  json_object_put(h);
  /* Exiting frees it all at once; a sanitizer build frees it to prove nothing leaks
   * (git's UNLEAK). 500 records are some 20,000 small blocks. */
#if defined(__SANITIZE_ADDRESS__)
  cb_container_list_free(v, n);
#else
  (void)v;
#endif
  cb_ctx_release(&ctx);
  return ret;
}

int cmd_ps(int argc, char **argv) {
  enum { OPT_FORMAT = CHAR_MAX + 1, OPT_NO_TRUNC };
  static const struct option longopts[] = {
      {"all", no_argument, NULL, 'a'},
      {"filter", required_argument, NULL, 'f'},
      {"format", required_argument, NULL, OPT_FORMAT},
      {"last", required_argument, NULL, 'n'},
      {"latest", no_argument, NULL, 'l'},
      {"no-trunc", no_argument, NULL, OPT_NO_TRUNC},
      {"quiet", no_argument, NULL, 'q'},
      {"size", no_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct ps_opts po = {.trunc = true, .last = -1};
  cb_error_t err = NULL;
  int c, ret = 1;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":af:n:lqsh", longopts, NULL)) != -1) {
    switch (c) {
    case 'a': po.all = true; break;
    case 'f':
      if (filter_add(&po.fs, optarg, &err) < 0) {
        cb_error_print(&err);
        goto out;
      }
      break;
    case OPT_FORMAT: po.format = optarg; break;
    case 'n':
      if (cb_parse_int(optarg, &po.last) < 0) {
        fprintf(stderr, "Error: invalid argument \"%s\" for \"-n, --last\" flag\n", optarg);
        fprintf(stderr, "See 'crowbar ps --help'.\n");
        filters_free(&po.fs);
        return 125;
      }
      break;
    case 'l': po.last = 1; break;
    case OPT_NO_TRUNC: po.trunc = false; break;
    case 'q': po.quiet = true; break;
    case 's': po.size = true; break;
    case 'h':
      usage(stdout);
      ret = 0;
      goto out;
    default: filters_free(&po.fs); return cb_opt_error("ps", argv, c);
    }
  }
  if (optind < argc) {
    fprintf(stderr, "Error: \"crowbar ps\" accepts no arguments.\n");
    goto usage_hint;
  }
  /* A format that prints .Size asks for the sizes, as in Docker. */
  if (po.format && strstr(po.format, ".Size"))
    po.size = true;
  /* A status filter shows stopped containers too, as in Docker. */
  if (filter_get(&po.fs, "status"))
    po.all = true;
  if (ps(argv[0], &po, &err) < 0)
    cb_error_print(&err);
  else
    ret = 0;
out:
  filters_free(&po.fs);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
usage_hint:
  fprintf(stderr, "See 'crowbar ps --help'.\n");
  filters_free(&po.fs);
  return 1;
}
