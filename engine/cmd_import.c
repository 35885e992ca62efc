/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/context.h"
#include "crowbar/image.h"
#include "crowbar/util.h"
#include "crowbar/verb.h"

CB_VERB(import, "Import the contents from a tarball to create a filesystem image");

static void usage(FILE *out) {
  fputs("Usage: crowbar import [OPTIONS] FILE|- [REPOSITORY[:TAG]]\n\n"
        "Import a root filesystem tarball (plain, gzip, xz, zstd or bzip2) as a one-layer\n"
        "image and print its ID.\n\n"
        "Options:\n"
        "  -c, --change INSTR         apply a Dockerfile instruction to the image (CMD,\n"
        "                             ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL,\n"
        "                             USER, VOLUME, WORKDIR); repeatable\n"
        "  -m, --message MSG          set the commit message of the imported image\n"
        "      --help                 show this help\n\n"
        "See crowbar-import(1).\n",
        out);
}

int cmd_import(int argc, char **argv) {
  static const struct option longopts[] = {
      {"change", required_argument, NULL, 'c'},
      {"message", required_argument, NULL, 'm'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  cleanup_strv char **changes = NULL;
  const char *message = NULL;
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":c:m:", longopts, NULL)) != -1) {
    switch (c) {
    case 'c': cb_strv_append(&changes, optarg); break;
    case 'm': message = optarg; break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("import", argv, c);
    }
  }
  int nargs = argc - optind;
  if (nargs < 1 || nargs > 2) {
    fputs("Error: \"crowbar import\" requires at least 1 and at most 2 arguments.\n"
          "See 'crowbar import --help'.\n",
          stderr);
    return 1;
  }
  const char *file = argv[optind];
  struct cb_image_import_opts o = {
      .ref = nargs == 2 ? argv[optind + 1] : NULL,
      .changes = changes,
      .message = message,
  };
  cb_error_t err = NULL;
  struct cb_ctx ctx = {0};
  int ret = 1;
  cleanup_close int fd = -1;
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 1, &err) < 0)
    goto out;
  if (strcmp(file, "-")) {
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      cb_error_sys(&err, "open `%s`", file);
      goto out;
    }
  }
  char id[CB_ID_LEN + 1];
  if (cb_image_import(&ctx, fd >= 0 ? fd : STDIN_FILENO, &o, id, &err) < 0)
    goto out;
  printf("sha256:%s\n", id);
  ret = 0;
out:
  if (err)
    cb_error_print(&err);
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
