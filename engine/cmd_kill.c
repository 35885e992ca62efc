/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>

#include "crowbar/cleanup.h"
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

static int kill_one(const struct cb_ctx *ctx, const char *id, const char *arg, void *data,
                    cb_error_t *err) {
  cleanup_container struct cb_container *ct = NULL;
  if (cb_container_locate(ctx, id, &ct, err) < 0)
    return -1;
  return container_kill(ctx, ct, *(int *)data, err);
}

int cmd_kill(int argc, char **argv) {
  static const struct option longopts[] = {
      {"signal", required_argument, NULL, 's'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int sig = 9, c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":s:", longopts, NULL)) != -1) {
    switch (c) {
    case 's':
      sig = cb_signal_parse(optarg);
      if (sig < 0) {
        fprintf(stderr, "Error: invalid signal: %s\n", optarg);
        return 1;
      }
      break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("kill", argv, c);
    }
  }
  return engine_each("kill", argc, argv, optind, kill_one, &sig, ENGINE_EACH_PRINT);
}
