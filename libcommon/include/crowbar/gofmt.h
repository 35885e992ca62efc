/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Go's fmt.Sprintf over decoded JSON values, for the template function printf.
 *
 * The format is parsed as Go's fmt parses it: flags "#0+- ", a width and a precision given
 * as digits or as "*" (taken from the next argument, which must be an integer), argument
 * indexes "[n]", and the verbs of the Go types a JSON value decodes to (interface{}): nil,
 * bool, int, float64, string, []interface {} and map[string]interface {} (printed element
 * by element, keys sorted). A JSON number with no fraction or exponent is an int, others a
 * float64. Mistakes print as Go prints them: %!d(string=x), %!d(MISSING), %!d(BADINDEX),
 * %!(NOVERB), %!(EXTRA int=1, string=a), %!(BADWIDTH), %!(BADPREC).
 *
 * Widths and precisions are bounded as Go bounds them: a "*" argument whose magnitude is over
 * 1e6 is %!(BADWIDTH) / %!(BADPREC); a number in the format that grows past 1e6 while it is
 * read (so past 10000009) ends the format there with %!(NOVERB). The output as a whole is
 * bounded by the caller's limit. */
#ifndef CROWBAR_GOFMT_H
#define CROWBAR_GOFMT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* Format the n values of args (NULL for nil) with the format's flen bytes. The result is
 * malloc'd and NUL-terminated (it may hold NULs: its length goes to *len). NULL when the
 * result would be longer than limit bytes. */
char *cb_go_sprintf(const char *format, size_t flen, json_object *const *args, size_t n,
                    size_t limit, size_t *len);

/* The Go type name of a decoded JSON value: "<nil>" (NULL), "bool", "int", "float64",
 * "string", "[]interface {}", "map[string]interface {}". */
const char *cb_go_type_name(json_object *v);

#endif
