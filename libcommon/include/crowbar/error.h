/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One error convention for all of crowbar (after crun's libcrun_error_t).
 *
 * A function that can fail returns < 0 (or NULL) and fills the cb_error_t *
 * passed as its last argument; on success it leaves *err untouched. Callers add
 * context with cb_error_wrap(). Only main() prints errors (cb_error_print) and
 * picks the exit code. Library code never calls exit() except on OOM. */
#ifndef CROWBAR_ERROR_H
#define CROWBAR_ERROR_H

#include <stdarg.h>

struct cb_error {
  int errno_;    /* errno at the failure, 0 when not a system error */
  int exit_code; /* a hint for main(): 0 means "the caller decides" */
  char *msg;
  int quiet; /* errno_ is for callers to test; the message says it all */
};
typedef struct cb_error *cb_error_t;

/* All return -1 so that callers can `return cb_error_make(...)`. */
int cb_error_make(cb_error_t *err, int errno_, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like cb_error_make with errno as the system error. */
int cb_error_sys(cb_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "No such ...": errno_ is ENOENT for callers to test, but the text is fmt's alone (no
 * ": No such file or directory" after it). */
int cb_error_not_found(cb_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the message already in *err with "context: ". */
int cb_error_wrap(cb_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Set the exit-code hint; returns -1. */
int cb_error_set_code(cb_error_t *err, int exit_code);
/* The full message ("msg: strerror") in a static-lifetime-free string owned by err. */
const char *cb_error_text(cb_error_t err);
void cb_error_release(cb_error_t *err);
/* Print "Error: <text>" on stderr and release. */
void cb_error_print(cb_error_t *err);

/* Mains only: die on OOM. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void oom(void) __attribute__((noreturn));

#endif
