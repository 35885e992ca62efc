/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>

#include "crowbar/verb.h"
#include "engine.h"

CB_VERB(kill, "Send a signal to one or more running containers");

static void usage(FILE *out) {
  fputs("Usage: crowbar kill [OPTIONS] CONTAINER [CONTAINER...]\n\n"
        "Send a signal (SIGKILL by default) to the PID 1 of running containers.\n\n"
        "Options:\n"
        "  -s, --signal SIG           signal by name (KILL, SIGTERM, ...) or number\n"
        "      --help                 show this help\n\n"
        "See crowbar-kill(1).\n",
        out);
}

int cmd_kill(int argc, char **argv) {
  static const struct option longopts[] = {
      {"signal", required_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int sig = 9, c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":s:", longopts, NULL)) != -1) {
    switch (c) {
    case 's':
      sig = cb_signal_parse(optarg);
      if (sig < 0) {
        fprintf(stderr, "Error: invalid signal: %s\n", optarg);
        return 1;
      }
      break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: cb_opt_error("kill", argv, c); return 1;
    }
  }
  if (optind >= argc) {
    fputs("Error: \"crowbar kill\" requires at least 1 argument.\nSee 'crowbar kill --help'.\n",
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
    struct cb_container *ct = NULL;
    if (cb_container_locate(&ctx, argv[i], &ct, &err) < 0 ||
        container_kill(&ctx, ct, sig, &err) < 0) {
      cb_error_print(&err);
      ret = 1;
    } else {
      printf("%s\n", argv[i]);
    }
    cb_container_free(ct);
  }
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
