/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The list screen: the host's lines, a status line, the column titles, then the rows
 * (containers in bold with their totals, their processes below; or one flat list). */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live.h"
#include "text.h"

#define LIST_TOP 5 /* header (3), status, titles */

int top_list_height(void) {
  return LINES - LIST_TOP;
}

/* Text at row y, cut at the screen's width; padded to it when `fill` (for a bar). */
static void line_at(int y, const char *a, const char *b, bool fill) {
  int w = COLS;
  if (y < 0 || y >= LINES || w <= 0)
    return;
  move(y, 0);
  int n = 0;
  for (const char *p = a; p && *p && n < w; p++, n++)
    addch((unsigned char)*p);
  for (const char *p = b; p && *p && n < w; p++, n++)
    addch((unsigned char)*p);
  if (fill)
    for (; n < w; n++)
      addch(' ');
}

static const char *sort_title(const struct top_order *o) {
  switch (o->sort) {
  case TOP_SORT_CPU: return "%CPU";
  case TOP_SORT_MEM: return "RSS";
  case TOP_SORT_PID: return "PID";
  case TOP_SORT_TIME: return "TIME";
  }
  return "";
}

void top_draw_list(struct top_live *l) {
  erase();
  char l1[256], l2[256], l3[256];
  top_fmt_header(&l->snap, l1, l2, l3);
  line_at(0, l1, NULL, false);
  line_at(1, l2, NULL, false);
  line_at(2, l3, NULL, false);

  char status[256];
  if (l->editing) {
    snprintf(status, sizeof status, "Filter containers (Enter to apply, Esc to cancel): %s_",
             l->edit);
  } else if (l->message[0]) {
    snprintf(status, sizeof status, "%s", l->message);
  } else {
    snprintf(status, sizeof status,
             "Sort: %s%s  Tree: %s  View: %s%s%s  (h: help, q: quit, Enter: details)",
             sort_title(&l->order), l->order.reverse ? " (reversed)" : "",
             l->order.tree ? "on" : "off", l->order.flat ? "flat list" : "by container",
             l->filter[0] ? "  Filter: " : "", l->filter);
  }
  attron(A_BOLD);
  line_at(3, status, NULL, false);
  attroff(A_BOLD);

  struct top_widths w;
  top_widths_compute(&l->snap, l->rows, l->nrows, l->order.flat, &w);
  char buf[512];
  top_fmt_titles(&w, buf, sizeof buf);
  attron(A_REVERSE);
  line_at(4, buf, NULL, true);
  attroff(A_REVERSE);

  int h = top_list_height();
  for (int y = 0; y < h && l->first + (size_t)y < l->nrows; y++) {
    size_t i = l->first + (size_t)y;
    const struct top_row *r = &l->rows[i];
    bool sel = i == l->sel;
    if (sel)
      attron(A_REVERSE);
    if (r->kind == TOP_ROW_CTR) {
      top_fmt_ctr(&l->snap.ctrs[r->idx], buf, sizeof buf);
      attron(A_BOLD | (has_colors() && !sel ? COLOR_PAIR(1) : 0));
      line_at(LIST_TOP + y, buf, NULL, sel);
      attroff(A_BOLD | (has_colors() ? COLOR_PAIR(1) : 0));
    } else {
      const struct top_proc *p = &l->snap.procs[r->idx];
      top_fmt_proc_prefix(&l->snap, p, r->depth, l->sampler->hz, &w, buf, sizeof buf);
      line_at(LIST_TOP + y, buf, p->cmd, sel);
    }
    if (sel)
      attroff(A_REVERSE);
  }
  if (!l->nrows) {
    line_at(LIST_TOP,
            l->filter[0] ? "No running container matches the filter." : "No running container.",
            NULL, false);
  }
  refresh();
}
