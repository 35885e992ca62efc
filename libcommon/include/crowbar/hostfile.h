/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Host files that a container can reach. The executable of a process in a container's PID
 * namespace (/proc/PID/exe) and every descriptor a container process holds are handles a
 * hostile root in the container can reopen (/proc/self/fd/N), write, truncate, chmod or
 * chown (runc's CVE-2019-5736). A host file handed in goes through a private read-only
 * bind mount of it, in no mount namespace: whatever reaches the file through it can read
 * it and run it, never change it (EROFS). */
#ifndef CROWBAR_HOSTFILE_H
#define CROWBAR_HOSTFILE_H

#include "crowbar/error.h"

/* An O_PATH descriptor (close-on-exec) of the host file at dirfd/path (path "" with
 * dirfd: that very file), through a private read-only, nosuid, nodev bind mount of it. For
 * execveat(fd, "", ..., AT_EMPTY_PATH) and Landlock rules; pread needs another descriptor. */
int cb_hostfile_open_ro(int dirfd, const char *path, cb_error_t *err);

/* The host's null device opened with flags (O_RDWR, ...; O_NOCTTY and O_CLOEXEC are added)
 * through a private read-only bind mount of /dev: reads and writes work as on /dev/null,
 * its mode, owner and times cannot be changed. */
int cb_hostfile_open_null(int flags, cb_error_t *err);

#endif
