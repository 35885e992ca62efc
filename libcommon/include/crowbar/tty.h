/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Terminals: pseudo-terminal pairs, raw mode restored on every exit path, window sizes,
 * Docker's detach keys, and a relay between a terminal and a pty master. */
#ifndef CROWBAR_TTY_H
#define CROWBAR_TTY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "crowbar/error.h"

#define CB_DETACH_KEYS_DEFAULT "ctrl-p,ctrl-q"
/* At most 8 keys: what an attach message carries. */
#define CB_DETACH_MAX 8

/* Open a pty master from the given ptmx (e.g. "/dev/ptmx" inside a container's mount
 * namespace) and its slave (TIOCGPTPEER: no path lookup). Both close-on-exec. */
int cb_tty_open_pty(const char *ptmx, int *master, int *slave, cb_error_t *err);
/* Copy the window size of terminal `from` to `to` (no-op when from is no terminal). */
void cb_tty_copy_size(int from, int to);
/* Set a window size. */
void cb_tty_set_size(int fd, int rows, int cols);
/* Put the terminal on fd in raw mode; the previous mode comes back at exit, on a fatal
 * signal, or with cb_tty_restore(). Only one terminal per process. */
int cb_tty_raw(int fd, cb_error_t *err);
void cb_tty_restore(void);

/* Docker's --detach-keys: "ctrl-p,ctrl-q", "ctrl-a,a", single characters. Fills keys and
 * *n; returns -1 with err when malformed. */
int cb_detach_keys_parse(const char *spec, unsigned char keys[CB_DETACH_MAX], size_t *n,
                         cb_error_t *err);

/* Scans input for the detach sequence across reads. */
struct cb_detach {
  unsigned char keys[CB_DETACH_MAX];
  size_t n, matched;
};
/* Feed a chunk; returns the number of bytes to pass on (a partial match is held back
 * and passed on later when the sequence breaks) into out (size >= len + CB_DETACH_MAX),
 * and sets *detached when the whole sequence was typed. */
size_t cb_detach_feed(struct cb_detach *d, const unsigned char *in, size_t len, unsigned char *out,
                      bool *detached);

struct cb_tty_relay {
  int in;                  /* our terminal's input, or -1 */
  int out;                 /* our terminal's output */
  int master;              /* the pty master */
  const char *detach_keys; /* NULL: no detaching */
};
/* Copy in -> master and master -> out until the master hangs up (the process and its
 * children closed the terminal) or the detach keys are typed. Keeps the master's window
 * size in step with `in` on SIGWINCH. Returns 0, or 1 when detached. */
int cb_tty_relay(struct cb_tty_relay *r, pid_t child);

#endif
