/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A new container's mounts, as Docker makes them: -v SRC:DST[:MODE] (a bind when SRC is an
 * absolute path, else a named volume; -v DST alone an anonymous volume), --mount
 * type=volume|bind,... (the docker CLI's CSV keys), and an anonymous volume for each
 * VOLUME of the image that nothing else mounts. Named volumes are made at first use, and a
 * volume that is empty gets the image's files at its path (Docker's copy at create). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/rootfs.h"
#include "crowbar/saferoot.h"
#include "crowbar/volume.h"
#include "engine.h"
#include "mounts.h"

struct mnt {
  bool bind;
  char *src;  /* host path (bind), volume name (NULL: anonymous) */
  char *dst;  /* cleaned, absolute */
  char *mode; /* -v's MODE as given (Mounts[].Mode) */
  bool ro, nocopy, user_mode_z;
  char *propagation;
  json_object *labels; /* --mount volume-label */
  char *name;          /* the volume's name once made */
};

static void mnt_free(struct mnt *m) {
  free(m->src);
  free(m->dst);
  free(m->mode);
  free(m->propagation);
  free(m->name);
  if (m->labels)
    json_object_put(m->labels);
}

void mount_plan_free(struct mount_plan *p) {
  for (size_t i = 0; i < p->n; i++)
    mnt_free(&p->v[i]);
  free(p->v);
  if (p->binds)
    json_object_put(p->binds);
  if (p->hc_mounts)
    json_object_put(p->hc_mounts);
  if (p->volumes)
    json_object_put(p->volumes);
  cb_strv_free(p->anonymous);
  cb_strv_free(p->created);
  memset(p, 0, sizeof *p);
}

static struct mnt *add(struct mount_plan *p) {
  p->v = xrealloc(p->v, (p->n + 1) * sizeof *p->v);
  struct mnt *m = &p->v[p->n++];
  memset(m, 0, sizeof *m);
  return m;
}

static const char *const propagations[] = {"private", "rprivate", "shared",
                                           "rshared", "slave",    "rslave"};

static bool is_propagation(const char *s) {
  for (size_t i = 0; i < sizeof propagations / sizeof propagations[0]; i++)
    if (!strcmp(s, propagations[i]))
      return true;
  return false;
}

/* Docker's linuxValidMountMode: comma-separated, at most one of each kind. */
static bool mode_valid(const char *mode, bool *ro, bool *nocopy, char **prop) {
  if (!*mode)
    return true;
  int rw = 0, label = 0, propn = 0, copy = 0, consistency = 0;
  cleanup_free char *copy_s = xstrdup(mode);
  char *save = NULL;
  for (char *o = strtok_r(copy_s, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
    if (!strcmp(o, "ro") || !strcmp(o, "rw")) {
      rw++;
      if (ro && !strcmp(o, "ro"))
        *ro = true;
    } else if (!strcmp(o, "z") || !strcmp(o, "Z")) {
      label++;
    } else if (is_propagation(o)) {
      propn++;
      if (prop) {
        free(*prop);
        *prop = xstrdup(o);
      }
    } else if (!strcmp(o, "nocopy") || !strcmp(o, "copy")) {
      copy++;
      if (nocopy)
        *nocopy = !strcmp(o, "nocopy");
    } else if (!strcmp(o, "consistent") || !strcmp(o, "cached") || !strcmp(o, "delegated")) {
      consistency++;
    } else {
      return false;
    }
  }
  return rw <= 1 && label <= 1 && propn <= 1 && copy <= 1 && consistency <= 1;
}

/* Target checks, Docker's words; dst becomes the cleaned path. */
static int check_target(const char *type, const char *target, char **dst, cb_error_t *err) {
  if (!*target)
    return cb_error_make(err, 0,
                         "invalid mount config for type \"%s\": field Target must not be "
                         "empty",
                         type);
  if (target[0] != '/')
    return cb_error_make(err, 0,
                         "invalid mount config for type \"%s\": invalid mount path: '%s' mount "
                         "path must be absolute",
                         type, target);
  cleanup_free char *clean = cb_path_clean_in_root(target);
  if (!*clean)
    return cb_error_make(err, 0,
                         "invalid mount config for type \"%s\": invalid specification: "
                         "destination can't be '/'",
                         type);
  *dst = xasprintf("/%s", clean);
  return 0;
}

static int parse_v(struct mount_plan *p, const char *spec, cb_error_t *err) {
  cleanup_free char *copy = xstrdup(spec);
  char *arr[4] = {0};
  int n = 0;
  char *rest = copy;
  while (n < 4) {
    char *colon = n < 3 ? strchr(rest, ':') : NULL;
    arr[n++] = rest;
    if (!colon)
      break;
    *colon = '\0';
    rest = colon + 1;
  }
  if (!*arr[0] || (n == 4))
    return cb_error_make(err, 0, "invalid volume specification: '%s'", spec);
  if (n == 1) {
    /* -v /data: an anonymous volume (Config.Volumes, as the docker CLI sends it). */
    cleanup_free char *dst = NULL;
    if (check_target("volume", arr[0], &dst, err) < 0)
      return cb_error_wrap(err, "invalid volume specification: '%s'", spec);
    json_object_object_add(p->volumes, dst, json_object_new_object());
    struct mnt *m = add(p);
    m->dst = steal_pointer(&dst);
    m->mode = xstrdup("");
    return 0;
  }
  const char *mode = n == 3 ? arr[2] : "";
  if (n == 2 && mode_valid(arr[1], NULL, NULL, NULL))
    return cb_error_make(err, 0, "invalid volume specification: '%s'", spec);
  struct mnt tmp = {0};
  if (!mode_valid(mode, &tmp.ro, &tmp.nocopy, &tmp.propagation)) {
    free(tmp.propagation);
    return cb_error_make(err, 0, "invalid mode: %s", mode);
  }
  tmp.bind = arr[0][0] == '/';
  if (check_target(tmp.bind ? "bind" : "volume", arr[1], &tmp.dst, err) < 0) {
    mnt_free(&tmp);
    return cb_error_wrap(err, "invalid volume specification: '%s'", spec);
  }
  if (!tmp.bind && cb_volume_name_check(arr[0], err) < 0) {
    mnt_free(&tmp);
    return -1;
  }
  tmp.src = xstrdup(arr[0]);
  tmp.mode = xstrdup(mode);
  /* A volume mounted with -v and no mode shows Mode "z" (Docker's setBindModeIfNull). */
  tmp.user_mode_z = !tmp.bind && !*mode;
  *add(p) = tmp;
  json_object_array_add(p->binds, json_object_new_string(spec));
  return 0;
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, bool *out) {
  static const char *const t[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const f[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (size_t i = 0; i < 6; i++) {
    if (!strcmp(s, t[i]))
      return *out = true, 0;
    if (!strcmp(s, f[i]))
      return *out = false, 0;
  }
  return -1;
}

/* encoding/csv's one record: fields split on commas, "quoted" fields with "" for a quote. */
static char **csv_fields(const char *s) {
  char **v = NULL;
  size_t len = strlen(s);
  char *field = xmalloc(len + 1);
  size_t fl = 0;
  bool quoted = false;
  for (size_t i = 0;; i++) {
    char c = s[i];
    if (quoted) {
      if (c == '"' && s[i + 1] == '"') {
        field[fl++] = '"';
        i++;
      } else if (c == '"') {
        quoted = false;
      } else if (c) {
        field[fl++] = c;
      } else {
        break;
      }
      continue;
    }
    if (c == '"' && fl == 0) {
      quoted = true;
    } else if (c == ',' || !c) {
      field[fl] = '\0';
      cb_strv_append(&v, field);
      fl = 0;
      if (!c)
        break;
    } else {
      field[fl++] = c;
    }
  }
  free(field);
  return v;
}

static int parse_mount(struct mount_plan *p, const char *spec, cb_error_t *err) {
  cleanup_strv char **fields = csv_fields(spec);
  cleanup_free char *type = xstrdup("volume");
  cleanup_free char *src = NULL;
  cleanup_free char *target = NULL;
  cleanup_free char *prop = NULL;
  bool ro = false, nocopy = false, vol_opts = false, bind_opts = false;
  cleanup_json json_object *labels = NULL;
  for (char **f = fields; f && *f; f++) {
    char *eq = strchr(*f, '=');
    if (!eq) {
      if (!strcmp(*f, "readonly") || !strcmp(*f, "ro"))
        ro = true;
      else if (!strcmp(*f, "volume-nocopy"))
        nocopy = vol_opts = true;
      else if (!strcmp(*f, "bind-nonrecursive"))
        bind_opts = true;
      else
        return cb_error_make(err, 0, "invalid field '%s' must be a key=value pair", *f);
      continue;
    }
    cleanup_free char *whole = xstrdup(*f);
    *eq = '\0';
    const char *key = *f, *val = eq + 1;
    if (!strcmp(key, "type")) {
      free(type);
      type = xstrdup(val);
      for (char *c = type; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    } else if (!strcmp(key, "source") || !strcmp(key, "src")) {
      free(src);
      src = xstrdup(val);
    } else if (!strcmp(key, "target") || !strcmp(key, "dst") || !strcmp(key, "destination")) {
      free(target);
      target = xstrdup(val);
    } else if (!strcmp(key, "readonly") || !strcmp(key, "ro")) {
      if (parse_bool(val, &ro) < 0)
        return cb_error_make(err, 0, "invalid value for %s: %s", key, val);
    } else if (!strcmp(key, "volume-nocopy")) {
      vol_opts = true;
      if (parse_bool(val, &nocopy) < 0)
        return cb_error_make(err, 0, "invalid value for volume-nocopy: %s", val);
    } else if (!strcmp(key, "volume-label")) {
      vol_opts = true;
      if (!labels)
        labels = json_object_new_object();
      char *leq = strchr(val, '=');
      cleanup_free char *k = leq ? strndup(val, (size_t)(leq - val)) : xstrdup(val);
      if (*k)
        cb_json_set_str(labels, k, leq ? leq + 1 : "");
    } else if (!strcmp(key, "volume-driver")) {
      vol_opts = true;
      if (*val && strcmp(val, "local"))
        return cb_error_make(err, 0, "volume driver %s: crowbar has the local driver only", val);
    } else if (!strcmp(key, "volume-opt")) {
      return cb_error_make(err, 0, "volume-opt: crowbar's local volumes take no driver options");
    } else if (!strcmp(key, "bind-propagation")) {
      bind_opts = true;
      free(prop);
      prop = xstrdup(val);
      for (char *c = prop; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    } else if (!strcmp(key, "bind-nonrecursive")) {
      bool b;
      bind_opts = true;
      if (parse_bool(val, &b) < 0)
        return cb_error_make(err, 0, "invalid value for %s: %s", key, val);
    } else if (!strcmp(key, "consistency")) {
      /* macOS only; accepted and ignored, as on Linux. */
    } else {
      return cb_error_make(err, 0, "unexpected key '%s' in '%s'", key, whole);
    }
  }
  if (!*type)
    return cb_error_make(err, 0, "type is required");
  if (!target || !*target)
    return cb_error_make(err, 0, "target is required");
  if (vol_opts && strcmp(type, "volume"))
    return cb_error_make(err, 0, "cannot mix 'volume-*' options with mount type '%s'", type);
  if (bind_opts && strcmp(type, "bind"))
    return cb_error_make(err, 0, "cannot mix 'bind-*' options with mount type '%s'", type);
  bool bind = !strcmp(type, "bind");
  if (!bind && strcmp(type, "volume")) {
    if (!strcmp(type, "tmpfs") || !strcmp(type, "image") || !strcmp(type, "npipe"))
      return cb_error_make(err, 0,
                           "invalid mount config for type \"%s\": crowbar mounts volumes and "
                           "binds only",
                           type);
    return cb_error_make(err, 0, "invalid mount config for type \"%s\": mount type unknown", type);
  }
  /* The daemon's checks (validateMountConfig). */
  cleanup_free char *dst = NULL;
  if (check_target(type, target, &dst, err) < 0)
    return -1;
  if (bind) {
    if (!src || !*src)
      return cb_error_make(
          err, 0, "invalid mount config for type \"bind\": field Source must not be empty");
    if (prop && !is_propagation(prop))
      return cb_error_make(err, 0,
                           "invalid mount config for type \"bind\": invalid propagation "
                           "mode: %s",
                           prop);
    if (src[0] != '/')
      return cb_error_make(err, 0,
                           "invalid mount config for type \"bind\": invalid mount path: '%s' "
                           "mount path must be absolute",
                           src);
    struct stat st;
    if (stat(src, &st) < 0)
      return cb_error_make(err, 0,
                           "invalid mount config for type \"bind\": bind source path does not "
                           "exist: %s",
                           src);
  } else {
    if ((!src || !*src) && ro)
      return cb_error_make(err, 0,
                           "invalid mount config for type \"volume\": must not set "
                           "ReadOnly mode when using anonymous volumes");
    if (src && *src && cb_volume_name_check(src, err) < 0)
      return -1;
  }
  struct mnt *m = add(p);
  m->bind = bind;
  m->src = src && *src ? xstrdup(src) : NULL;
  m->dst = steal_pointer(&dst);
  m->mode = xstrdup("");
  m->ro = ro;
  m->nocopy = nocopy;
  m->propagation = steal_pointer(&prop);
  m->labels = labels ? json_object_get(labels) : NULL;
  /* HostConfig.Mounts: the spec as the API got it (omitempty fields left out). */
  json_object *h = json_object_new_object();
  cb_json_set_str(h, "Type", type);
  if (src && *src)
    cb_json_set_str(h, "Source", src);
  cb_json_set_str(h, "Target", target);
  if (ro)
    cb_json_set_bool(h, "ReadOnly", true);
  if (bind_opts) {
    json_object *bo = cb_json_obj(h, "BindOptions");
    if (m->propagation)
      cb_json_set_str(bo, "Propagation", m->propagation);
  }
  if (vol_opts) {
    json_object *vo = cb_json_obj(h, "VolumeOptions");
    if (nocopy)
      cb_json_set_bool(vo, "NoCopy", true);
    if (labels)
      json_object_object_add(vo, "Labels", json_object_get(labels));
  }
  json_object_array_add(p->hc_mounts, h);
  return 0;
}

int mount_plan_parse(const struct create_opts *o, json_object *image_volumes, struct mount_plan *p,
                     cb_error_t *err) {
  memset(p, 0, sizeof *p);
  p->binds = json_object_new_array();
  p->hc_mounts = json_object_new_array();
  p->volumes = json_object_new_object();
  for (char **v = o->volumes; v && *v; v++)
    if (parse_v(p, *v, err) < 0)
      return -1;
  for (char **v = o->mounts; v && *v; v++)
    if (parse_mount(p, *v, err) < 0)
      return cb_error_wrap(err, "invalid argument \"%s\" for \"--mount\" flag", *v);
  for (size_t i = 0; i < p->n; i++)
    for (size_t k = 0; k < i; k++)
      if (!strcmp(p->v[i].dst, p->v[k].dst))
        return cb_error_make(err, 0, "Duplicate mount point: %s", p->v[i].dst);
  /* The image's VOLUMEs that no mount covers: anonymous volumes. */
  if (image_volumes && json_object_is_type(image_volumes, json_type_object)) {
    json_object_object_foreach(image_volumes, path, val) {
      (void)val;
      cleanup_free char *dst = NULL;
      cb_error_t e2 = NULL;
      if (check_target("volume", path, &dst, &e2) < 0) {
        cb_error_release(&e2);
        continue;
      }
      bool covered = false;
      for (size_t i = 0; i < p->n && !covered; i++)
        covered = !strcmp(p->v[i].dst, dst);
      if (!json_object_object_get_ex(p->volumes, path, NULL))
        json_object_object_add(p->volumes, path, json_object_new_object());
      if (covered)
        continue;
      struct mnt *m = add(p);
      m->dst = steal_pointer(&dst);
      m->mode = xstrdup("");
    }
  }
  return 0;
}

bool mount_plan_has_volumes(const struct mount_plan *p) {
  for (size_t i = 0; i < p->n; i++)
    if (!p->v[i].bind)
      return true;
  return false;
}

/* The image's root, read-only, to copy from: its one layer, or an overlay of them. */
static int image_root(const struct cb_ctx *ctx, const struct cb_image *img, int *fd,
                      cb_error_t *err) {
  cleanup_strv char **layers = cb_image_layer_dirs(ctx, img);
  size_t n = cb_strv_len(layers);
  if (n == 0)
    return 1;
  if (n == 1) {
    *fd = open(layers[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return *fd < 0 ? cb_error_sys(err, "open the image's layer") : 0;
  }
  int r = cb_overlay_fsmount(layers, NULL, NULL, fd, err);
  if (r > 0)
    return cb_error_make(err, 0,
                         "cannot mount the image's layers to copy its files into a "
                         "volume on this kernel");
  return r;
}

/* A volume that is empty gets the image's files at its destination. */
static int populate(const struct cb_ctx *ctx, const struct cb_image *img, int *rootfd,
                    const struct mnt *m, cb_error_t *err) {
  if (*rootfd < 0) {
    int r = image_root(ctx, img, rootfd, err);
    if (r != 0)
      return r < 0 ? -1 : 0;
  }
  cleanup_close int src = cb_sr_open(*rootfd, m->dst, O_RDONLY | O_DIRECTORY, 0);
  if (src < 0)
    return 0; /* nothing there (or not a folder): nothing to copy */
  cleanup_free char *data = cb_volume_data_path(ctx, m->name);
  cleanup_close int dst = open(data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dst < 0)
    return cb_error_sys(err, "open volume %s", m->name);
  if (cb_volume_populate(src, dst, err) < 0)
    return cb_error_wrap(err, "copy the image's files at %s into volume %s", m->dst, m->name);
  return 0;
}

int mount_plan_make(const struct cb_ctx *ctx, struct mount_plan *p, const struct cb_image *img,
                    json_object **mounts, cb_error_t *err) {
  json_object *arr = json_object_new_array();
  cleanup_close int rootfd = -1;
  for (size_t i = 0; i < p->n; i++) {
    struct mnt *m = &p->v[i];
    json_object *j = json_object_new_object();
    json_object_array_add(arr, j);
    if (m->bind) {
      cleanup_free char *source = NULL;
      struct stat st;
      if (stat(m->src, &st) < 0) {
        /* -v creates a missing source folder, as Docker does (--mount was checked). */
        if (errno != ENOENT || cb_mkdir_p(m->src, 0755, err) < 0) {
          json_object_put(arr);
          return cb_error_sys(err, "invalid mount config: bind source path `%s`", m->src);
        }
      }
      char real[PATH_MAX];
      source = xstrdup(realpath(m->src, real) ? real : m->src);
      cb_json_set_str(j, "Type", "bind");
      cb_json_set_str(j, "Source", source);
      cb_json_set_str(j, "Destination", m->dst);
      cb_json_set_str(j, "Mode", m->mode);
      cb_json_set_bool(j, "RW", !m->ro);
      cb_json_set_str(j, "Propagation", m->propagation ? m->propagation : "rprivate");
      continue;
    }
    bool created = false;
    if (m->src) {
      m->name = xstrdup(m->src);
      if (cb_volume_ensure(ctx, m->name, m->labels, NULL, &created, err) < 0) {
        json_object_put(arr);
        return -1;
      }
    } else {
      char name[CB_ID_LEN + 1];
      if (cb_volume_create_anonymous(ctx, name, err) < 0) {
        json_object_put(arr);
        return -1;
      }
      m->name = xstrdup(name);
      created = true;
      cb_strv_append(&p->anonymous, name);
    }
    if (created)
      cb_strv_append(&p->created, m->name);
    if (!m->nocopy && populate(ctx, img, &rootfd, m, err) < 0) {
      json_object_put(arr);
      return -1;
    }
    cleanup_free char *data = cb_volume_data_path(ctx, m->name);
    cb_json_set_str(j, "Type", "volume");
    cb_json_set_str(j, "Name", m->name);
    cb_json_set_str(j, "Source", data);
    cb_json_set_str(j, "Destination", m->dst);
    cb_json_set_str(j, "Driver", "local");
    cb_json_set_str(j, "Mode", m->user_mode_z ? "z" : m->mode);
    cb_json_set_bool(j, "RW", !m->ro);
    cb_json_set_str(j, "Propagation", "");
  }
  *mounts = arr;
  return 0;
}

void mount_plan_undo(const struct cb_ctx *ctx, struct mount_plan *p) {
  for (char **v = p->created; v && *v; v++) {
    cb_error_t e2 = NULL;
    if (cb_volume_remove(ctx, *v, NULL, &e2) < 0)
      cb_error_release(&e2);
  }
}
