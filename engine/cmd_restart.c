/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "crowbar/verb.h"
#include "engine.h"

CB_VERB(restart, "Restart one or more containers");

/* The options are stop's (see cmd_stop.c and crowbar-restart(1)). */
int cmd_restart(int argc, char **argv) {
  return stop_or_restart(argc, argv, true);
}
