/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar tag: another name for an image, as `docker tag`. */
#include <getopt.h>
#include <stdio.h>

#include "crowbar/cleanup.h"
#include "crowbar/image.h"
#include "crowbar/util.h"
#include "crowbar/verb.h"

CB_VERB(tag, "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");

static void usage(FILE *out) {
  fputs("Usage: crowbar tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\n"
        "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE.\n\n"
        "Options:\n"
        "      --help   show this help\n\n"
        "See crowbar-tag(1).\n",
        out);
}

int cmd_tag(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("tag", argv, c);
    }
  }
  if (argc - optind != 2) {
    fputs("Error: \"crowbar tag\" requires exactly 2 arguments.\nSee 'crowbar tag --help'.\n",
          stderr);
    return 1;
  }
  const char *source = argv[optind], *target = argv[optind + 1];
  cb_error_t err = NULL;
  /* The target is checked first, as Docker's client does. */
  cleanup_free char *name = NULL, *tag = NULL;
  if (cb_image_parse_ref(target, &name, &tag, &err) < 0) {
    cb_error_wrap(&err, "parsing reference: \"%s\" is not a valid repository/tag", target);
    cb_error_print(&err);
    return 1;
  }
  struct cb_ctx ctx = {0};
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 1, &err) < 0) {
    cb_error_print(&err);
    cb_ctx_release(&ctx);
    return 1;
  }
  int ret = 0;
  cleanup_image struct cb_image *img = NULL;
  if (cb_image_locate(&ctx, source, &img, &err) < 0 ||
      cb_image_tag(&ctx, img->id, target, &err) < 0) {
    cb_error_print(&err);
    ret = 1;
  }
  cb_ctx_release(&ctx);
  return ret;
}
