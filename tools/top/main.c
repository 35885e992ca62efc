/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar top: docker top's form (`top CONTAINER [ps OPTIONS]`), batch snapshots of every
 * running container's processes (-b, --format json), and a live ncurses view of the same
 * on a terminal. The data is sample.c's; this file only picks the mode. */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/context.h"
#include "crowbar/error.h"
#include "crowbar/util.h"
#include "crowbar/verb.h"
#include "dockertop.h"
#include "live.h"
#include "order.h"
#include "sample.h"

CB_VERB(top, "Display the running processes of containers");

static void usage(FILE *out) {
  fputs("Usage: crowbar top CONTAINER [ps OPTIONS]\n"
        "       crowbar top [OPTIONS] [CONTAINER...]\n\n"
        "With a container and no option: its processes as docker top shows them, the host's\n"
        "ps(1) run with the ps options (default -ef) and filtered to the container's PIDs.\n\n"
        "Otherwise, the processes of every running container (or of those named), one row\n"
        "each with its host PID and its PID inside the container, each container headed\n"
        "by its totals against its limits: a live view on a terminal, text snapshots with\n"
        "-b or when the output is not a terminal.\n\n"
        "Options:\n"
        "  -b, --batch           text snapshots instead of the live view\n"
        "  -n, --iterations N    stop after N snapshots (default: until killed or q)\n"
        "  -d, --delay SECS      seconds between snapshots (default 3)\n"
        "      --format FORMAT   json: one JSON object per snapshot (implies -b)\n"
        "  -s, --sort KEY        cpu (default), mem, pid or time\n"
        "  -t, --tree            processes as trees (parents before their children)\n"
        "      --flat            one list for all containers, not one block each\n"
        "  -h, --help            show this help\n\n"
        "Live view keys: P M N T sort, t tree, g blocks/flat, / filter, Enter details,\n"
        "h help, q quit.\n\n"
        "See crowbar-top(1).\n",
        out);
}

static int parse_delay(const char *s, double *out) {
  char *end;
  double d = strtod(s, &end);
  if (!*s || *end || !isfinite(d) || d < 0 || d > 86400)
    return -1;
  *out = d;
  return 0;
}

int main(int argc, char **argv) {
  enum { OPT_FORMAT = CHAR_MAX + 1, OPT_FLAT };
  static const struct option longopts[] = {
      {"batch", no_argument, NULL, 'b'},
      {"iterations", required_argument, NULL, 'n'},
      {"delay", required_argument, NULL, 'd'},
      {"format", required_argument, NULL, OPT_FORMAT},
      {"sort", required_argument, NULL, 's'},
      {"tree", no_argument, NULL, 't'},
      {"flat", no_argument, NULL, OPT_FLAT},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool batch = false, any_option = false;
  long iterations = 0;
  double delay = 3.0;
  const char *format = NULL;
  struct top_order order = {.sort = TOP_SORT_CPU};
  int c;
  opterr = 0;
  /* '+': the first argument that is not an option ends them (a container, then ps's). */
  while ((c = cb_getopt_long(argc, argv, "+:bn:d:s:th", longopts, NULL)) != -1) {
    any_option = true;
    switch (c) {
    case 'b': batch = true; break;
    case 'n':
      if (cb_parse_long(optarg, &iterations) < 0 || iterations <= 0) {
        fprintf(stderr, "Error: invalid number of iterations: %s\nSee 'crowbar top --help'.\n",
                optarg);
        return 1;
      }
      break;
    case 'd':
      if (parse_delay(optarg, &delay) < 0) {
        fprintf(stderr, "Error: invalid delay: %s\nSee 'crowbar top --help'.\n", optarg);
        return 1;
      }
      break;
    case OPT_FORMAT:
      if (strcmp(optarg, "json") != 0) {
        fprintf(stderr,
                "Error: unsupported format \"%s\" (only json)\n"
                "See 'crowbar top --help'.\n",
                optarg);
        return 1;
      }
      format = optarg;
      break;
    case 's': {
      int s = top_sort_parse(optarg);
      if (s < 0) {
        fprintf(stderr,
                "Error: unknown sort key: %s (cpu, mem, pid or time)\n"
                "See 'crowbar top --help'.\n",
                optarg);
        return 1;
      }
      order.sort = (enum top_sort)s;
      break;
    }
    case 't': order.tree = true; break;
    case OPT_FLAT: order.flat = true; break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("top", argv, c);
    }
  }

  cb_error_t err = NULL;
  struct cb_ctx ctx;
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 0, &err) < 0) {
    cb_error_print(&err);
    return 1;
  }
  int ret = 0;

  if (!any_option && optind < argc) {
    /* docker top CONTAINER [ps OPTIONS] */
    if (top_docker(&ctx, argv[optind], argv + optind + 1, (size_t)(argc - optind - 1), &err) < 0) {
      fflush(stdout);
      cb_error_print(&err);
      ret = 1;
    }
    cb_ctx_release(&ctx);
    if (cb_close_stdout() < 0)
      ret = 1;
    return ret;
  }

  struct top_sampler s;
  if (top_sampler_init(&s, &ctx, &err) < 0) {
    cb_error_print(&err);
    cb_ctx_release(&ctx);
    return 1;
  }
  /* Named containers: each must exist and run (as docker top has it). */
  for (int i = optind; i < argc; i++) {
    cleanup_container struct cb_container *ct = NULL;
    if (cb_container_locate(&ctx, argv[i], &ct, &err) < 0) {
      ret = 1;
      break;
    }
    if (!cb_container_is_running(ct)) {
      cb_error_make(&err, 0, "Container %s is not running", ct->id);
      ret = 1;
      break;
    }
    top_sampler_only(&s, ct->id, ct->name ? ct->name : ct->id, ct->state.pid);
  }
  if (ret == 0) {
    if (format || batch || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
      cb_ignore_sigpipe();
      struct top_batch_opts bo = {
          .iterations = iterations, .delay = delay, .json = format != NULL, .order = order};
      if (top_batch(&s, &bo, &err) < 0)
        ret = 1;
    } else {
      if (top_live_run(&s, delay < 0.1 ? 0.1 : delay, iterations, &order, &err) < 0)
        ret = 1;
    }
  }
  if (ret) {
    fflush(stdout);
    cb_error_print(&err);
  }
  top_sampler_release(&s);
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
