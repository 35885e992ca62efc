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
        "  -v, --volumes              remove the container's anonymous volumes too\n"
        "      --help                 show this help\n\n"
        "See crowbar-rm(1).\n",
        out);
}

struct rm_opts {
  bool force, volumes;
};

static int rm_one(const struct cb_ctx *ctx, const char *id, const char *arg, void *data,
                  cb_error_t *err) {
  struct rm_opts *o = data;
  return container_remove(ctx, id, o->force, o->volumes, err);
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
  while ((c = cb_getopt_long(argc, argv, ":fv", longopts, NULL)) != -1) {
    switch (c) {
    case 'f': force = true; break;
    case 'v': volumes = true; break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("rm", argv, c);
    }
  }
  struct rm_opts ro = {force, volumes};
  int ret = engine_each("rm", argc, argv, optind, rm_one, &ro,
                        ENGINE_EACH_PRINT | (force ? ENGINE_EACH_MISSING_OK : 0));
  /* Leftovers of killed creates and removals go too. */
  struct cb_ctx ctx;
  cb_error_t err = NULL;
  if (cb_ctx_init(&ctx, argv[0], 0, &err) == 0) {
    cb_container_sweep(&ctx);
    cb_ctx_release(&ctx);
  }
  cb_error_release(&err);
  return ret;
}
