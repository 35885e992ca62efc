/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The rows a snapshot is shown as: containers in blocks or one flat list, processes
 * sorted by a key or as trees, filtered by container. The batch printer and the live list
 * both walk these rows. */
#ifndef CROWBAR_TOP_ORDER_H
#define CROWBAR_TOP_ORDER_H

#include <stdbool.h>
#include <stddef.h>

#include "sample.h"

enum top_sort { TOP_SORT_CPU, TOP_SORT_MEM, TOP_SORT_PID, TOP_SORT_TIME };

struct top_order {
  enum top_sort sort;
  bool reverse;       /* the other way round */
  bool tree;          /* parents before their children, children indented */
  bool flat;          /* one list of every container's processes, no container rows */
  const char *filter; /* only containers whose name holds it or whose ID starts with it */
};

enum top_row_kind { TOP_ROW_CTR, TOP_ROW_PROC };

struct top_row {
  enum top_row_kind kind;
  size_t idx; /* into snap->ctrs or snap->procs */
  int depth;  /* tree depth, 0 for roots */
};

/* "cpu", "mem", "pid", "time" (and top's field names "%CPU", "RES"...); -1 if unknown. */
int top_sort_parse(const char *s);
const char *top_sort_name(enum top_sort s);
/* True when the container passes the filter. */
bool top_ctr_matches(const struct top_ctr *c, const char *filter);
/* The rows, malloc'd, *n of them. */
struct top_row *top_order_rows(const struct top_snapshot *snap, const struct top_order *o,
                               size_t *n);

#endif
