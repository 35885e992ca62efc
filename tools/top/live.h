/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The live view: a loop of samples and keys over three screens (the list, a process's
 * detail, the help), each drawn by its own file from this state. */
#ifndef CROWBAR_TOP_LIVE_H
#define CROWBAR_TOP_LIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "detail.h"
#include "order.h"
#include "sample.h"

enum top_screen { TOP_SCREEN_LIST, TOP_SCREEN_DETAIL, TOP_SCREEN_HELP };

struct top_live {
  struct top_sampler *sampler;
  struct top_snapshot snap;
  double delay; /* seconds between samples */
  struct top_order order;
  char filter[64];
  /* The filter being typed after '/' (shown on the status line). */
  bool editing;
  char edit[64];
  size_t edit_len;
  /* The list: its rows, the selected one, the first one shown. The selection follows its
   * process (or container) from one sample to the next. */
  struct top_row *rows;
  size_t nrows, sel, first;
  pid_t sel_pid;
  char sel_ctr[CB_ID_LEN + 1];
  enum top_screen screen;
  /* The detail screen: of which process, its lines, the first line shown. */
  pid_t detail_pid;
  uint64_t detail_start;
  char detail_ctr[CB_ID_LEN + 1];
  char *detail_ctr_name;
  struct top_detail detail;
  char *detail_error;
  size_t detail_first;
  char message[160]; /* a one-line note on the status line */
};

/* Run until q, a quit signal, or `iterations` samples (0: no limit); the terminal is
 * restored on every way out. */
int top_live_run(struct top_sampler *s, double delay, long iterations,
                 const struct top_order *order, cb_error_t *err);

/* The screens. */
void top_draw_list(struct top_live *l);
void top_draw_detail(struct top_live *l);
void top_draw_help(const struct top_live *l);
/* Rows of the list area (below the header, status and title lines). */
int top_list_height(void);
/* Lines of the detail area. */
int top_detail_height(void);
/* The detail's lines as drawn at this width (wrapped), for scrolling limits. */
size_t top_detail_lines(const struct top_live *l, int width);

#endif
