/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The --format template subset of Go's text/template that Docker users script with:
 *   {{.Field}}, {{.Field.Sub}}, {{json .X}}, {{join .X ","}}, {{lower .X}}, {{upper .X}},
 *   {{split .X ","}}, {{title .X}}, {{println .X}}, {{.}}, literal text, and the escapes
 *   \t and \n in the template text (as the docker CLI expands them).
 * Also: {{.A | upper}} pipelines, "string" and `raw` literals, numbers, true/false/nil,
 * $ and $variables, (parenthesised pipelines), {{if}}/{{else if}}/{{else}}/{{end}},
 * {{range [$i, $e :=] .X}}...{{else}}...{{end}}, {{with}}, {{- trim markers -}},
 * comment actions, and the functions pad, truncate (Docker's), print, printf, len, slice,
 * html, urlquery, js,
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

/* Go types, for executing a template as docker inspect does: against Docker's structs
 * rather than their JSON. Where a value's type is known, a nil slice prints [], a nil map
 * map[], a nil pointer <nil>, an empty struct (a port set's element) {}, a struct listed
 * in full {v1 v2 ...}, a field that the JSON leaves out (omitempty: SizeRw without -s,
 * State.Health) is its type's zero value instead of an error, and len of a nil slice is 0.
 * Values of unknown type keep the untyped rules above. */
enum cb_gokind {
  CB_GO_ANY,    /* whatever the JSON holds */
  CB_GO_STRUCT, /* fields: a NULL-terminated list; complete: all of them, in order */
  CB_GO_PTR,    /* elem: the pointed-to type (a struct, or NULL for a scalar) */
  CB_GO_SLICE,  /* elem: the element's type */
  CB_GO_MAP,    /* elem: the element's type */
  CB_GO_EMPTY,  /* struct{} */
  CB_GO_STRING,
  CB_GO_INT,
  CB_GO_BOOL,
};
struct cb_gofield;
struct cb_gotype {
  enum cb_gokind kind;
  const struct cb_gotype *elem;
  const struct cb_gofield *fields;
  bool complete;
};
struct cb_gofield {
  const char *name;
  const struct cb_gotype *type;
};
/* cb_template_exec with data of Go type `type` (see above). */
int cb_template_exec_typed(const struct cb_template *t, json_object *data,
                           const struct cb_gotype *type, char **out, cb_error_t *err);

#endif
