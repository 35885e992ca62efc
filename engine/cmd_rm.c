/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>

#include "crowbar/verb.h"
#include "engine.h"

CB_VERB(rm, "Remove one or more containers");

static void usage(FILE *out) {
  fputs("Usage: crowbar rm [OPTIONS] CONTAINER [CONTAINER...]\n\n"
        "Remove containers with their files, logs and names.\n\n"
        "Options:\n"
        "  -f, --force                kill and remove a running container\n"
        "  -v, --volumes              remove anonymous volumes too (crowbar makes none)\n"
        "      --help                 show this help\n\n"
        "See crowbar-rm(1).\n",
        out);
}

int cmd_rm(int argc, char **argv) {
  static const struct option longopts[] = {
      {"force", no_argument, NULL, 'f'},
      {"volumes", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool force = false, volumes = false;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":fv", longopts, NULL)) != -1) {
    switch (c) {
    case 'f': force = true; break;
    case 'v': volumes = true; break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: cb_opt_error("rm", argv, c); return 1;
    }
  }
  if (optind >= argc) {
    fputs("Error: \"crowbar rm\" requires at least 1 argument.\nSee 'crowbar rm --help'.\n",
          stderr);
    return 1;
  }
  struct cb_ctx ctx;
  cb_error_t err = NULL;
  if (engine_ctx(&ctx, argv[0], &err) < 0) {
    cb_error_print(&err);
    return 1;
  }
  int ret = 0;
  for (int i = optind; i < argc; i++) {
    char id[CB_ID_LEN + 1];
    if (cb_container_resolve(&ctx, argv[i], id, &err) < 0) {
      /* As Docker: with -f, a container that is not there is said, not a failure (two
       * racing rm -f both succeed). */
      if (!force)
        ret = 1;
      cb_error_print(&err);
      continue;
    }
    if (container_remove(&ctx, id, force, volumes, &err) < 0) {
      cb_error_print(&err);
      ret = 1;
      continue;
    }
    printf("%s\n", argv[i]);
  }
  cb_container_sweep(&ctx);
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
