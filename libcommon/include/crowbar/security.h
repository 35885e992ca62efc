/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Who a container process runs as: its user (from the container's own passwd and group
 * files) and its capabilities (Docker's default set, with adds and drops). Used by the
 * shim for PID 1 and by exec for new processes. */
#ifndef CROWBAR_SECURITY_H
#define CROWBAR_SECURITY_H

#include <stdbool.h>
#include <stdint.h>

#include "crowbar/error.h"

/* "NET_ADMIN", "CAP_NET_ADMIN" (any case) -> its number; -1 unknown, -2 "ALL". */
int cb_cap_value(const char *name);
/* Check capability names ("NET_ADMIN", "CAP_NET_ADMIN", "ALL") before anything starts. */
int cb_caps_validate(char *const *names, cb_error_t *err);
/* Docker's default set plus add minus drop, as a mask (bit N for capability N): the
 * bounding set a container gets, which also decides parts of its seccomp profile. */
int cb_caps_bounding(char *const *add, char *const *drop, uint64_t *set, cb_error_t *err);
/* Drop the bounding set to Docker's default set plus add minus drop, and set the
 * effective and permitted sets to it (cleared again by the kernel at exec for a non-root
 * user, as in Docker). Call after cb_user_switch. */
int cb_caps_apply(char *const *add, char *const *drop, cb_error_t *err);
/* The uids and gids a container may use, as Docker (runc) takes them: outside, setuid(2)
 * would make 4294967296 root (uid_t is 32 bits) and -1 "unchanged". One check for every
 * place an id comes from: passwd, group, -u, tar headers, files copied with their owner. */
#define CB_ID_MAX 2147483647
#define CB_ID_RANGE_MSG "uids and gids must be in range 0-2147483647"
static inline bool cb_id_valid(long long id) {
  return id >= 0 && id <= CB_ID_MAX;
}
/* A uid or gid written in decimal (passwd, group, USER[:GROUP]): 0 with *out; -1 when s is
 * not a number (a name); -2 when it is one out of the range (-1, 4294967296...). */
int cb_parse_id(const char *s, uint32_t *out);
/* Resolve USER[:GROUP] (names or numbers) against /etc/passwd and /etc/group of the root
 * we are in (after pivot_root or setns: files parsed by hand, never through NSS, which
 * would load the container's libraries into a privileged process: CVE-2019-14271), and
 * switch to it keeping capabilities. *home gets the user's home folder (malloc'd). */
int cb_user_switch(const char *spec, char **home, cb_error_t *err);
/* Refuse a USER[:GROUP] whose numeric user or group is out of range (before a container
 * is created). */
int cb_user_check(const char *spec, cb_error_t *err);

/* Join a session keyring of the container's own, "_ses.ID" (made when it does not exist),
 * so that nothing in it shares the caller's. searchable (PID 1's) lets processes of the
 * same user find it by name: exec joins the container's ring that way. */
int cb_keyring_join(const char *id, bool searchable, cb_error_t *err);

#endif
