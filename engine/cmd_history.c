/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar history: an image's history, as `docker history` prints it. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crowbar/cleanup.h"
#include "crowbar/format.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/output.h"
#include "crowbar/util.h"
#include "crowbar/verb.h"

CB_VERB(history, "Show the history of an image");

#define HUMAN_TABLE "table {{.ID}}\\t{{.CreatedSince}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}"
#define PLAIN_TABLE "table {{.ID}}\\t{{.CreatedAt}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}"

static void usage(FILE *out) {
  fputs("Usage: crowbar history [OPTIONS] IMAGE\n\n"
        "Show the history of an image, newest first.\n\n"
        "Options:\n"
        "      --format TEMPLATE  print with a Go template ('table', 'json', or e.g.\n"
        "                         'table {{.ID}}\\t{{.CreatedBy}}')\n"
        "  -H, --human[=BOOL]     sizes and dates in human-readable form (default true)\n"
        "      --no-trunc         do not truncate IDs and CREATED BY\n"
        "  -q, --quiet            print the image IDs only\n"
        "      --help             show this help\n\n"
        "See crowbar-history(1).\n",
        out);
}

/* The docker CLI's Ellipsis for text of single-width characters. */
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

/* The size of one layer, as the store recorded it when it unpacked it. */
static int64_t layer_size(const struct cb_ctx *ctx, const char *diff_id) {
  cleanup_free char *path = cb_ctx_path(ctx, "layers/%s/layer.json", cb_digest_hex(diff_id));
  cleanup_json json_object *j = NULL;
  cb_error_t err = NULL;
  if (cb_json_read_file(path, &j, &err) < 0) {
    cb_error_release(&err);
    return 0;
  }
  return cb_json_get_int(j, "Size", 0);
}

static bool same_entry(json_object *a, json_object *b) {
  static const char *const keys[] = {"created", "created_by", "comment", "author"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    if (strcmp(cb_json_get_str(a, keys[i], ""), cb_json_get_str(b, keys[i], "")))
      return false;
  return cb_json_get_bool(a, "empty_layer", false) == cb_json_get_bool(b, "empty_layer", false);
}

/* The local image whose history is the first nh entries of img's and whose layers are its
 * first nl: the parent Docker names in that row. NULL when there is none ("<missing>"). */
static const struct cb_image *ancestor(struct cb_image **all, size_t n, json_object *hist,
                                       size_t nh, char **diff_ids, size_t nl) {
  for (size_t i = 0; i < n; i++) {
    json_object *h = cb_json_get(all[i]->config, "history");
    if (!json_object_is_type(h, json_type_array) || json_object_array_length(h) != nh ||
        cb_strv_len(all[i]->diff_ids) != nl)
      continue;
    bool same = true;
    for (size_t k = 0; k < nl && same; k++)
      same = !strcmp(all[i]->diff_ids[k], diff_ids[k]);
    for (size_t k = 0; k < nh && same; k++)
      same = same_entry(json_object_array_get_idx(h, k), json_object_array_get_idx(hist, k));
    if (same)
      return all[i];
  }
  return NULL;
}

struct history_opts {
  const char *format;
  bool human, trunc, quiet;
};

static int history(const struct cb_ctx *ctx, const char *ref, const struct history_opts *o,
                   cb_error_t *err) {
  cleanup_image struct cb_image *img = NULL;
  if (cb_image_locate(ctx, ref, &img, err) < 0)
    return -1;
  struct cb_image **all = NULL;
  size_t nall = 0;
  if (cb_image_list(ctx, &all, &nall, err) < 0)
    return -1;
  json_object *hist = cb_json_get(img->config, "history");
  size_t nh = json_object_is_type(hist, json_type_array) ? json_object_array_length(hist) : 0;
  size_t nl = cb_strv_len(img->diff_ids);
  /* Which layer each entry made: the non-empty entries take the layers in order. */
  size_t *layer_of = xcalloc(nh + 1, sizeof *layer_of);
  size_t used = 0;
  for (size_t i = 0; i < nh; i++) {
    json_object *h = json_object_array_get_idx(hist, i);
    layer_of[i] = cb_json_get_bool(h, "empty_layer", false) || used >= nl ? SIZE_MAX : used++;
  }
  int64_t now = cb_now_ns();
  json_object **rows = xcalloc(nh + 1, sizeof *rows);
  size_t nrows = 0;
  size_t layers_below = used; /* layers made by the entries up to i */
  for (size_t r = nh; r-- > 0;) {
    json_object *h = json_object_array_get_idx(hist, r);
    json_object *row = json_object_new_object();
    const char *id = NULL;
    char full[CB_ID_LEN + 8];
    if (r == nh - 1) {
      snprintf(full, sizeof full, "sha256:%s", img->id);
      id = full;
    } else {
      const struct cb_image *a = ancestor(all, nall, hist, r + 1, img->diff_ids, layers_below);
      if (a) {
        snprintf(full, sizeof full, "sha256:%s", a->id);
        id = full;
      }
    }
    if (layer_of[r] != SIZE_MAX)
      layers_below = layer_of[r];
    /* Keys in alphabetical order, as {{json .}} prints Docker's. */
    cb_json_set_str(row, "Comment", cb_json_get_str(h, "comment", ""));
    int64_t created = 0;
    cb_parse_rfc3339(cb_json_get_str(h, "created", ""), &created);
    /* time.Unix(Created, 0).Format(time.RFC3339), local time */
    time_t secs = (time_t)(created / 1000000000LL);
    struct tm tm;
    char at[64];
    localtime_r(&secs, &tm);
    if (tm.tm_gmtoff == 0) {
      strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    } else {
      strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%S", &tm);
      long off = tm.tm_gmtoff / 60;
      snprintf(at + strlen(at), sizeof at - strlen(at), "%c%02ld:%02ld", off < 0 ? '-' : '+',
               labs(off) / 60, labs(off) % 60);
    }
    cb_json_set_str(row, "CreatedAt", at);
    cleanup_free char *by = xstrdup(cb_json_get_str(h, "created_by", ""));
    for (char *p = by; *p; p++)
      if (*p == '\t')
        *p = ' ';
    cleanup_free char *shown = o->trunc ? ellipsis(by, 45) : xstrdup(by);
    cb_json_set_str(row, "CreatedBy", shown);
    if (o->human) {
      cleanup_free char *ago = cb_time_ago(secs * 1000000000LL, now);
      cb_json_set_str(row, "CreatedSince", ago);
    } else {
      cb_json_set_str(row, "CreatedSince", at);
    }
    char shortid[CB_SHORT_ID_LEN + 1];
    if (!id)
      cb_json_set_str(row, "ID", "<missing>");
    else
      cb_json_set_str(row, "ID", o->trunc ? cb_image_short_id(id, shortid) : id);
    int64_t size = layer_of[r] != SIZE_MAX ? layer_size(ctx, img->diff_ids[layer_of[r]]) : 0;
    cleanup_free char *sz =
        o->human ? cb_human_size_precision((double)size, 3) : xasprintf("%lld", (long long)size);
    cb_json_set_str(row, "Size", sz);
    rows[nrows++] = row;
  }
  json_object *header = json_object_new_object();
  cb_json_set_str(header, "Comment", "COMMENT");
  cb_json_set_str(header, "CreatedAt", "CREATED AT");
  cb_json_set_str(header, "CreatedBy", "CREATED BY");
  cb_json_set_str(header, "CreatedSince", "CREATED");
  cb_json_set_str(header, "ID", "IMAGE");
  cb_json_set_str(header, "Size", "SIZE");
  int ret = cb_output_print(stdout, o->quiet ? "{{.ID}}" : o->format,
                            o->human ? HUMAN_TABLE : PLAIN_TABLE, header, rows, nrows, err);
  for (size_t i = 0; i < nrows; i++)
    json_object_put(rows[i]);
  free(rows);
  free(layer_of);
  json_object_put(header);
  cb_image_list_free(all, nall);
  return ret;
}

int cmd_history(int argc, char **argv) {
  enum { OPT_FORMAT = CHAR_MAX + 1, OPT_NO_TRUNC };
  static const struct option longopts[] = {
      {"format", required_argument, NULL, OPT_FORMAT},
      {"human", optional_argument, NULL, 'H'},
      {"no-trunc", no_argument, NULL, OPT_NO_TRUNC},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct history_opts o = {.human = true, .trunc = true};
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":H::q", longopts, NULL)) != -1) {
    switch (c) {
    case OPT_FORMAT: o.format = optarg; break;
    case 'H':
      if (!optarg || !strcmp(optarg, "true") || !strcmp(optarg, "1"))
        o.human = true;
      else if (!strcmp(optarg, "false") || !strcmp(optarg, "0"))
        o.human = false;
      else {
        fprintf(stderr,
                "Error: invalid argument \"%s\" for \"-H, --human\" flag: strconv.ParseBool: "
                "parsing \"%s\": invalid syntax\nSee 'crowbar history --help'.\n",
                optarg, optarg);
        return 125;
      }
      break;
    case OPT_NO_TRUNC: o.trunc = false; break;
    case 'q': o.quiet = true; break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("history", argv, c);
    }
  }
  if (argc - optind != 1) {
    fputs("Error: \"crowbar history\" requires exactly 1 argument.\n"
          "See 'crowbar history --help'.\n",
          stderr);
    return 1;
  }
  cb_error_t err = NULL;
  struct cb_ctx ctx = {0};
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 0, &err) < 0) {
    cb_error_print(&err);
    cb_ctx_release(&ctx);
    return 1;
  }
  int ret = 0;
  if (history(&ctx, argv[optind], &o, &err) < 0) {
    cb_error_print(&err);
    ret = 1;
  }
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
