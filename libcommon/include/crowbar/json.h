/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A thin layer over json-c: read/write files, typed getters with defaults. */
#ifndef CROWBAR_JSON_H
#define CROWBAR_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "crowbar/error.h"

static inline void cb_json_putp(json_object **o) {
  if (*o)
    json_object_put(*o);
}
#define cleanup_json __attribute__((cleanup(cb_json_putp)))

int cb_json_parse(const char *text, json_object **out, cb_error_t *err);
int cb_json_read_file_at(int dirfd, const char *path, json_object **out, cb_error_t *err);
int cb_json_read_file(const char *path, json_object **out, cb_error_t *err);
/* Atomic write (temp, fsync, rename) of the compact form plus a newline. */
int cb_json_write_file_at(int dirfd, const char *path, json_object *o, cb_error_t *err);
int cb_json_write_file(const char *path, json_object *o, cb_error_t *err);

/* JSON as Docker prints it (Go's encoding/json with SetEscapeHTML(false), as the daemon's
 * API and the CLI's `json` template function use it): keys in stored order, Go's string
 * escapes (\u00XX, \u2028, invalid UTF-8 as \ufffd) and number forms. indent 0 gives the
 * compact form; indent N gives json.MarshalIndent(v, "", N spaces). Malloc'd. */
char *cb_json_go_string(json_object *o, int indent);
/* The same, appended to a growing buffer (*buf of *len bytes, *cap allocated). */
void cb_json_go_append(char **buf, size_t *len, size_t *cap, json_object *o, int indent);
/* Go's strconv.FormatFloat(f, 'g', -1, 64) as fmt's %v prints a float64. */
void cb_go_format_float(double f, char out[40]);

/* Getters: a missing or mistyped key gives the default. Paths may be dotted ("State.Pid"). */
json_object *cb_json_get(json_object *o, const char *path);
const char *cb_json_get_str(json_object *o, const char *path, const char *def);
int64_t cb_json_get_int(json_object *o, const char *path, int64_t def);
bool cb_json_get_bool(json_object *o, const char *path, bool def);
/* A NULL-terminated copy of an array of strings (NULL if absent). */
char **cb_json_get_strv(json_object *o, const char *path);

/* Setters that take ownership of nothing but copy the value. */
void cb_json_set_str(json_object *o, const char *key, const char *v); /* NULL -> null */
void cb_json_set_int(json_object *o, const char *key, int64_t v);
void cb_json_set_bool(json_object *o, const char *key, bool v);
void cb_json_set_strv(json_object *o, const char *key, char *const *v); /* NULL -> null */
json_object *cb_json_strv(char *const *v);
/* The object at key, created when missing. */
json_object *cb_json_obj(json_object *o, const char *key);

#endif
