/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A file the user names for a command's output (export -o, save -o), written whole or not
 * at all where that makes sense, and never replaced where it does not:
 *   - a new path, or a regular file: a temporary file is written next to it and renamed
 *     over it at the end (a failure or an interruption leaves what was there); a symlink
 *     to a regular file is followed, the file it names is the one replaced, the link stays;
 *   - a character or block device or a FIFO (/dev/null, /dev/stdout on a pipe, a tape):
 *     written straight into, opened without O_CREAT or O_TRUNC (renaming over /dev/null
 *     would turn it into a regular file for the whole host);
 *   - a socket: one of this process's own descriptors when it is one (/dev/stdout under a
 *     service manager), else a stream connection to it;
 *   - a folder: an error. */
#ifndef CROWBAR_OUTFILE_H
#define CROWBAR_OUTFILE_H

#include "crowbar/error.h"

struct cb_outfile {
  int fd;    /* write here */
  char *tmp; /* the temporary file renamed over target by commit, or NULL (written straight) */
  char *target;
};

#define CB_OUTFILE_INIT                                                                            \
  { .fd = -1, .tmp = NULL, .target = NULL }

int cb_outfile_open(struct cb_outfile *o, const char *path, cb_error_t *err);
/* Make the output whole: fsync and rename for a temporary file, close for the rest (so a
 * failed write that close reports is an error). */
int cb_outfile_commit(struct cb_outfile *o, cb_error_t *err);
/* Give up: the temporary file, if any, is removed; what the path was is left as it was. */
void cb_outfile_abort(struct cb_outfile *o);

#endif
