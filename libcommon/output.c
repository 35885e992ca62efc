/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Listing output through template + tabwriter, after the docker CLI's formatter.Context
 * (preFormat, contextFormat, postFormat). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/cleanup.h"
#include "crowbar/output.h"
#include "crowbar/tabwriter.h"
#include "crowbar/template.h"

struct cb_output {
  struct cb_template *tmpl;
  char *buf; /* the rendered rows, each followed by '\n' */
  size_t len, cap;
};

int cb_output_new(const char *format, const char *default_table, struct cb_output **out,
                  cb_error_t *err) {
  if (!format || !*format || !strcmp(format, "table"))
    format = default_table;
  else if (!strcmp(format, "json"))
    format = "{{json .}}";
  struct cb_output *o = xcalloc(1, sizeof *o);
  if (cb_template_parse(format, &o->tmpl, err) < 0) {
    free(o);
    return -1;
  }
  *out = o;
  return 0;
}

bool cb_output_is_table(const struct cb_output *o) {
  return cb_template_is_table(o->tmpl);
}

static void append(struct cb_output *o, const char *s, size_t n) {
  if (o->len + n + 1 > o->cap) {
    size_t c = o->cap ? o->cap : 4096;
    while (c < o->len + n + 1)
      c *= 2;
    o->buf = xrealloc(o->buf, c);
    o->cap = c;
  }
  memcpy(o->buf + o->len, s, n);
  o->len += n;
  o->buf[o->len] = '\0';
}

int cb_output_add(struct cb_output *o, json_object *row, cb_error_t *err) {
  cleanup_free char *s = NULL;
  if (cb_template_exec(o->tmpl, row, &s, err) < 0)
    return -1;
  append(o, s, strlen(s));
  append(o, "\n", 1);
  return 0;
}

int cb_output_flush(struct cb_output *o, json_object *header, FILE *out, cb_error_t *err) {
  errno = 0;
  if (!cb_template_is_table(o->tmpl)) {
    if (o->len && fwrite(o->buf, 1, o->len, out) != o->len)
      return cb_error_sys(err, "write");
    o->len = 0;
    return 0;
  }
  cleanup_free char *head = NULL;
  if (cb_template_exec_header(o->tmpl, header, &head, err) < 0)
    return -1;
  struct cb_tabwriter *tw = cb_tabwriter_new(10, 3);
  cb_tabwriter_write(tw, head);
  cb_tabwriter_write(tw, "\n");
  if (o->len)
    cb_tabwriter_write(tw, o->buf);
  int r = cb_tabwriter_flush(tw, out);
  cb_tabwriter_free(tw);
  o->len = 0;
  if (r < 0)
    return cb_error_sys(err, "write");
  return 0;
}

void cb_output_free(struct cb_output *o) {
  if (!o)
    return;
  cb_template_free(o->tmpl);
  free(o->buf);
  free(o);
}

int cb_output_print(FILE *out, const char *format, const char *default_table, json_object *header,
                    json_object *const *rows, size_t n, cb_error_t *err) {
  cleanup_output struct cb_output *o = NULL;
  if (cb_output_new(format, default_table, &o, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (cb_output_add(o, rows[i], err) < 0)
      return -1;
  return cb_output_flush(o, header, out, err);
}
