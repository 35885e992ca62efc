/* SPDX-License-Identifier: GPL-2.0-or-later */
/* top's text: the header lines, a container's totals line, a process row, and the units
 * they use. The batch printer writes them out; the live list draws the same strings. */
#ifndef CROWBAR_TOP_TEXT_H
#define CROWBAR_TOP_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "order.h"
#include "sample.h"

/* Column widths for a set of rows (the widest cell of each, at least its title's). */
struct top_widths {
  int ctr, pid, cpid, user, rss, thr;
  bool show_ctr; /* the CONTAINER column (off in a live view of one block per container) */
};
void top_widths_compute(const struct top_snapshot *snap, const struct top_row *rows, size_t n,
                        bool show_ctr, struct top_widths *w);

/* Go's units.BytesSize, as docker stats prints memory: "1.234MiB", "512MiB", "0B". */
void top_fmt_bytes(double bytes, char *buf, size_t size);
/* top's TIME+: "M:SS.hh" from clock ticks ("Hh" past 9999 minutes). */
void top_fmt_ticks(uint64_t ticks, long hz, char *buf, size_t size);
/* top's uptime: "9 min", "1:05", "2 days, 1:05". */
void top_fmt_uptime(double secs, char *buf, size_t size);

/* The host lines: "crowbar top - 14:02:03 up 1:05, load average: ...", the containers and
 * processes counts, the memory line. Each into its own buffer, no newline. */
void top_fmt_header(const struct top_snapshot *snap, char line1[256], char line2[256],
                    char line3[256]);
/* The column titles. */
void top_fmt_titles(const struct top_widths *w, char *buf, size_t size);
/* "web (3f2a1b4c5d6e): CPU 0.3%, MEM 1.2MiB / 512MiB, PIDS 3 / 100". */
void top_fmt_ctr(const struct top_ctr *c, char *buf, size_t size);
/* One process row but its command (p->cmd, which has no length limit, follows): the
 * columns, and for depth > 0 the tree's indent (ps f's "\_ "). */
void top_fmt_proc_prefix(const struct top_snapshot *snap, const struct top_proc *p, int depth,
                         long hz, const struct top_widths *w, char *buf, size_t size);

#endif
