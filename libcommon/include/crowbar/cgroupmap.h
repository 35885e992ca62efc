/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which container a process belongs to, told by its cgroup path, and what a container's
 * cgroup says about its use and limits.
 *
 * Every engine puts a container's processes in a cgroup whose path names the container:
 * crowbar's are /crowbar/<id> (in each v1 hierarchy, or in the v2 tree); Docker's are
 * /docker/<id> or /system.slice/docker-<id>.scope, containerd's /<namespace>/<id>. One
 * small pattern per engine (struct cb_cgroup_engine) turns a path into a container ID, so
 * the tools that map processes to containers (top, trace --all, ...) learn another
 * engine's containers by a new pattern here, not by a change of their own. Only the
 * crowbar pattern exists yet. */
#ifndef CROWBAR_CGROUPMAP_H
#define CROWBAR_CGROUPMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "crowbar/error.h"
#include "crowbar/util.h"

struct cb_cgroup_engine {
  const char *name; /* "crowbar" */
  /* Folders, relative to a hierarchy's root, whose subfolders may be this engine's
   * containers' cgroups (NULL-terminated). */
  const char *const *parents;
  /* The container ID a cgroup path names, as /proc/PID/cgroup shows paths
   * ("/crowbar/<id>" or a folder below it), into id; false when it names none of this
   * engine's containers. */
  bool (*match)(const char *path, char id[CB_ID_LEN + 1]);
};

extern const struct cb_cgroup_engine cb_cgroup_engine_crowbar;

/* The container of a process, from /proc/PID/cgroup (procfd: a descriptor on /proc or
 * AT_FDCWD). Returns 1 with id and *engine filled, 0 when no engine claims it, -1 on
 * error (the process is gone). */
int cb_cgroup_container_of(int procfd, pid_t pid, const struct cb_cgroup_engine *const *engines,
                           size_t n_engines, char id[CB_ID_LEN + 1],
                           const struct cb_cgroup_engine **engine, cb_error_t *err);

/* One container's cgroup found by cb_cgroup_scan. */
struct cb_cgroup_found {
  const struct cb_cgroup_engine *engine;
  char id[CB_ID_LEN + 1];
  const char *path;  /* relative to the hierarchy root: "/crowbar/<id>" */
  const pid_t *pids; /* its processes (thread-group IDs), its subfolders' included */
  size_t n_pids;
};
/* Return 0 to go on, < 0 with err set to stop. */
typedef int (*cb_cgroup_found_fn)(const struct cb_cgroup_found *f, void *data, cb_error_t *err);

/* Every container cgroup of the given engines on this host, with its processes: one
 * readdir per parent folder and per container folder, one read of cgroup.procs per
 * cgroup. The hierarchy read is the v2 tree on a v2 host, else the first v1 hierarchy
 * mounted of memory, pids, cpuacct, unified. Cgroups with no process are skipped. */
int cb_cgroup_scan(const struct cb_cgroup_engine *const *engines, size_t n_engines,
                   cb_cgroup_found_fn fn, void *data, cb_error_t *err);

/* The processes of one cgroup path (and its subfolders). */
int cb_cgroup_path_pids(const char *path, pid_t **out, size_t *n, cb_error_t *err);

/* A cgroup's use and limits (v1 or v2), as `docker stats` reads them. -1: unknown. */
struct cb_cgroup_usage {
  int64_t mem_usage;  /* bytes, without the inactive page cache (as docker stats) */
  int64_t mem_limit;  /* bytes; 0 when there is no limit */
  int64_t pids;       /* tasks (threads) in it */
  int64_t pids_limit; /* 0 when there is no limit */
  bool frozen;
};
void cb_cgroup_usage_read(const char *path, struct cb_cgroup_usage *u);

#endif
