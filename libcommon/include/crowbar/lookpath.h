/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Finding the program to run inside a container, as Go's exec.LookPath does for Docker:
 * with the container's PATH, after entering its root. */
#ifndef CROWBAR_LOOKPATH_H
#define CROWBAR_LOOKPATH_H

#include <stdbool.h>

#include "crowbar/error.h"

/* Look `file` up with the PATH of env (a KEY=VALUE vector; a default PATH when it has
 * none). Returns the malloc'd path, or NULL with err and its exit-code hint: 127 with
 * `exec: "foo": executable file not found in $PATH` (or a stat error for a path), 126
 * with `exec: "foo": permission denied` or `is a directory`. */
char *cb_look_path(const char *file, char *const *env, cb_error_t *err);
/* The value of KEY in a KEY=VALUE vector, or NULL. */
const char *cb_env_get(char *const *env, const char *key);
/* Set KEY=VALUE in a vector: a later value replaces the earlier one with that key. */
void cb_env_set(char ***env, const char *kv);
/* The environment a container's process starts with, as Docker's daemon builds it: PATH
 * (the default one), HOSTNAME and, with a terminal, TERM=xterm, then the container's
 * Config.Env laid over them (a KEY=VALUE replaces the default in place, a new KEY is
 * appended, a bare KEY removes it). Config.Env itself holds only what the user and the
 * image set: Docker writes no default PATH or TERM there. */
char **cb_env_for_process(char *const *config_env, const char *hostname, bool tty);

#endif
