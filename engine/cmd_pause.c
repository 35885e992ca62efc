/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "crowbar/verb.h"
#include "engine.h"

CB_VERB(pause, "Pause all processes within one or more containers");

static void usage(FILE *out, bool pause) {
  const char *v = pause ? "pause" : "unpause";
  fprintf(out,
          "Usage: crowbar %s CONTAINER [CONTAINER...]\n\n%s\n\n"
          "Options:\n"
          "      --help                 show this help\n\n"
          "See crowbar-%s(1).\n",
          v,
          pause ? "Freeze every process of running containers (freezer cgroup), so that\n"
                  "diff, cp, export and commit see a consistent filesystem."
                : "Thaw the processes of paused containers.",
          v);
}

int pause_or_unpause(int argc, char **argv, bool pause) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *v = pause ? "pause" : "unpause";
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': usage(stdout, pause); return cb_close_stdout() < 0 ? 1 : 0;
    default: cb_opt_error(v, argv, c); return 1;
    }
  }
  if (optind >= argc) {
    fprintf(stderr,
            "Error: \"crowbar %s\" requires at least 1 argument.\nSee 'crowbar %s --help'.\n", v,
            v);
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
    if (cb_container_resolve(&ctx, argv[i], id, &err) < 0 ||
        container_pause(&ctx, id, pause, &err) < 0) {
      cb_error_print(&err);
      ret = 1;
      continue;
    }
    printf("%s\n", argv[i]);
  }
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}

int cmd_pause(int argc, char **argv) {
  return pause_or_unpause(argc, argv, true);
}
