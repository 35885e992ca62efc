/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Everything a debugger wants to know about one process, as labelled lines in sections:
 * identity, namespaces, cgroup, capabilities (decoded with libcap), seccomp and
 * no-new-privileges, open files and sockets, the environment, where the kernel has it
 * waiting. The live view's detail pane draws these lines; nothing here draws. */
#ifndef CROWBAR_TOP_DETAIL_H
#define CROWBAR_TOP_DETAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crowbar/error.h"

struct top_detail_line {
  bool section; /* a section title (label only) */
  char *label;
  char *value; /* printable; may be long: the screen wraps it */
};

struct top_detail {
  struct top_detail_line *v;
  size_t n, cap;
};

/* Read the detail of pid, which must still have the start time `start` (0: not checked);
 * ctr_name and ctr_id say which container it is in. Fails with ESRCH when it is gone. */
int top_detail_read(int procfd, pid_t pid, uint64_t start, const char *ctr_name, const char *ctr_id,
                    struct top_detail *d, cb_error_t *err);
void top_detail_release(struct top_detail *d);

#endif
