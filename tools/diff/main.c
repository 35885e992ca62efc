/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar diff: what a container added, changed and deleted relative to its image, as
 * `docker diff` prints it, sorted by path. The work is layers.h's. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/json.h"
#include "crowbar/layers.h"
#include "crowbar/output.h"
#include "crowbar/util.h"
#include "crowbar/verb.h"

CB_VERB(diff, "Show a container's changes to its image's files");

static void usage(FILE *out) {
  fputs("Usage: crowbar diff [OPTIONS] CONTAINER\n\n"
        "List the files and folders a container added (A), changed (C) and deleted (D)\n"
        "relative to its image, sorted by path; running, paused or stopped.\n\n"
        "Options:\n"
        "      --format FORMAT   json: one JSON object per line ({\"Kind\":\"A\",\"Path\":...});\n"
        "                        or a Go template over .Kind and .Path\n"
        "  -h, --help            show this help\n\n"
        "See crowbar-diff(1).\n",
        out);
}

static int print_changes(const struct cb_changes *ch, const char *format, cb_error_t *err) {
  static char buf[1 << 16];
  setvbuf(stdout, buf, _IOFBF, sizeof buf);
  if (!format) {
    for (size_t i = 0; i < ch->n; i++) {
      putchar_unlocked(ch->v[i].kind);
      putchar_unlocked(' ');
      fputs_unlocked(ch->v[i].path, stdout);
      putchar_unlocked('\n');
    }
    return 0;
  }
  struct cb_output *o = NULL;
  if (cb_output_new(format, "{{.Kind}} {{.Path}}", &o, err) < 0)
    return -1;
  int rc = 0;
  for (size_t i = 0; i < ch->n && rc == 0; i++) {
    char kind[2] = {ch->v[i].kind, '\0'};
    json_object *row = json_object_new_object();
    cb_json_set_str(row, "Kind", kind);
    cb_json_set_str(row, "Path", ch->v[i].path);
    rc = cb_output_add(o, row, err);
    json_object_put(row);
  }
  if (rc == 0)
    rc = cb_output_flush(o, NULL, stdout, err);
  cb_output_free(o);
  return rc;
}

int main(int argc, char **argv) {
  enum { OPT_FORMAT = CHAR_MAX + 1 };
  static const struct option longopts[] = {
      {"format", required_argument, NULL, OPT_FORMAT},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *format = NULL;
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
    case OPT_FORMAT: format = optarg; break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("diff", argv, c);
    }
  }
  if (argc - optind != 1) {
    fprintf(stderr, "Error: \"crowbar diff\" requires exactly 1 argument.\n"
                    "See 'crowbar diff --help'.\n");
    return 1;
  }
  cb_error_t err = NULL;
  struct cb_ctx ctx;
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 0, &err) < 0) {
    cb_error_print(&err);
    return 1;
  }
  int ret = 0;
  struct cb_container *ct = NULL;
  struct cb_changes ch = {0};
  if (cb_container_locate(&ctx, argv[optind], &ct, &err) < 0 ||
      cb_container_changes(ct, &ch, &err) < 0 || print_changes(&ch, format, &err) < 0) {
    fflush(stdout);
    cb_error_print(&err);
    ret = 1;
  }
  cb_changes_release(&ch);
  if (ct)
    cb_container_free(ct);
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
