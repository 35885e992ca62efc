/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crowbar/cleanup.h"
#include "crowbar/context.h"
#include "crowbar/format.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/output.h"
#include "crowbar/util.h"
#include "crowbar/verb.h"

CB_VERB(images, "List images");

#define DEFAULT_TABLE "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}"
#define DEFAULT_QUIET "{{.ID}}"

static void usage(FILE *out) {
  fputs("Usage: crowbar images [OPTIONS] [REPOSITORY[:TAG]]\n\n"
        "List images.\n\n"
        "Options:\n"
        "  -a, --all                  show all images (crowbar has no intermediate images)\n"
        "  -f, --filter FILTER        filter the output: dangling=true|false,\n"
        "                             reference=PATTERN, label=KEY[=VALUE], before=IMAGE,\n"
        "                             since=IMAGE\n"
        "      --format TEMPLATE      format the output with a Go template, \"table\" or\n"
        "                             \"json\"\n"
        "      --no-trunc             do not truncate the output (full image IDs)\n"
        "  -q, --quiet                only show image IDs\n"
        "      --help                 show this help\n\n"
        "See crowbar-images(1).\n",
        out);
}

struct filters {
  int dangling; /* -1 unset, 0 false, 1 true */
  char **refs;
  char **labels;
  int64_t before_ns, since_ns; /* 0 unset */
  bool before_set, since_set;
};

/* reference.FamiliarMatch: the pattern against "name:tag", then against "name". */
static bool ref_matches(char **patterns, const char *repo_tag) {
  if (!patterns)
    return true;
  cleanup_free char *name = xstrdup(repo_tag);
  char *colon = strrchr(name, ':');
  if (colon && !strchr(colon, '/'))
    *colon = '\0';
  for (char **p = patterns; *p; p++)
    if (fnmatch(*p, repo_tag, FNM_PATHNAME) == 0 || fnmatch(*p, name, FNM_PATHNAME) == 0)
      return true;
  return false;
}

static bool labels_match(char **labels, const struct cb_image *img) {
  json_object *l = cb_json_get(img->config, "config.Labels");
  for (char **p = labels; p && *p; p++) {
    cleanup_free char *key = xstrdup(*p);
    char *eq = strchr(key, '=');
    if (eq)
      *eq = '\0';
    json_object *v = NULL;
    if (!l || !json_object_is_type(l, json_type_object) || !json_object_object_get_ex(l, key, &v))
      return false;
    if (eq && strcmp(json_object_get_string(v), eq + 1))
      return false;
  }
  return true;
}

static int parse_filter(const struct cb_ctx *ctx, const char *arg, struct filters *f,
                        cb_error_t *err) {
  const char *eq = strchr(arg, '=');
  if (!eq)
    return cb_error_make(err, 0, "bad format of filter (expected name=value)");
  cleanup_free char *key = strndup(arg, (size_t)(eq - arg));
  const char *val = eq + 1;
  if (!strcmp(key, "dangling")) {
    if (!strcasecmp(val, "true") || !strcmp(val, "1"))
      f->dangling = 1;
    else if (!strcasecmp(val, "false") || !strcmp(val, "0"))
      f->dangling = 0;
    else
      return cb_error_make(err, 0, "invalid filter 'dangling=%s'", val);
  } else if (!strcmp(key, "reference")) {
    cb_strv_append(&f->refs, val);
  } else if (!strcmp(key, "label")) {
    cb_strv_append(&f->labels, val);
  } else if (!strcmp(key, "before") || !strcmp(key, "since")) {
    cleanup_image struct cb_image *img = NULL;
    if (cb_image_locate(ctx, val, &img, err) < 0)
      return -1;
    if (key[0] == 'b') {
      f->before_ns = img->created_ns;
      f->before_set = true;
    } else {
      f->since_ns = img->created_ns;
      f->since_set = true;
    }
  } else {
    return cb_error_make(err, 0, "invalid filter '%s'", key);
  }
  return 0;
}

/* The fields of one row, as the docker CLI's imageContext names them (sorted, as its
 * `{{json .}}` prints them). */
static json_object *row(const struct cb_image *img, const char *repo, const char *tag,
                        bool no_trunc, int64_t now) {
  json_object *o = json_object_new_object();
  char at[64] = "";
  time_t sec = (time_t)(img->created_ns / 1000000000LL);
  struct tm tm;
  if (localtime_r(&sec, &tm))
    strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
  cleanup_free char *since = img->created_ns ? cb_time_ago(img->created_ns, now) : xstrdup("");
  cleanup_free char *size = cb_human_size_precision((double)img->size, 3);
  cleanup_free char *vsize = cb_human_size((double)img->size);
  char id[CB_ID_LEN + 8];
  if (no_trunc)
    snprintf(id, sizeof id, "sha256:%s", img->id);
  else
    snprintf(id, sizeof id, "%.*s", CB_SHORT_ID_LEN, img->id);
  cb_json_set_str(o, "Containers", "N/A");
  cb_json_set_str(o, "CreatedAt", at);
  cb_json_set_str(o, "CreatedSince", since);
  cb_json_set_str(o, "Digest", "<none>");
  cb_json_set_str(o, "ID", id);
  cb_json_set_str(o, "Repository", repo);
  cb_json_set_str(o, "SharedSize", "N/A");
  cb_json_set_str(o, "Size", size);
  cb_json_set_str(o, "Tag", tag);
  cb_json_set_str(o, "UniqueSize", "N/A");
  cb_json_set_str(o, "VirtualSize", vsize);
  return o;
}

static json_object *header(void) {
  json_object *o = json_object_new_object();
  cb_json_set_str(o, "Containers", "CONTAINERS");
  cb_json_set_str(o, "CreatedAt", "CREATED AT");
  cb_json_set_str(o, "CreatedSince", "CREATED");
  cb_json_set_str(o, "Digest", "DIGEST");
  cb_json_set_str(o, "ID", "IMAGE ID");
  cb_json_set_str(o, "Repository", "REPOSITORY");
  cb_json_set_str(o, "SharedSize", "SHARED SIZE");
  cb_json_set_str(o, "Size", "SIZE");
  cb_json_set_str(o, "Tag", "TAG");
  cb_json_set_str(o, "UniqueSize", "UNIQUE SIZE");
  cb_json_set_str(o, "VirtualSize", "SIZE");
  return o;
}

static int list(const struct cb_ctx *ctx, struct cb_output *o, const struct filters *f,
                bool no_trunc, cb_error_t *err) {
  struct cb_image **v = NULL;
  size_t n = 0;
  if (cb_image_list(ctx, &v, &n, err) < 0)
    return -1;
  int64_t now = cb_now_ns();
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const struct cb_image *img = v[i];
    bool dangling = !img->tags || !img->tags[0];
    if ((f->dangling == 1 && !dangling) || (f->dangling == 0 && dangling))
      continue;
    if (f->before_set && img->created_ns >= f->before_ns)
      continue;
    if (f->since_set && img->created_ns <= f->since_ns)
      continue;
    if (!labels_match(f->labels, img))
      continue;
    if (dangling) {
      if (f->refs)
        continue;
      json_object *d = row(img, "<none>", "<none>", no_trunc, now);
      rc = cb_output_add(o, d, err);
      json_object_put(d);
      continue;
    }
    for (char **t = img->tags; *t && rc == 0; t++) {
      if (!ref_matches(f->refs, *t))
        continue;
      cleanup_free char *repo = xstrdup(*t);
      char *colon = strrchr(repo, ':');
      const char *tag = "<none>";
      if (colon && !strchr(colon, '/')) {
        *colon = '\0';
        tag = colon + 1;
      }
      json_object *d = row(img, repo, tag, no_trunc, now);
      rc = cb_output_add(o, d, err);
      json_object_put(d);
    }
  }
  cb_image_list_free(v, n);
  return rc;
}

int cmd_images(int argc, char **argv) {
  enum { OPT_FORMAT = CHAR_MAX + 1, OPT_NO_TRUNC };
  static const struct option longopts[] = {
      {"all", no_argument, NULL, 'a'},
      {"filter", required_argument, NULL, 'f'},
      {"format", required_argument, NULL, OPT_FORMAT},
      {"no-trunc", no_argument, NULL, OPT_NO_TRUNC},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool quiet = false, no_trunc = false;
  const char *format = NULL;
  cleanup_strv char **filter_args = NULL;
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":af:q", longopts, NULL)) != -1) {
    switch (c) {
    case 'a': break;
    case 'f': cb_strv_append(&filter_args, optarg); break;
    case OPT_FORMAT: format = optarg; break;
    case OPT_NO_TRUNC: no_trunc = true; break;
    case 'q': quiet = true; break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("images", argv, c);
    }
  }
  if (argc - optind > 1) {
    fputs("Error: \"crowbar images\" requires at most 1 argument.\n"
          "See 'crowbar images --help'.\n",
          stderr);
    return 1;
  }
  /* NewImageFormat: with -q, the default ("table" or nothing) is the IDs alone. */
  if (quiet && (!format || !*format || !strcmp(format, "table")))
    format = DEFAULT_QUIET;

  cb_error_t err = NULL;
  struct cb_ctx ctx = {0};
  struct filters f = {.dangling = -1};
  cleanup_output struct cb_output *o = NULL;
  json_object *h = NULL;
  int ret = 1;
  if (cb_output_new(format, DEFAULT_TABLE, &o, &err) < 0)
    goto out;
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 0, &err) < 0)
    goto out;
  for (char **a = filter_args; a && *a; a++)
    if (parse_filter(&ctx, *a, &f, &err) < 0)
      goto out;
  if (optind < argc)
    cb_strv_append(&f.refs, argv[optind]);
  if (list(&ctx, o, &f, no_trunc, &err) < 0)
    goto out;
  h = header();
  if (cb_output_flush(o, h, stdout, &err) < 0)
    goto out;
  ret = 0;
out:
  if (err)
    cb_error_print(&err);
  if (h)
    json_object_put(h);
  cb_strv_free(f.refs);
  cb_strv_free(f.labels);
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
