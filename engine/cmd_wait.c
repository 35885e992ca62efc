/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>

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

int cmd_wait(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: cb_opt_error("wait", argv, c); return 1;
    }
  }
  if (optind >= argc) {
    fputs("Error: \"crowbar wait\" requires at least 1 argument.\nSee 'crowbar wait --help'.\n",
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
    struct cb_container *ct = NULL;
    if (cb_container_resolve(&ctx, argv[i], id, &err) < 0 ||
        container_wait_stopped(&ctx, id, -1, &err) < 0 ||
        cb_container_locate(&ctx, id, &ct, &err) < 0) {
      cb_error_print(&err);
      ret = 1;
      continue;
    }
    printf("%d\n", ct->state.exit_code);
    fflush(stdout);
    cb_container_free(ct);
  }
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
