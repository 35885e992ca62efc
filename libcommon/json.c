/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "crowbar/cleanup.h"
#include "crowbar/json.h"
#include "crowbar/util.h"

int cb_json_parse(const char *text, json_object **out, cb_error_t *err) {
  json_tokener *tok = json_tokener_new();
  if (!tok)
    oom();
  json_object *o = json_tokener_parse_ex(tok, text, (int)strlen(text));
  enum json_tokener_error je = json_tokener_get_error(tok);
  if (!o || je != json_tokener_success) {
    if (o)
      json_object_put(o);
    int r = cb_error_make(err, 0, "invalid JSON: %s", json_tokener_error_desc(je));
    json_tokener_free(tok);
    return r;
  }
  /* Trailing garbage after the value is an error too. */
  size_t off = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  for (const char *p = text + off; *p; p++)
    if (!strchr(" \t\r\n", *p)) {
      json_object_put(o);
      return cb_error_make(err, 0, "invalid JSON: trailing data");
    }
  *out = o;
  return 0;
}

int cb_json_read_file_at(int dirfd, const char *path, json_object **out, cb_error_t *err) {
  cleanup_free char *text = NULL;
  if (cb_read_file_at(dirfd, path, &text, NULL, err) < 0)
    return -1;
  if (cb_json_parse(text, out, err) < 0)
    return cb_error_wrap(err, "%s", path);
  return 0;
}

int cb_json_read_file(const char *path, json_object **out, cb_error_t *err) {
  return cb_json_read_file_at(AT_FDCWD, path, out, err);
}

int cb_json_write_file_at(int dirfd, const char *path, json_object *o, cb_error_t *err) {
  size_t len;
  const char *s = json_object_to_json_string_length(
      o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  cleanup_free char *buf = xmalloc(len + 2);
  memcpy(buf, s, len);
  buf[len] = '\n';
  return cb_write_file_atomic_at(dirfd, path, buf, len + 1, 0600, err);
}

int cb_json_write_file(const char *path, json_object *o, cb_error_t *err) {
  return cb_json_write_file_at(AT_FDCWD, path, o, err);
}

json_object *cb_json_get(json_object *o, const char *path) {
  char key[256];
  while (o && path && *path) {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    if (n >= sizeof key)
      return NULL;
    memcpy(key, path, n);
    key[n] = '\0';
    json_object *next = NULL;
    if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &next))
      return NULL;
    o = next;
    path = dot ? dot + 1 : NULL;
  }
  return o;
}

const char *cb_json_get_str(json_object *o, const char *path, const char *def) {
  json_object *v = cb_json_get(o, path);
  return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : def;
}

int64_t cb_json_get_int(json_object *o, const char *path, int64_t def) {
  json_object *v = cb_json_get(o, path);
  return v && (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
             ? json_object_get_int64(v)
             : def;
}

bool cb_json_get_bool(json_object *o, const char *path, bool def) {
  json_object *v = cb_json_get(o, path);
  return v && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : def;
}

char **cb_json_get_strv(json_object *o, const char *path) {
  json_object *v = cb_json_get(o, path);
  if (!v || !json_object_is_type(v, json_type_array))
    return NULL;
  size_t n = json_object_array_length(v);
  char **r = xcalloc(n + 1, sizeof *r);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(v, i);
    if (e && json_object_is_type(e, json_type_string))
      r[k++] = xstrdup(json_object_get_string(e));
  }
  return r;
}

void cb_json_set_str(json_object *o, const char *key, const char *v) {
  json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

void cb_json_set_int(json_object *o, const char *key, int64_t v) {
  json_object_object_add(o, key, json_object_new_int64(v));
}

void cb_json_set_bool(json_object *o, const char *key, bool v) {
  json_object_object_add(o, key, json_object_new_boolean(v));
}

json_object *cb_json_strv(char *const *v) {
  if (!v)
    return NULL;
  json_object *a = json_object_new_array();
  for (; *v; v++)
    json_object_array_add(a, json_object_new_string(*v));
  return a;
}

void cb_json_set_strv(json_object *o, const char *key, char *const *v) {
  json_object_object_add(o, key, cb_json_strv(v));
}

json_object *cb_json_obj(json_object *o, const char *key) {
  json_object *v = NULL;
  if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_object))
    return v;
  v = json_object_new_object();
  json_object_object_add(o, key, v);
  return v;
}
