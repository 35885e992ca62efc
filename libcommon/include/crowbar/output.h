/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The output of listing verbs (ps, images, ...) as the docker CLI's formatter prints it.
 *
 * A verb describes each row as a JSON object of strings ({"ID": "3f2a1b4c5d6e", ...},
 * keys in alphabetical order so that {{json .}} prints them as Docker does), its column
 * titles as a header object ({"ID": "CONTAINER ID", ...}), and its default table
 * ("table {{.ID}}\t{{.Image}}..."). Then:
 *   - format NULL, "" or "table": the default table;
 *   - "json": {{json .}}, one line per row;
 *   - "table TEMPLATE": a header line (TEMPLATE over the header object, with Docker's
 *     header functions) and one line per row, aligned by the tabwriter (10, 1, 3, ' ');
 *   - any other TEMPLATE: one line per row, no header, no alignment.
 * Rows are rendered as they are added but nothing is printed before cb_output_flush, so a
 * template error leaves stdout empty, as in Docker. -q is the verb's business. */
#ifndef CROWBAR_OUTPUT_H
#define CROWBAR_OUTPUT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "crowbar/error.h"

struct cb_output;

int cb_output_new(const char *format, const char *default_table, struct cb_output **out,
                  cb_error_t *err);
bool cb_output_is_table(const struct cb_output *o);
/* Render one row (not printed yet). Errors: the template's, e.g. `template: no field "X"`. */
int cb_output_add(struct cb_output *o, json_object *row, cb_error_t *err);
/* Print the header (tables only) and the rows to out. Returns -1 on a template or write
 * error. */
int cb_output_flush(struct cb_output *o, json_object *header, FILE *out, cb_error_t *err);
void cb_output_free(struct cb_output *o);
static inline void cb_output_freep(struct cb_output **o) {
  if (*o)
    cb_output_free(*o);
}
#define cleanup_output __attribute__((cleanup(cb_output_freep)))

/* All in one: rows[0..n). */
int cb_output_print(FILE *out, const char *format, const char *default_table, json_object *header,
                    json_object *const *rows, size_t n, cb_error_t *err);

#endif
