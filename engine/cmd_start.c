/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "crowbar/container.h"
#include "crowbar/tty.h"
#include "crowbar/verb.h"
#include "engine.h"

CB_VERB(start, "Start one or more stopped containers");

static void usage(FILE *out) {
  fputs("Usage: crowbar start [OPTIONS] CONTAINER [CONTAINER...]\n\n"
        "Start one or more created or stopped containers.\n\n"
        "Options:\n"
        "  -a, --attach               attach stdout/stderr and wait for the exit (one\n"
        "                             container); the exit code is the container's\n"
        "  -i, --interactive          attach stdin too\n"
        "      --detach-keys KEYS     key sequence that detaches\n"
        "      --help                 show this help\n\n"
        "See crowbar-start(1).\n",
        out);
}

/* A paused container is running: start would say nothing and do nothing. Docker says why. */
static int refuse_paused(const struct cb_ctx *ctx, const char *id, cb_error_t *err) {
  cleanup_container struct cb_container *c = NULL;
  if (cb_container_locate(ctx, id, &c, err) < 0)
    return -1;
  if (c->state.status == CB_STATUS_PAUSED)
    return cb_error_make(err, 0, "cannot start a paused container, try unpause instead");
  return 0;
}

int cmd_start(int argc, char **argv) {
  static const struct option longopts[] = {
      {"attach", no_argument, NULL, 'a'},
      {"interactive", no_argument, NULL, 'i'},
      {"detach-keys", required_argument, NULL, CHAR_MAX + 1},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct start_opts so = {0};
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":ai", longopts, NULL)) != -1) {
    switch (c) {
    case 'a': so.attach = true; break;
    case 'i': so.stdin_ = true; break;
    case CHAR_MAX + 1: so.detach_keys = optarg; break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("start", argv, c);
    }
  }
  if (optind >= argc) {
    fputs("Error: \"crowbar start\" requires at least 1 argument.\nSee 'crowbar start --help'.\n",
          stderr);
    return 1;
  }
  if ((so.attach || so.stdin_) && argc - optind > 1) {
    fputs("Error: you cannot start and attach multiple containers at once\n", stderr);
    return 1;
  }
  so.attach = so.attach || so.stdin_;
  if (so.detach_keys) {
    unsigned char keys[CB_DETACH_MAX];
    size_t nk;
    cb_error_t kerr = NULL;
    if (cb_detach_keys_parse(so.detach_keys, keys, &nk, &kerr) < 0) {
      cb_error_print(&kerr);
      return 125;
    }
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
    int code = 0;
    if (cb_container_resolve(&ctx, argv[i], id, &err) < 0 || refuse_paused(&ctx, id, &err) < 0) {
      /* Docker refuses before anything starts, attached or not: 1. */
      ret = 1;
      cb_error_print(&err);
      continue;
    }
    if (container_start(&ctx, id, &so, &code, &err) < 0) {
      /* Attached, crowbar's own failures are 125, as for run. */
      ret = so.attach ? (err->exit_code ? err->exit_code : 125) : 1;
      cb_error_print(&err);
      continue;
    }
    if (so.attach)
      ret = code;
    else
      printf("%s\n", argv[i]);
  }
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0 && !ret)
    ret = 1;
  return ret;
}
