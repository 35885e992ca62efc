/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/error.h"

void oom(void) {
  fputs("Error: out of memory\n", stderr);
  abort();
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    oom();
  return p;
}

void *xcalloc(size_t n, size_t m) {
  void *p = calloc(n ? n : 1, m ? m : 1);
  if (!p)
    oom();
  return p;
}

void *xrealloc(void *p, size_t n) {
  p = realloc(p, n ? n : 1);
  if (!p)
    oom();
  return p;
}

char *xstrdup(const char *s) {
  char *r = strdup(s);
  if (!r)
    oom();
  return r;
}

char *xasprintf(const char *fmt, ...) {
  va_list ap;
  char *r;
  va_start(ap, fmt);
  if (vasprintf(&r, fmt, ap) < 0)
    oom();
  va_end(ap);
  return r;
}

static int make_errorv(cb_error_t *err, int errno_, const char *fmt, va_list ap) {
  if (!err)
    return -1;
  if (*err)
    cb_error_release(err);
  struct cb_error *e = xcalloc(1, sizeof *e);
  if (vasprintf(&e->msg, fmt, ap) < 0)
    oom();
  e->errno_ = errno_;
  *err = e;
  return -1;
}

int cb_error_make(cb_error_t *err, int errno_, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  make_errorv(err, errno_, fmt, ap);
  va_end(ap);
  return -1;
}

int cb_error_not_found(cb_error_t *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  make_errorv(err, ENOENT, fmt, ap);
  va_end(ap);
  if (err && *err)
    (*err)->quiet = 1;
  return -1;
}

int cb_error_sys(cb_error_t *err, const char *fmt, ...) {
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  make_errorv(err, saved, fmt, ap);
  va_end(ap);
  errno = saved;
  return -1;
}

int cb_error_wrap(cb_error_t *err, const char *fmt, ...) {
  if (!err || !*err)
    return -1;
  char *ctx;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&ctx, fmt, ap) < 0)
    oom();
  va_end(ap);
  char *m;
  if (asprintf(&m, "%s: %s", ctx, (*err)->msg) < 0)
    oom();
  free(ctx);
  free((*err)->msg);
  (*err)->msg = m;
  return -1;
}

int cb_error_set_code(cb_error_t *err, int exit_code) {
  if (err && *err)
    (*err)->exit_code = exit_code;
  return -1;
}

const char *cb_error_text(cb_error_t err) {
  if (!err)
    return "unknown error";
  if (err->errno_ && !err->quiet) {
    char *m;
    if (asprintf(&m, "%s: %s", err->msg, strerror(err->errno_)) < 0)
      oom();
    free(err->msg);
    err->msg = m;
    err->errno_ = 0;
  }
  return err->msg;
}

void cb_error_release(cb_error_t *err) {
  if (!err || !*err)
    return;
  free((*err)->msg);
  free(*err);
  *err = NULL;
}

void cb_error_print(cb_error_t *err) {
  if (!err || !*err)
    return;
  fprintf(stderr, "Error: %s\n", cb_error_text(*err));
  cb_error_release(err);
}
