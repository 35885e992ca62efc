/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A container's cgroup, on cgroup v2 or v1, detected at run time, behind one interface.
 *
 * v2 (unified, /sys/fs/cgroup is cgroup2): one folder /sys/fs/cgroup/crowbar/<id>.
 * v1 (legacy or hybrid): /sys/fs/cgroup/<controller>/crowbar/<id> for memory, pids,
 * freezer, devices, cpu, cpuacct (those mounted), plus the controller-less v2 tree at
 * /sys/fs/cgroup/unified when a hybrid host has one (it tracks membership only). */
#ifndef CROWBAR_CGROUP_H
#define CROWBAR_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "crowbar/error.h"

enum cb_cgroup_mode { CB_CGROUP_NONE, CB_CGROUP_V1, CB_CGROUP_V2 };

/* Which layout this host has. */
enum cb_cgroup_mode cb_cgroup_detect(void);

struct cb_cgroup_limits {
  int64_t memory; /* bytes, 0 = none */
  int64_t pids;   /* 0 = none */
};

/* Create the container's cgroup with its limits and device rules: v1's devices
 * controller, and the BPF device program on the v2 folder (required on a v2 host; on a
 * hybrid host attached when the kernel allows, the v1 controller guarding anyway). */
int cb_cgroup_create(const char *id, const struct cb_cgroup_limits *lim, cb_error_t *err);
/* Move a process into it. */
int cb_cgroup_add_pid(const char *id, pid_t pid, cb_error_t *err);
/* Freeze or thaw every process, waiting until the kernel reports it done. */
int cb_cgroup_freeze(const char *id, bool frozen, cb_error_t *err);
/* True when frozen. */
bool cb_cgroup_frozen(const char *id);
/* How many OOM kills the memory controller has counted (0 if unknown). */
int64_t cb_cgroup_oom_kills(const char *id);
/* The host PIDs in the cgroup. */
int cb_cgroup_pids(const char *id, pid_t **out, size_t *n, cb_error_t *err);
/* Memory usage in bytes (-1 if unknown). */
int64_t cb_cgroup_memory_usage(const char *id);
/* Remove it (retrying while the last processes leave); missing is fine. */
int cb_cgroup_destroy(const char *id, cb_error_t *err);
/* Move process `pid` into every cgroup that process `target` belongs to (all v1
 * hierarchies and the v2 one), as exec and enter --cgroup do. */
int cb_cgroup_join_process(pid_t target, pid_t pid, cb_error_t *err);
/* The cgroup path as a process sees it in /proc/PID/cgroup ("/crowbar/<id>"). */
char *cb_cgroup_path(const char *id);
/* The folder of the controller that lists processes (for tools). */
char *cb_cgroup_procs_dir(const char *id);

#endif
