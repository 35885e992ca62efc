/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The --format template subset of Go's text/template that Docker users script with:
 *   {{.Field}}, {{.Field.Sub}}, {{json .X}}, {{join .X ","}}, {{lower .X}}, {{upper .X}},
 *   {{split .X ","}}, {{title .X}}, {{println .X}}, {{.}}, literal text, and the escapes
 *   \t and \n in the template text (as the docker CLI expands them).
 * A leading "table " marks a headed table (ps, images): see cb_template_is_table().
 * Data is a JSON object; a field missing from it is an error, as in Docker
 * ("template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"" becomes
 * `Error: template: no field "Nope"`). */
#ifndef CROWBAR_TEMPLATE_H
#define CROWBAR_TEMPLATE_H

#include <json-c/json.h>
#include <stdbool.h>

#include "crowbar/error.h"

struct cb_template;

int cb_template_parse(const char *text, struct cb_template **out, cb_error_t *err);
/* True when the text began with "table" (the prefix is not part of the output). */
bool cb_template_is_table(const struct cb_template *t);
/* Execute against data; the result (malloc'd) goes to *out. */
int cb_template_exec(const struct cb_template *t, json_object *data, char **out, cb_error_t *err);
void cb_template_free(struct cb_template *t);

#endif
