/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The live view's terminal, in one place (as htop's CRT.c): curses started, and the
 * terminal given back as it was on every way out: q, Ctrl-C (SIGINT), SIGTERM, SIGHUP, an
 * exit() from anywhere (atexit), and a crash (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT:
 * the saved terminal modes written back and curses' screen left, with async-signal-safe
 * calls only, before the signal takes its course). */
#ifndef CROWBAR_TOP_TERM_H
#define CROWBAR_TOP_TERM_H

#include <signal.h>
#include <stdbool.h>

#include "crowbar/error.h"

/* What the signals asked, read and cleared by the main loop. */
struct top_term_events {
  volatile sig_atomic_t quit;   /* the signal number that asked to quit */
  volatile sig_atomic_t resize; /* SIGWINCH */
};

/* Start curses on the terminal (stdin/stdout). Quit and resize signals are blocked
 * except while top_term_wait() waits, so none is lost between a check and the wait. */
int top_term_start(struct top_term_events *ev, cb_error_t *err);
/* Wait up to timeout_ms for input or a signal: 1 input, 0 timeout or signal. */
int top_term_wait(int timeout_ms);
/* Follow a new window size (after ev->resize). */
void top_term_resize(void);
/* Give the terminal back (idempotent). */
void top_term_stop(void);

#endif
