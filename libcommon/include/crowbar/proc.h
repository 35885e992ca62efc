/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /proc: process identity (start times against PID reuse), trees, NSpid, namespaces. */
#ifndef CROWBAR_PROC_H
#define CROWBAR_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "crowbar/error.h"

/* The start time of pid in clock ticks since boot (field 22 of /proc/PID/stat), 0 if gone. */
uint64_t cb_proc_start_time(pid_t pid);
/* True when pid exists, is not a zombie, and has this start time. A start time of 0 (none
 * recorded) verifies nothing: false. */
bool cb_proc_alive(pid_t pid, uint64_t start_time);
/* This boot's ID (/proc/sys/kernel/random/boot_id) into buf[37]. */
int cb_boot_id(char *buf, cb_error_t *err);

struct cb_proc_stat {
  pid_t pid, ppid;
  char state; /* R, S, D, Z, T, ... */
  char comm[64];
  uint64_t utime, stime; /* clock ticks */
  uint64_t start_time;   /* clock ticks since boot */
  int64_t rss_pages;
  uint64_t vsize;
  long nice;
  long threads;
};
int cb_proc_stat(pid_t pid, struct cb_proc_stat *st, cb_error_t *err);

/* Direct children of pid (from /proc/PID/task/TID/children, all threads). */
int cb_proc_children(pid_t pid, pid_t **out, size_t *n, cb_error_t *err);
/* Every PID on the host (numeric entries of /proc). */
int cb_proc_list(pid_t **out, size_t *n, cb_error_t *err);
/* The innermost PID (last NSpid entry) of a host PID; 0 if unknown. */
pid_t cb_proc_nspid(pid_t pid);
/* The namespace inode of /proc/PID/ns/NAME ("mnt", "pid", ...), 0 if unknown. */
uint64_t cb_proc_ns_inode(pid_t pid, const char *name);
/* argv of pid as a vector (NULL-terminated); empty for kernel threads and zombies. */
int cb_proc_cmdline(pid_t pid, char ***out, cb_error_t *err);
/* Clock ticks per second and seconds since boot (for start times). */
long cb_clock_ticks(void);
double cb_uptime(void);
/* pidfd_open(pid) checked against start_time: -1 with ESRCH when the process changed, and
 * when start_time is 0 (an identity that cannot be checked is never trusted). */
int cb_pidfd_open_checked(pid_t pid, uint64_t start_time);
int cb_pidfd_send_signal(int pidfd, int sig);

#endif
