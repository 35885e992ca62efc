/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar inspect: the records of containers and images, as `docker inspect` prints them. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/format.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/template.h"
#include "crowbar/verb.h"

CB_VERB(inspect, "Show the low-level record of containers or images");

static void usage(FILE *out) {
  fputs("Usage: crowbar inspect [OPTIONS] NAME [NAME...]\n\n"
        "Show the records of containers or images as a JSON array, or through a template.\n\n"
        "Options:\n"
        "  -f, --format TEMPLATE  print each object through a Go template ('json' for one\n"
        "                         compact line each)\n"
        "      --type TYPE        only look for a container or an image\n"
        "  -h, --help             show this help\n\n"
        "See crowbar-inspect(1).\n",
        out);
}

enum kind { ANY, CONTAINER, IMAGE };

/* A record's HostConfig with the fields Docker always shows: SecurityOpt (null, Docker's
 * default seccomp profile) is missing from records made before crowbar had it. */
static json_object *host_config_public(json_object *hc) {
  if (!json_object_is_type(hc, json_type_object) ||
      json_object_object_get_ex(hc, "SecurityOpt", NULL))
    return json_object_get(hc);
  json_object *o = json_object_new_object();
  json_object_object_foreach(hc, k, v) {
    json_object_object_add(o, k, json_object_get(v));
    if (!strcmp(k, "ReadonlyRootfs"))
      json_object_object_add(o, "SecurityOpt", NULL);
  }
  if (!json_object_object_get_ex(o, "SecurityOpt", NULL))
    json_object_object_add(o, "SecurityOpt", NULL);
  return o;
}

/* The container's record without the engine's private "Crowbar" object. */
static json_object *container_public(json_object *rec) {
  json_object *o = json_object_new_object();
  json_object_object_foreach(rec, k, v) {
    if (!strcmp(k, "HostConfig"))
      json_object_object_add(o, k, host_config_public(v));
    else if (strcmp(k, "Crowbar"))
      json_object_object_add(o, k, json_object_get(v));
  }
  return o;
}

static json_object *str_or_empty(json_object *cfg, const char *key) {
  return json_object_new_string(cb_json_get_str(cfg, key, ""));
}

/* An image as `docker image inspect` shows it. */
static json_object *image_public(const struct cb_ctx *ctx, const struct cb_image *img) {
  json_object *o = json_object_new_object(), *cfg = img->config;
  char id[CB_ID_LEN + 8], created[CB_RFC3339_LEN];
  snprintf(id, sizeof id, "sha256:%s", img->id);
  cb_json_set_str(o, "Id", id);
  json_object_object_add(o, "RepoTags", cb_json_strv(img->tags));
  if (!img->tags)
    json_object_object_add(o, "RepoTags", json_object_new_array());
  json_object_object_add(o, "RepoDigests", json_object_new_array());
  cb_json_set_str(o, "Parent", "");
  /* The comment: the config's own, else the last history entry's ("Imported from -"). */
  const char *comment = cb_json_get_str(cfg, "comment", NULL);
  json_object *hist = cb_json_get(cfg, "history");
  if (!comment && hist && json_object_is_type(hist, json_type_array) &&
      json_object_array_length(hist))
    comment = cb_json_get_str(json_object_array_get_idx(hist, json_object_array_length(hist) - 1),
                              "comment", NULL);
  cb_json_set_str(o, "Comment", comment ? comment : "");
  cb_format_rfc3339nano(img->created_ns, created);
  cb_json_set_str(o, "Created", cb_json_get_str(cfg, "created", created));
  cb_json_set_str(o, "DockerVersion", "");
  json_object_object_add(o, "Author", str_or_empty(cfg, "author"));
  json_object *c = cb_json_get(cfg, "config");
  json_object_object_add(o, "Config", c ? json_object_get(c) : NULL);
  json_object_object_add(o, "Architecture", str_or_empty(cfg, "architecture"));
  json_object_object_add(o, "Os", str_or_empty(cfg, "os"));
  cb_json_set_int(o, "Size", img->size);
  json_object *gd = json_object_new_object(), *data = json_object_new_object();
  char **dirs = cb_image_layer_dirs(ctx, img); /* top layer first */
  if (dirs && dirs[0]) {
    size_t n = cb_strv_len(dirs), len = 1;
    for (size_t i = 1; i < n; i++)
      len += strlen(dirs[i]) + 1;
    cleanup_free char *lower = xcalloc(len, 1);
    for (size_t i = 1; i < n; i++) {
      if (i > 1)
        strcat(lower, ":");
      strcat(lower, dirs[i]);
    }
    if (n > 1)
      cb_json_set_str(data, "LowerDir", lower);
    cb_json_set_str(data, "UpperDir", dirs[0]);
  }
  cb_strv_free(dirs);
  json_object_object_add(gd, "Data", data);
  cb_json_set_str(gd, "Name", "overlay2");
  json_object_object_add(o, "GraphDriver", gd);
  json_object *rootfs = json_object_new_object();
  cb_json_set_str(rootfs, "Type", "layers");
  json_object_object_add(rootfs, "Layers",
                         img->diff_ids ? cb_json_strv(img->diff_ids) : json_object_new_array());
  json_object_object_add(o, "RootFS", rootfs);
  json_object *meta = json_object_new_object();
  cb_json_set_str(meta, "LastTagTime", "0001-01-01T00:00:00Z");
  json_object_object_add(o, "Metadata", meta);
  return o;
}

static bool not_found(cb_error_t err) {
  return err && strstr(cb_error_text(err), "No such");
}

/* Find NAME as a container and/or an image; NULL with err when it is neither. */
static json_object *lookup(const struct cb_ctx *ctx, const char *name, enum kind kind,
                           cb_error_t *err) {
  if (kind != IMAGE) {
    struct cb_container *c = NULL;
    if (cb_container_locate(ctx, name, &c, err) == 0) {
      json_object *o = container_public(c->json);
      cb_container_free(c);
      return o;
    }
    if (kind == CONTAINER || !not_found(*err))
      return NULL;
    cb_error_release(err);
  }
  struct cb_image *img = NULL;
  if (cb_image_locate(ctx, name, &img, err) == 0) {
    json_object *o = image_public(ctx, img);
    cb_image_free(img);
    return o;
  }
  if (not_found(*err)) {
    /* Docker names the argument as given ("No such image: x", not "x:latest"). */
    cb_error_release(err);
    cb_error_make(err, 0, "No such %s: %s", kind == ANY ? "object" : "image", name);
  }
  return NULL;
}

int cmd_inspect(int argc, char **argv) {
  enum { OPT_TYPE = CHAR_MAX + 1 };
  static const struct option longopts[] = {
      {"format", required_argument, NULL, 'f'},
      {"type", required_argument, NULL, OPT_TYPE},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *format = NULL;
  enum kind kind = ANY;
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":f:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'f': format = optarg; break;
    case OPT_TYPE:
      if (!strcmp(optarg, "container"))
        kind = CONTAINER;
      else if (!strcmp(optarg, "image"))
        kind = IMAGE;
      else {
        fprintf(stderr, "Error: \"%s\" is not a valid value for --type (container or image)\n",
                optarg);
        fprintf(stderr, "See 'crowbar inspect --help'.\n");
        return 1;
      }
      break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("inspect", argv, c);
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "Error: \"crowbar inspect\" requires at least 1 argument.\n"
                    "See 'crowbar inspect --help'.\n");
    return 1;
  }
  cb_error_t err = NULL;
  struct cb_template *tmpl = NULL;
  if (format && *format) {
    /* Docker's inspect: "Template parsing error: ...", status 64 (EX_USAGE). */
    if (cb_template_parse(!strcmp(format, "json") ? "{{json .}}" : format, &tmpl, &err) < 0) {
      cb_error_wrap(&err, "Template parsing error");
      cb_error_print(&err);
      return 64;
    }
  }
  struct cb_ctx ctx;
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 0, &err) < 0) {
    cb_error_print(&err);
    cb_template_free(tmpl);
    return 1;
  }
  int ret = 0;
  json_object *all = json_object_new_array();
  char **errors = NULL;
  for (int i = optind; i < argc; i++) {
    json_object *o = lookup(&ctx, argv[i], kind, &err);
    if (!o) {
      cb_strv_append(&errors, cb_error_text(err));
      cb_error_release(&err);
      ret = 1;
      continue;
    }
    if (!tmpl) {
      json_object_array_add(all, o);
      continue;
    }
    char *out = NULL;
    if (cb_template_exec(tmpl, o, &out, &err) < 0) {
      cb_strv_append(&errors, cb_error_text(err));
      cb_error_release(&err);
      ret = 1;
    } else {
      printf("%s\n", out);
      free(out);
    }
    json_object_put(o);
  }
  if (!tmpl) {
    char *s = cb_json_go_string(all, 4);
    printf("%s\n", s);
    free(s);
  }
  json_object_put(all);
  cb_template_free(tmpl);
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  for (char **e = errors; e && *e; e++)
    fprintf(stderr, "Error: %s\n", *e);
  cb_strv_free(errors);
  return ret;
}
