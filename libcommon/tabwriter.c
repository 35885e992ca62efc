/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Go's text/tabwriter, as the docker CLI configures it (padchar ' ', flags 0), modelled on
 * its column blocks: a column is a run of consecutive lines that all have a cell in that
 * position (a line's last cell never counts: it is not tab-terminated), its width is the
 * widest cell of the run plus the padding, at least minwidth, and the columns to its
 * right are formatted block by block within that run. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/error.h"
#include "crowbar/tabwriter.h"

struct cell {
  size_t off, size; /* bytes in text */
  int width;        /* UTF-8 characters */
};

struct line {
  struct cell *cells;
  size_t n, cap;
};

struct cb_tabwriter {
  int minwidth, padding;
  char *text;
  size_t len, cap;
  struct line *lines;
  size_t nlines, caplines;
  size_t cell_start; /* start of the cell being filled */
  int *widths;       /* widths of the columns of the block being formatted */
  size_t nwidths, capwidths;
  FILE *out;
  int error;
};

struct cb_tabwriter *cb_tabwriter_new(int minwidth, int padding) {
  struct cb_tabwriter *tw = xcalloc(1, sizeof *tw);
  tw->minwidth = minwidth;
  tw->padding = padding;
  return tw;
}

static struct line *cur_line(struct cb_tabwriter *tw) {
  if (tw->nlines == 0) {
    tw->lines = xcalloc(8, sizeof *tw->lines);
    tw->caplines = 8;
    tw->nlines = 1;
  }
  return &tw->lines[tw->nlines - 1];
}

static int utf8_width(const char *s, size_t n) {
  int w = 0;
  for (size_t i = 0; i < n; i++)
    if (((unsigned char)s[i] & 0xc0) != 0x80)
      w++;
  return w;
}

static void end_cell(struct cb_tabwriter *tw) {
  struct line *l = cur_line(tw);
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->cells = xrealloc(l->cells, l->cap * sizeof *l->cells);
  }
  struct cell *c = &l->cells[l->n++];
  c->off = tw->cell_start;
  c->size = tw->len - tw->cell_start;
  c->width = utf8_width(tw->text + c->off, c->size);
  tw->cell_start = tw->len;
}

static void new_line(struct cb_tabwriter *tw) {
  cur_line(tw);
  if (tw->nlines == tw->caplines) {
    tw->caplines *= 2;
    tw->lines = xrealloc(tw->lines, tw->caplines * sizeof *tw->lines);
  }
  memset(&tw->lines[tw->nlines++], 0, sizeof(struct line));
}

void cb_tabwriter_write(struct cb_tabwriter *tw, const char *text) {
  cur_line(tw);
  for (const char *p = text; *p; p++) {
    if (*p == '\t' || *p == '\v' || *p == '\n' || *p == '\f') {
      end_cell(tw);
      if (*p == '\n' || *p == '\f')
        new_line(tw);
      continue;
    }
    if (tw->len + 2 > tw->cap) {
      tw->cap = tw->cap ? tw->cap * 2 : 1024;
      tw->text = xrealloc(tw->text, tw->cap);
    }
    tw->text[tw->len++] = *p;
  }
}

static void put(struct cb_tabwriter *tw, const char *s, size_t n) {
  /* Unlocked: thousands of small writes, one thread. */
  if (n && !tw->error && fwrite_unlocked(s, 1, n, tw->out) != n)
    tw->error = errno ? errno : EIO;
}

static void pad(struct cb_tabwriter *tw, int n) {
  static const char spaces[] = "                                ";
  while (n > 0) {
    int k = n > 32 ? 32 : n;
    put(tw, spaces, (size_t)k);
    n -= k;
  }
}

static void write_lines(struct cb_tabwriter *tw, size_t line0, size_t line1) {
  for (size_t i = line0; i < line1; i++) {
    struct line *l = &tw->lines[i];
    for (size_t j = 0; j < l->n; j++) {
      struct cell *c = &l->cells[j];
      put(tw, tw->text + c->off, c->size);
      if (j < tw->nwidths)
        pad(tw, tw->widths[j] - c->width);
    }
    if (i + 1 < tw->nlines)
      put(tw, "\n", 1);
  }
}

/* Go's Writer.format: returns the next unwritten line. */
static size_t format(struct cb_tabwriter *tw, size_t line0, size_t line1) {
  size_t column = tw->nwidths;
  for (size_t this = line0; this < line1; this ++) {
    struct line *l = &tw->lines[this];
    if (column + 1 >= l->n)
      continue;
    /* A cell in this column: this line starts a block. Print the lines before it. */
    write_lines(tw, line0, this);
    line0 = this;
    int width = tw->minwidth;
    for (; this < line1; this ++) {
      l = &tw->lines[this];
      if (column + 1 >= l->n)
        break;
      int w = l->cells[column].width + tw->padding;
      if (w > width)
        width = w;
    }
    if (tw->nwidths == tw->capwidths) {
      tw->capwidths = tw->capwidths ? tw->capwidths * 2 : 16;
      tw->widths = xrealloc(tw->widths, tw->capwidths * sizeof *tw->widths);
    }
    tw->widths[tw->nwidths++] = width;
    format(tw, line0, this);
    tw->nwidths--;
    line0 = this;
  }
  write_lines(tw, line0, line1);
  return line1;
}

int cb_tabwriter_flush(struct cb_tabwriter *tw, FILE *out) {
  tw->out = out;
  tw->error = 0;
  errno = 0;
  if (tw->nlines) {
    /* A trailing partial line is a last line without a newline; after a final '\n' the
     * last line is empty and prints nothing. */
    if (tw->len > tw->cell_start)
      end_cell(tw);
    format(tw, 0, tw->nlines);
  }
  for (size_t i = 0; i < tw->nlines; i++)
    free(tw->lines[i].cells);
  free(tw->lines);
  tw->lines = NULL;
  tw->nlines = tw->caplines = 0;
  tw->len = tw->cell_start = 0;
  if (tw->error) {
    errno = tw->error;
    return -1;
  }
  return 0;
}

void cb_tabwriter_free(struct cb_tabwriter *tw) {
  if (!tw)
    return;
  for (size_t i = 0; i < tw->nlines; i++)
    free(tw->lines[i].cells);
  free(tw->lines);
  free(tw->text);
  free(tw->widths);
  free(tw);
}
