/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>

#include "crowbar/util.h"
#include "crowbar/verb.h"

CB_VERB(version, "Show the crowbar version");

int cmd_version(int argc, char **argv) {
  printf("crowbar version %s\n", CROWBAR_VERSION);
  return cb_close_stdout() < 0 ? 1 : 0;
}
