/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The live view's loop: a sample every delay seconds, keys in between, and one screen
 * drawn from the state after either. */
#include <curses.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/util.h"
#include "live.h"
#include "term.h"

static void remember_selection(struct top_live *l) {
  l->sel_pid = 0;
  l->sel_ctr[0] = '\0';
  if (l->sel >= l->nrows)
    return;
  const struct top_row *r = &l->rows[l->sel];
  if (r->kind == TOP_ROW_PROC)
    l->sel_pid = l->snap.procs[r->idx].pid;
  else
    memcpy(l->sel_ctr, l->snap.ctrs[r->idx].id, sizeof l->sel_ctr);
}

static void keep_visible(struct top_live *l) {
  size_t h = (size_t)(top_list_height() > 0 ? top_list_height() : 1);
  if (l->sel < l->first)
    l->first = l->sel;
  if (l->sel >= l->first + h)
    l->first = l->sel - h + 1;
  if (l->nrows <= h)
    l->first = 0;
  else if (l->first > l->nrows - h)
    l->first = l->nrows - h;
}

/* The rows again (after a sample or a change of order), the selection kept on its
 * process or container when it is still there. */
static void rebuild(struct top_live *l) {
  free(l->rows);
  struct top_order o = l->order;
  o.filter = l->filter[0] ? l->filter : NULL;
  l->rows = top_order_rows(&l->snap, &o, &l->nrows);
  for (size_t i = 0; i < l->nrows; i++) {
    const struct top_row *r = &l->rows[i];
    if ((l->sel_pid && r->kind == TOP_ROW_PROC && l->snap.procs[r->idx].pid == l->sel_pid) ||
        (!l->sel_pid && l->sel_ctr[0] && r->kind == TOP_ROW_CTR &&
         !strcmp(l->snap.ctrs[r->idx].id, l->sel_ctr))) {
      l->sel = i;
      break;
    }
  }
  if (l->sel >= l->nrows)
    l->sel = l->nrows ? l->nrows - 1 : 0;
  remember_selection(l);
  keep_visible(l);
}

static void read_detail(struct top_live *l) {
  struct top_detail d;
  cb_error_t err = NULL;
  if (top_detail_read(l->sampler->procfd, l->detail_pid, l->detail_start, l->detail_ctr_name,
                      l->detail_ctr, &d, &err) < 0) {
    free(l->detail_error);
    l->detail_error = xasprintf("process %d is gone", l->detail_pid);
    cb_error_release(&err);
    return; /* the last lines read stay on the screen */
  }
  top_detail_release(&l->detail);
  l->detail = d;
}

static void open_detail(struct top_live *l) {
  if (l->sel >= l->nrows)
    return;
  const struct top_row *r = &l->rows[l->sel];
  const struct top_proc *p = NULL;
  if (r->kind == TOP_ROW_PROC) {
    p = &l->snap.procs[r->idx];
  } else {
    /* A container's row: its PID 1. */
    pid_t init = l->snap.ctrs[r->idx].init_pid;
    for (size_t i = 0; i < l->snap.nprocs; i++)
      if (l->snap.procs[i].pid == init)
        p = &l->snap.procs[i];
  }
  if (!p)
    return;
  const struct top_ctr *c = &l->snap.ctrs[p->ctr];
  l->detail_pid = p->pid;
  l->detail_start = p->start;
  memcpy(l->detail_ctr, c->id, sizeof l->detail_ctr);
  free(l->detail_ctr_name);
  l->detail_ctr_name = xstrdup(c->name);
  free(l->detail_error);
  l->detail_error = NULL;
  top_detail_release(&l->detail);
  l->detail_first = 0;
  read_detail(l);
  l->screen = TOP_SCREEN_DETAIL;
}

static void draw(struct top_live *l) {
  switch (l->screen) {
  case TOP_SCREEN_LIST: top_draw_list(l); break;
  case TOP_SCREEN_DETAIL: top_draw_detail(l); break;
  case TOP_SCREEN_HELP: top_draw_help(l); break;
  }
}

static void set_sort(struct top_live *l, enum top_sort s) {
  if (l->order.sort == s)
    l->order.reverse = !l->order.reverse;
  else
    l->order.reverse = false;
  l->order.sort = s;
  rebuild(l);
}

static bool key_edit(struct top_live *l, int ch) {
  switch (ch) {
  case 27: /* Escape: the filter stays as it was */ l->editing = false; break;
  case '\n':
  case '\r':
  case KEY_ENTER:
    l->editing = false;
    snprintf(l->filter, sizeof l->filter, "%.*s", (int)l->edit_len, l->edit);
    l->sel = 0;
    l->first = 0;
    rebuild(l);
    break;
  case KEY_BACKSPACE:
  case 127:
  case 8:
    if (l->edit_len)
      l->edit[--l->edit_len] = '\0';
    break;
  case 21: /* Ctrl-U */
    l->edit_len = 0;
    l->edit[0] = '\0';
    break;
  default:
    if (ch >= 0x20 && ch < 0x7f && l->edit_len + 1 < sizeof l->edit) {
      l->edit[l->edit_len++] = (char)ch;
      l->edit[l->edit_len] = '\0';
    }
  }
  return true;
}

static void move_sel(struct top_live *l, long delta) {
  if (!l->nrows)
    return;
  long s = (long)l->sel + delta;
  if (s < 0)
    s = 0;
  if (s >= (long)l->nrows)
    s = (long)l->nrows - 1;
  l->sel = (size_t)s;
  remember_selection(l);
  keep_visible(l);
}

static void scroll_detail(struct top_live *l, long delta) {
  size_t total = top_detail_lines(l, COLS);
  size_t h = (size_t)(top_detail_height() > 0 ? top_detail_height() : 1);
  long f = (long)l->detail_first + delta;
  long maxf = total > h ? (long)(total - h) : 0;
  if (f > maxf)
    f = maxf;
  if (f < 0)
    f = 0;
  l->detail_first = (size_t)f;
}

/* One key; false to quit. */
static bool key(struct top_live *l, int ch, bool *resample) {
  if (ch == KEY_RESIZE)
    return true;
  if (l->editing)
    return key_edit(l, ch);
  l->message[0] = '\0';
  if (ch == 3) /* Ctrl-C arriving as a key */
    return false;
  if (l->screen == TOP_SCREEN_HELP) {
    l->screen = TOP_SCREEN_LIST;
    return true;
  }
  long page = top_list_height() > 1 ? top_list_height() - 1 : 1;
  if (l->screen == TOP_SCREEN_DETAIL) {
    long dpage = top_detail_height() > 1 ? top_detail_height() - 1 : 1;
    switch (ch) {
    case 'q':
    case 'Q':
    case 27:
    case KEY_LEFT:
    case KEY_BACKSPACE:
    case 127:
    case '\n':
    case '\r':
    case KEY_ENTER: l->screen = TOP_SCREEN_LIST; break;
    case KEY_UP:
    case 'k': scroll_detail(l, -1); break;
    case KEY_DOWN:
    case 'j': scroll_detail(l, 1); break;
    case KEY_PPAGE: scroll_detail(l, -dpage); break;
    case KEY_NPAGE:
    case ' ': scroll_detail(l, dpage); break;
    case KEY_HOME: l->detail_first = 0; break;
    case KEY_END: scroll_detail(l, 1L << 30); break;
    case 'h':
    case '?': l->screen = TOP_SCREEN_HELP; break;
    default: break;
    }
    return true;
  }
  switch (ch) {
  case 'q':
  case 'Q': return false;
  case KEY_UP:
  case 'k': move_sel(l, -1); break;
  case KEY_DOWN:
  case 'j': move_sel(l, 1); break;
  case KEY_PPAGE: move_sel(l, -page); break;
  case KEY_NPAGE: move_sel(l, page); break;
  case KEY_HOME: move_sel(l, -(long)l->nrows); break;
  case KEY_END: move_sel(l, (long)l->nrows); break;
  case 'P': set_sort(l, TOP_SORT_CPU); break;
  case 'M': set_sort(l, TOP_SORT_MEM); break;
  case 'N': set_sort(l, TOP_SORT_PID); break;
  case 'T': set_sort(l, TOP_SORT_TIME); break;
  case 'R':
    l->order.reverse = !l->order.reverse;
    rebuild(l);
    break;
  case 't':
  case 'V':
    l->order.tree = !l->order.tree;
    rebuild(l);
    break;
  case 'g':
    l->order.flat = !l->order.flat;
    rebuild(l);
    break;
  case '/':
    l->editing = true;
    snprintf(l->edit, sizeof l->edit, "%s", l->filter);
    l->edit_len = strlen(l->edit);
    break;
  case 'h':
  case '?': l->screen = TOP_SCREEN_HELP; break;
  case '\n':
  case '\r':
  case KEY_ENTER:
  case KEY_RIGHT: open_detail(l); break;
  case ' ': *resample = true; break;
  default: break;
  }
  return true;
}

/* A crash on request, for the tests of the terminal's restoration on those paths. */
static void test_crash(void) {
  const char *how = getenv("CROWBAR_TEST_TOP_CRASH");
  if (!how)
    return;
  if (!strcmp(how, "exit"))
    exit(3);
  if (!strcmp(how, "segv"))
    raise(SIGSEGV);
  if (!strcmp(how, "abort"))
    abort();
}

int top_live_run(struct top_sampler *s, double delay, long iterations,
                 const struct top_order *order, cb_error_t *err) {
  struct top_live l = {.sampler = s, .delay = delay, .order = *order};
  if (order->filter)
    snprintf(l.filter, sizeof l.filter, "%s", order->filter);
  l.order.filter = NULL;
  if (top_sample(s, &l.snap, err) < 0)
    return -1;
  struct top_term_events ev = {0, 0};
  if (top_term_start(&ev, err) < 0) {
    top_snapshot_release(&l.snap);
    return -1;
  }
  rebuild(&l);
  draw(&l);
  test_crash();
  /* The first sample has no interval (its %CPU is each process's average over its life):
   * the second comes soon, then one every delay. */
  int64_t next = cb_monotonic_ns() + (int64_t)((delay < 1.0 ? delay : 1.0) * 1e9);
  long samples = 1;
  for (;;) {
    if (ev.quit)
      break;
    if (ev.resize) {
      ev.resize = 0;
      top_term_resize();
      keep_visible(&l);
      draw(&l);
    }
    bool resample = false;
    int64_t now = cb_monotonic_ns();
    if (now < next) {
      int ms = (int)((next - now + 999999) / 1000000);
      if (top_term_wait(ms) > 0) {
        bool quit = false;
        int ch;
        while ((ch = getch()) != ERR) {
          if (!key(&l, ch, &resample)) {
            quit = true;
            break;
          }
        }
        if (quit)
          break;
        draw(&l);
      }
      if (!resample)
        continue;
    }
    if (iterations && samples >= iterations)
      break; /* the last one was shown for its delay */
    cb_error_t e2 = NULL;
    samples++;
    if (top_sample(s, &l.snap, &e2) < 0) {
      snprintf(l.message, sizeof l.message, "%s", cb_error_text(e2));
      cb_error_release(&e2);
    }
    rebuild(&l);
    if (l.screen == TOP_SCREEN_DETAIL)
      read_detail(&l);
    draw(&l);
    next = cb_monotonic_ns() + (int64_t)(delay * 1e9);
  }
  top_term_stop();
  free(l.rows);
  top_snapshot_release(&l.snap);
  top_detail_release(&l.detail);
  free(l.detail_error);
  free(l.detail_ctr_name);
  return 0;
}
