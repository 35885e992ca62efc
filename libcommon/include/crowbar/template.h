/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The --format template subset of Go's text/template that Docker users script with:
 *   {{.Field}}, {{.Field.Sub}}, {{json .X}}, {{join .X ","}}, {{lower .X}}, {{upper .X}},
 *   {{split .X ","}}, {{title .X}}, {{println .X}}, {{.}}, literal text, and the escapes
 *   \t and \n in the template text (as the docker CLI expands them).
 * Also: {{.A | upper}} pipelines, "string" and `raw` literals, numbers, true/false/nil,
 * $ and $variables, (parenthesised pipelines), {{if}}/{{else if}}/{{else}}/{{end}},
 * {{range [$i, $e :=] .X}}...{{else}}...{{end}}, {{with}}, {{- trim markers -}},
 * comment actions, and the functions pad, truncate (Docker's), print, printf, len,
 * index, not, and, or, eq, ne, lt, le, gt, ge (Go's). An unknown function is a parse
 * error: `template: 1: function "nope" not defined`.
 * A leading "table" marks a headed table (ps, images): see cb_template_is_table(); as in
 * the docker CLI, the prefix and surrounding spaces are dropped before parsing.
 * Printing follows Go's fmt of decoded JSON: strings raw, integral numbers as integers,
 * true/false, null as <no value>, arrays [a b c], objects map[k:v ...] (sorted keys).
 * A field that is missing is an error when its name is capitalised (a field of Docker's
 * structs: `template: no field "Nope"`), <no value> otherwise (a map key, e.g. Labels).
 * Data is a JSON object; a field missing from it is an error, as in Docker
 * ("template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"" becomes
 * `Error: template: no field "Nope"`). */
#ifndef CROWBAR_TEMPLATE_H
#define CROWBAR_TEMPLATE_H

#include <json-c/json.h>
#include <stdbool.h>

#include "crowbar/error.h"

/* Bounds, so that no template eats the machine (Go's text/template has none):
 *   - the output of one execution, and every string a function builds, is at most
 *     CB_TEMPLATE_MAX_OUTPUT bytes: `template: the output exceeds the limit of 16 MiB`;
 *   - one execution does at most CB_TEMPLATE_MAX_STEPS steps: a node, a range iteration, a
 *     call and each of its arguments, a field of a chain, 16 variables looked through, 16
 *     bytes of a string built, copied or compared, 8 an element split:
 *     `template: the execution exceeds the limit of 16777216 steps` (a
 *     {{range 100000000000}} that prints nothing, or a loop that copies a big string);
 *   - blocks and parentheses nest at most CB_TEMPLATE_MAX_DEPTH deep:
 *     `template: 1: max nesting depth exceeded`.
 * printf bounds widths and precisions as Go's fmt does (gofmt.h). */
#define CB_TEMPLATE_MAX_OUTPUT (16u << 20)
#define CB_TEMPLATE_MAX_STEPS (1u << 24)
#define CB_TEMPLATE_MAX_DEPTH 1000

struct cb_template;

int cb_template_parse(const char *text, struct cb_template **out, cb_error_t *err);
/* True when the text began with "table" (the prefix is not part of the output). */
bool cb_template_is_table(const struct cb_template *t);
/* Execute against data; the result (malloc'd) goes to *out. */
int cb_template_exec(const struct cb_template *t, json_object *data, char **out, cb_error_t *err);
/* Execute for a table's header line, as the docker CLI does: against an object of column
 * titles ({"ID": "CONTAINER ID", ...}), with json, split, join, title, lower, upper and
 * truncate leaving the title intact, and a missing key printing <no value>. */
int cb_template_exec_header(const struct cb_template *t, json_object *header, char **out,
                            cb_error_t *err);
void cb_template_free(struct cb_template *t);

#endif
