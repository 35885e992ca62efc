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

static int pause_one(const struct cb_ctx *ctx, const char *id, const char *arg, void *data,
                     cb_error_t *err) {
  return container_pause(ctx, id, true, err);
}

static int unpause_one(const struct cb_ctx *ctx, const char *id, const char *arg, void *data,
                       cb_error_t *err) {
  return container_pause(ctx, id, false, err);
}

int pause_or_unpause(int argc, char **argv, bool pause) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *v = pause ? "pause" : "unpause";
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': usage(stdout, pause); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error(v, argv, c);
    }
  }
  return engine_each(v, argc, argv, optind, pause ? pause_one : unpause_one, NULL,
                     ENGINE_EACH_PRINT);
}

int cmd_pause(int argc, char **argv) {
  return pause_or_unpause(argc, argv, true);
}
