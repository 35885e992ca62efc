/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The detail screen: one process's lines, section titles in bold, long values wrapped at
 * blanks under their value column, scrolled with the arrows. */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "live.h"

#define LABEL_W 12
#define DETAIL_TOP 1

int top_detail_height(void) {
  return LINES - DETAIL_TOP;
}

/* Walk the wrapped lines at this width; draw those in [from, from + rows) at DETAIL_TOP.
 * Returns how many there are. */
static size_t layout(const struct top_live *l, int width, size_t from, int rows, bool draw) {
  size_t k = 0;
  int indent = 2 + LABEL_W + 1;
  int room = width - indent;
  if (room < 10)
    room = 10;
  for (size_t i = 0; i < l->detail.n; i++) {
    const struct top_detail_line *dl = &l->detail.v[i];
    if (dl->section) {
      if (i > 0) {
        k++; /* a blank line before each section but the first */
      }
      if (draw && k >= from && k < from + (size_t)rows) {
        attron(A_BOLD);
        mvaddnstr(DETAIL_TOP + (int)(k - from), 0, dl->label, width);
        attroff(A_BOLD);
      }
      k++;
      continue;
    }
    const char *v = dl->value;
    bool first = true;
    do {
      /* The next piece: up to `room` characters, cut at the last blank when it can be. */
      size_t len = strlen(v), take = len;
      if ((int)len > room) {
        take = (size_t)room;
        for (size_t j = take; j > (size_t)room / 2; j--) {
          if (v[j] == ' ') {
            take = j;
            break;
          }
        }
      }
      if (draw && k >= from && k < from + (size_t)rows) {
        char head[64];
        snprintf(head, sizeof head, "  %-*.*s ", LABEL_W, LABEL_W, first ? dl->label : "");
        int y = DETAIL_TOP + (int)(k - from);
        mvaddnstr(y, 0, head, width);
        if (width > indent)
          mvaddnstr(y, indent, v, (int)take < width - indent ? (int)take : width - indent);
      }
      k++;
      first = false;
      v += take;
      while (*v == ' ')
        v++;
    } while (*v);
  }
  return k;
}

size_t top_detail_lines(const struct top_live *l, int width) {
  return layout(l, width, 0, 0, false);
}

void top_draw_detail(struct top_live *l) {
  erase();
  char title[256];
  snprintf(title, sizeof title, "Process %d in %s%s%s  (Esc/q: back, arrows: scroll)",
           l->detail_pid, l->detail_ctr_name ? l->detail_ctr_name : "?",
           l->detail_error ? ": " : "", l->detail_error ? l->detail_error : "");
  attron(A_REVERSE);
  mvaddnstr(0, 0, title, COLS);
  for (int x = (int)strlen(title); x < COLS; x++)
    mvaddch(0, x, ' ');
  attroff(A_REVERSE);
  layout(l, COLS, l->detail_first, top_detail_height(), true);
  refresh();
}
