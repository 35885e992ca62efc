/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar cp: copy files and folders between a container and the host. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "crowbar/cleanup.h"
#include "crowbar/context.h"
#include "crowbar/error.h"
#include "crowbar/util.h"
#include "crowbar/verb.h"
#include "cp.h"

CB_VERB(cp, "Copy files/folders between a container and the local filesystem");

static void usage(FILE *out) {
  fputs("Usage: crowbar cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
        "       crowbar cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n\n"
        "Copy files/folders between a container and the local filesystem, running, paused\n"
        "or stopped. Container paths resolve inside the container's root, never outside it.\n\n"
        "Use '-' as the source to read a tar archive from stdin\n"
        "and extract it to a directory destination in a container.\n"
        "Use '-' as the destination to stream a tar archive of a\n"
        "container source to stdout.\n\n"
        "Options:\n"
        "  -a, --archive       Archive mode (copy all uid/gid information)\n"
        "  -L, --follow-link   Always follow symbol link in SRC_PATH\n"
        "  -q, --quiet         Suppress progress output (crowbar prints none)\n"
        "      --help          show this help\n\n"
        "See crowbar-cp(1).\n",
        out);
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"archive", no_argument, NULL, 'a'},
      {"follow-link", no_argument, NULL, 'L'},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct cp_opts o = {0};
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":aLq", longopts, NULL)) != -1) {
    switch (c) {
    case 'a': o.archive = true; break;
    case 'L': o.follow = true; break;
    case 'q': break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("cp", argv, c);
    }
  }
  if (argc - optind != 2) {
    fputs("Error: \"crowbar cp\" requires exactly 2 arguments.\n"
          "See 'crowbar cp --help'.\n\n"
          "Usage:  crowbar cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
          "        crowbar cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n",
          stderr);
    return 1;
  }
  cleanup_free char *sctr = NULL, *spath = NULL, *dctr = NULL, *dpath = NULL;
  cp_split_arg(argv[optind], &sctr, &spath);
  cp_split_arg(argv[optind + 1], &dctr, &dpath);
  cb_error_t err = NULL;
  if (sctr && dctr) {
    cb_error_make(&err, 0, "copying between containers is not supported");
  } else if (!sctr && !dctr) {
    cb_error_make(&err, 0, "must specify at least one container source");
  } else {
    o.to_container = dctr != NULL;
    o.container = o.to_container ? dctr : sctr;
    o.src = spath;
    o.dst = dpath;
  }
  if (err) {
    cb_error_print(&err);
    return 1;
  }

  /* A deep tree holds one descriptor per level: allow as many as the hard limit. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  cb_ignore_sigpipe();
  struct cb_ctx ctx;
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 0, &err) < 0) {
    cb_error_print(&err);
    return 1;
  }
  int ret = 0;
  if (cp_run(&ctx, &o, &err) < 0) {
    cb_error_print(&err);
    ret = 1;
  }
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
