/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A folder's entries in one go (getdents64 into one block: no per-entry allocation, no
 * stat), for the walks that must be fast: diff, export, cp, commit. */
#ifndef CROWBAR_DIRLIST_H
#define CROWBAR_DIRLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "crowbar/error.h"

struct cb_dirent {
  char *name;         /* points into the names block */
  unsigned char type; /* DT_* (DT_UNKNOWN when the file system does not say) */
};

/* The entries of the open folder fd, without "." and "..", read from its current offset;
 * sorted by name (strcmp) when asked. *out and *names are malloc'd (free both). */
int cb_dir_read(int fd, bool sorted, struct cb_dirent **out, size_t *n, char **names,
                cb_error_t *err);

#endif
