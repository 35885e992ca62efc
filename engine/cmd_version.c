/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <stdio.h>

#include "crowbar/util.h"
#include "crowbar/verb.h"

CB_VERB(version, "Show the crowbar version");

static void usage(FILE *out) {
  fputs("Usage: crowbar version\n\n"
        "Show the crowbar version.\n\n"
        "Options:\n"
        "      --help   show this help\n\n"
        "See crowbar-version(1).\n",
        out);
}

int cmd_version(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("version", argv, c);
    }
  }
  if (optind < argc) {
    fputs("Error: \"crowbar version\" accepts no arguments.\n"
          "See 'crowbar version --help'.\n",
          stderr);
    return 1;
  }
  printf("crowbar version %s\n", CROWBAR_VERSION);
  return cb_close_stdout() < 0 ? 1 : 0;
}
