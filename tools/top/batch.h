/* SPDX-License-Identifier: GPL-2.0-or-later */
/* top -b: snapshots as plain text (top's layout, containers headed by their totals) or as
 * JSON, one object per line. */
#ifndef CROWBAR_TOP_BATCH_H
#define CROWBAR_TOP_BATCH_H

#include <stdbool.h>
#include <stdio.h>

#include "order.h"
#include "sample.h"

struct top_batch_opts {
  long iterations; /* 0: until killed */
  double delay;    /* seconds between snapshots */
  bool json;
  struct top_order order;
};

/* One snapshot as text or JSON to out. */
int top_print_text(FILE *out, const struct top_snapshot *snap, const struct top_order *o, long hz);
int top_print_json(FILE *out, const struct top_snapshot *snap, const struct top_order *o, long hz);
/* Sample and print, o->iterations times. */
int top_batch(struct top_sampler *s, const struct top_batch_opts *o, cb_error_t *err);

#endif
