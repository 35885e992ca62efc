/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "crowbar/verb.h"
#include "engine.h"

CB_VERB(unpause, "Unpause all processes within one or more containers");

/* Shares pause's options and loop (cmd_pause.c). */
int cmd_unpause(int argc, char **argv) {
  return pause_or_unpause(argc, argv, false);
}
