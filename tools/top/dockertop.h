/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `crowbar top CONTAINER [ps OPTIONS]`: docker top. As Docker's daemon does, the host's
 * ps(1) runs with the options (-ef by default) and its rows are filtered to the
 * container's processes, so any ps option gives exactly Docker's columns. */
#ifndef CROWBAR_TOP_DOCKERTOP_H
#define CROWBAR_TOP_DOCKERTOP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "crowbar/context.h"
#include "crowbar/error.h"

/* ps's output turned into Docker's process list: titles and rows of cells. */
struct top_pslist {
  char **titles; /* NULL-terminated */
  size_t ntitles;
  char ***rows; /* each ntitles cells */
  size_t nrows;
};
void top_pslist_free(struct top_pslist *l);

/* The ps arguments Docker would run: the CLI's words joined by spaces, then split at every
 * space (empty words kept, as Go's strings.Split does); none gives "-ef". */
char **top_ps_args(char *const *words, size_t n, bool *custom);
/* Docker's refusal of a column renamed to PID ("-o user=PID"): -1 with err. */
int top_ps_args_validate(char *const *words, size_t n, cb_error_t *err);
/* True when the arguments choose ps's columns (o, -o, --format...): Docker then puts
 * "-opid" first and takes the PID from that column, which it drops again. */
bool top_ps_custom_fields(char *const *args);
/* Parse ps's output, keep the rows of pids[0..npids) (sorted) and the thread lines that
 * follow one of them. */
int top_ps_parse(const char *output, const pid_t *pids, size_t npids, bool extra_pid_column,
                 struct top_pslist *out, cb_error_t *err);

/* The whole verb: locate, check it runs, run ps, print the table. */
int top_docker(const struct cb_ctx *ctx, const char *ref, char *const *words, size_t n,
               cb_error_t *err);

#endif
