/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CROWBAR_ENGINE_EXEC_H
#define CROWBAR_ENGINE_EXEC_H

#include <stdbool.h>

#include "crowbar/container.h"
#include "crowbar/context.h"

struct exec_opts {
  bool detach, interactive, tty;
  char **env;
  char *user, *workdir;
  const char *container;
  char **argv;
};

void exec_opts_free(struct exec_opts *o);
/* Run o->argv in the container; *exit_code gets its status (128+N for signal N). On
 * failure err carries the exit-code hint (126, 127; 0 means 125). */
int container_exec(const struct cb_ctx *ctx, const struct exec_opts *o, int *exit_code,
                   cb_error_t *err);

/* exec without a terminal (exec_io.c): copy our stdin `in` (or -1) to the command's stdin
 * pipe to_child (or -1), and its stdout and stderr pipes out and err to our 1 and 2, until
 * both of those are closed by every process that holds them (as Docker does). The end of
 * our input closes the command's stdin; our stdout or stderr closed (EPIPE) closes the
 * pipe, so that the command learns it at its next write. Closes all four pipe ends. */
void exec_relay(int in, int to_child, int out, int err);

#endif
