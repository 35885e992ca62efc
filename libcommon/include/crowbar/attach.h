/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The attach protocol between a CLI (run, start -a, attach) and a container's shim.
 *
 * A client connects to $RUNROOT/<id>/attach.sock (or gets a socketpair end from the CLI
 * that spawned the shim) and sends CB_ATTACH with its own stdio descriptors attached
 * (SCM_RIGHTS, in the order stdin, stdout, stderr, those present) within a few seconds.
 * The shim writes the container's output straight into those descriptors and reads the
 * client's stdin itself, so no byte is copied twice, and without ever waiting on them
 * (engine/shim/clients.c): a client that falls too far behind is dropped. The client then
 * only sends RESIZE/SIGNAL messages and waits for EXIT (or DETACHED, or DROPPED). Closing
 * the socket detaches. */
#ifndef CROWBAR_ATTACH_H
#define CROWBAR_ATTACH_H

#include <stdint.h>

#include "crowbar/error.h"

enum cb_attach_type {
  CB_ATTACH = 1,      /* a = CB_ATTACH_* flags; fds attached */
  CB_RESIZE = 2,      /* a = rows, b = cols */
  CB_SIGNAL = 3,      /* a = signal to send to the container's PID 1 */
  CB_DETACH_KEYS = 4, /* a = length (0: none), b and c = up to 8 key bytes, little end first */
  CB_EXIT = 100,      /* shim -> client: a = exit code */
  CB_DETACHED = 101,  /* shim -> client: the detach keys were typed */
  CB_DROPPED = 102,   /* shim -> client: it fell too far behind the output and is dropped;
                         a = 1 when the container had exited (its last output is lost) */
};

enum {
  CB_ATTACH_STDIN = 1,
  CB_ATTACH_STDOUT = 2,
  CB_ATTACH_STDERR = 4,
};

struct cb_attach_msg {
  uint32_t type;
  int32_t a, b, c;
};

/* Send a message with up to 3 descriptors; returns 0 or -1 (errno). */
int cb_attach_send(int sock, const struct cb_attach_msg *m, const int *fds, int nfds);
/* Receive one message and the descriptors that came with it (up to 3, -1 padded).
 * Returns 1 for a message, 0 at EOF, -1 on error (errno). */
int cb_attach_recv(int sock, struct cb_attach_msg *m, int fds[3]);
/* Connect to a running container's attach socket. */
int cb_attach_connect(const char *path, cb_error_t *err);

#endif
