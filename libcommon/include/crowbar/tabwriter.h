/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Aligned columns as Go's text/tabwriter makes them for the docker CLI
 * (tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)): text is cut into cells at '\t'; a
 * line's last cell is not padded; every other cell is padded with spaces to the widest
 * cell of its column (counted in UTF-8 characters) plus `padding`, at least `minwidth`. */
#ifndef CROWBAR_TABWRITER_H
#define CROWBAR_TABWRITER_H

#include <stdio.h>

struct cb_tabwriter;

/* Docker's table settings: cb_tabwriter_new(10, 3). */
struct cb_tabwriter *cb_tabwriter_new(int minwidth, int padding);
/* Add text (any number of lines, '\n'-terminated; cells separated by '\t'). */
void cb_tabwriter_write(struct cb_tabwriter *tw, const char *text);
/* Write everything aligned to out; returns 0 or -1 (errno) on a write error. */
int cb_tabwriter_flush(struct cb_tabwriter *tw, FILE *out);
void cb_tabwriter_free(struct cb_tabwriter *tw);

#endif
