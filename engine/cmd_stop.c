/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "crowbar/verb.h"
#include "engine.h"

CB_VERB(stop, "Stop one or more running containers");

static void usage(FILE *out, const char *verb) {
  fprintf(out,
          "Usage: crowbar %s [OPTIONS] CONTAINER [CONTAINER...]\n\n%s\n\n"
          "Options:\n"
          "  -t, --time N               seconds to wait for the stop signal to work before\n"
          "                             killing the container (default: the container's\n"
          "                             --stop-timeout, or 10)\n"
          "      --help                 show this help\n\n"
          "See crowbar-%s(1).\n",
          verb,
          !strcmp(verb, "stop")
              ? "Stop containers: send the stop signal (SIGTERM unless --stop-signal said\n"
                "otherwise) to PID 1, and SIGKILL when it has not exited after the timeout."
              : "Stop, then start again, one or more containers.",
          verb);
}

static int stop_one(const struct cb_ctx *ctx, const char *id, const char *arg, void *data,
                    cb_error_t *err) {
  return container_stop(ctx, id, *(int *)data, err);
}

static int restart_one(const struct cb_ctx *ctx, const char *id, const char *arg, void *data,
                       cb_error_t *err) {
  if (container_stop(ctx, id, *(int *)data, err) < 0)
    return -1;
  return container_start(ctx, id, NULL, NULL, err);
}

int stop_or_restart(int argc, char **argv, bool restart) {
  const char *verb = restart ? "restart" : "stop";
  static const struct option longopts[] = {
      {"time", required_argument, NULL, 't'},
      {"timeout", required_argument, NULL, 't'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int timeout = -1, c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":t:", longopts, NULL)) != -1) {
    switch (c) {
    case 't':
      if (cb_parse_int(optarg, &timeout) < 0 || timeout < -1) {
        fprintf(stderr, "Error: invalid argument \"%s\" for \"-t, --time\" flag\n", optarg);
        return 125;
      }
      break;
    case 'h': usage(stdout, verb); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error(verb, argv, c);
    }
  }
  return engine_each(verb, argc, argv, optind, restart ? restart_one : stop_one, &timeout,
                     ENGINE_EACH_PRINT);
}

int cmd_stop(int argc, char **argv) {
  return stop_or_restart(argc, argv, false);
}
