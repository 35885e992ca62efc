/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "crowbar/cleanup.h"
#include "crowbar/context.h"
#include "crowbar/image.h"
#include "crowbar/util.h"
#include "crowbar/verb.h"

CB_VERB(rmi, "Remove one or more images");

static void usage(FILE *out) {
  fputs("Usage: crowbar rmi [OPTIONS] IMAGE [IMAGE...]\n\n"
        "Untag images, and remove those left without a tag with their unused layers.\n\n"
        "Options:\n"
        "  -f, --force                remove the image even if stopped containers use it or\n"
        "                             it has several tags\n"
        "      --no-prune             accepted for Docker compatibility (crowbar images have\n"
        "                             no untagged parents)\n"
        "      --help                 show this help\n\n"
        "See crowbar-rmi(1).\n",
        out);
}

int cmd_rmi(int argc, char **argv) {
  enum { OPT_NO_PRUNE = CHAR_MAX + 1 };
  static const struct option longopts[] = {
      {"force", no_argument, NULL, 'f'},
      {"no-prune", no_argument, NULL, OPT_NO_PRUNE},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool force = false;
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":f", longopts, NULL)) != -1) {
    switch (c) {
    case 'f': force = true; break;
    case OPT_NO_PRUNE: break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("rmi", argv, c);
    }
  }
  if (optind >= argc) {
    fputs("Error: \"crowbar rmi\" requires at least 1 argument.\nSee 'crowbar rmi --help'.\n",
          stderr);
    return 1;
  }
  cb_error_t err = NULL;
  struct cb_ctx ctx = {0};
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 1, &err) < 0) {
    cb_error_print(&err);
    cb_ctx_release(&ctx);
    return 1;
  }
  int ret = 0;
  for (int i = optind; i < argc; i++) {
    cleanup_strv char **records = NULL;
    if (cb_image_remove(&ctx, argv[i], force, &records, &err) < 0) {
      cb_error_print(&err);
      ret = 1;
      continue;
    }
    for (char **r = records; r && *r; r++)
      printf("%s\n", *r);
    fflush(stdout);
  }
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
