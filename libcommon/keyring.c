/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A container's own session keyring (as runc gives one): without it, its processes would
 * share the session keyring of whoever started it (a login's kerberos tickets, ecryptfs
 * keys...). */
#include <errno.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crowbar/security.h"

#define KEY_USR_SEARCH 0x00080000 /* the owner may search it (linux/key.h) */

int cb_keyring_join(const char *id, bool searchable, cb_error_t *err) {
  char name[128];
  snprintf(name, sizeof name, "_ses.%s", id);
  long ring = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0);
  if (ring < 0) {
    /* A kernel without keys: nothing to share either (runc does the same). */
    if (errno == ENOSYS)
      return 0;
    return cb_error_sys(err, "join a session keyring");
  }
  if (!searchable)
    return 0;
  /* Let its owner find it by name (exec joins it): add search for the owning user to the
   * permissions, read from "type;uid;gid;perm;description". */
  char desc[256];
  long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, ring, desc, sizeof desc - 1, 0);
  if (n < 0)
    return cb_error_sys(err, "describe the session keyring");
  desc[(size_t)n < sizeof desc ? (size_t)n : sizeof desc - 1] = '\0';
  const char *p = desc;
  for (int semis = 0; semis < 3 && p; semis++) {
    p = strchr(p, ';');
    if (p)
      p++;
  }
  char *end;
  unsigned long perm = p ? strtoul(p, &end, 16) : 0;
  if (!p || end == p || *end != ';')
    return cb_error_make(err, 0, "unexpected description of the session keyring: %s", desc);
  if (syscall(SYS_keyctl, KEYCTL_SETPERM, ring, perm | KEY_USR_SEARCH, 0, 0) < 0)
    return cb_error_sys(err, "set the permissions of the session keyring");
  return 0;
}
