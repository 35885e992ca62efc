/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Entering a process's namespaces (one setns on its pidfd where the kernel allows it,
 * kernel >= 5.8; otherwise descriptors on /proc/PID/ns/NAME opened before the first setns). */
#ifndef CROWBAR_NS_H
#define CROWBAR_NS_H

#include <stdbool.h>
#include <sys/types.h>

#include "crowbar/error.h"

enum {
  CB_NS_MNT = 1u << 0,
  CB_NS_UTS = 1u << 1,
  CB_NS_IPC = 1u << 2,
  CB_NS_NET = 1u << 3,
  CB_NS_PID = 1u << 4,
  CB_NS_USER = 1u << 5,
  CB_NS_CGROUP = 1u << 6,
  CB_NS_TIME = 1u << 7,
  CB_NS_ALL = 0xff,
};

/* The /proc/PID/ns name of one CB_NS_* bit ("mnt", "uts", ...). */
const char *cb_ns_name(unsigned bit);
/* The CLONE_NEW* flag of one CB_NS_* bit. */
int cb_ns_clone_flag(unsigned bit);
/* Which namespaces of pid differ from ours (those worth entering). */
unsigned cb_ns_differing(pid_t pid);
/* Enter the namespaces `which` of the process behind pidfd (pid for the fallback).
 * A new PID namespace applies to children forked afterwards; the mount namespace resets
 * our root and working folder to its root. */
int cb_ns_enter(int pidfd, pid_t pid, unsigned which, cb_error_t *err);

#endif
