/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>

#include "crowbar/cleanup.h"
#include "crowbar/verb.h"
#include "engine.h"

CB_VERB(wait, "Block until containers stop, then print their exit codes");

static void usage(FILE *out) {
  fputs("Usage: crowbar wait CONTAINER [CONTAINER...]\n\n"
        "Wait until each container stops, then print its exit code.\n\n"
        "Options:\n"
        "      --help                 show this help\n\n"
        "See crowbar-wait(1).\n",
        out);
}

static int wait_one(const struct cb_ctx *ctx, const char *id, const char *arg, void *data,
                    cb_error_t *err) {
  cleanup_container struct cb_container *ct = NULL;
  if (container_wait_stopped(ctx, id, -1, err) < 0 || cb_container_locate(ctx, id, &ct, err) < 0)
    return -1;
  printf("%d\n", ct->state.exit_code);
  fflush(stdout);
  return 0;
}

int cmd_wait(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("wait", argv, c);
    }
  }
  return engine_each("wait", argc, argv, optind, wait_one, NULL, 0);
}
