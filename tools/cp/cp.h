/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar cp: copies between a container and the host, with docker cp's rules. */
#ifndef CROWBAR_TOOLS_CP_H
#define CROWBAR_TOOLS_CP_H

#include <stdbool.h>

#include "crowbar/context.h"
#include "crowbar/error.h"

struct cp_opts {
  bool archive;      /* -a: owners kept from the source */
  bool follow;       /* -L: a symlink given as the source is followed */
  bool to_container; /* direction */
  char *container;   /* the container reference */
  char *src, *dst;   /* the paths as given (container side without "CTR:"), "-" for tar */
};

/* Docker's splitCpArg: "CTR:PATH" -> container and path; an absolute path, a path
 * without ':' or one starting with '.' is local (container set to NULL). Malloc'd. */
void cp_split_arg(const char *arg, char **container, char **path);

int cp_run(const struct cb_ctx *ctx, const struct cp_opts *o, cb_error_t *err);

#endif
