/* SPDX-License-Identifier: GPL-2.0-or-later */
/* top's data layer: samples of the containers' processes from /proc and their cgroups,
 * with %CPU from the difference of two samples, as top computes it. The batch printer and
 * the live screens both read a struct top_snapshot; nothing here draws or prints. */
#ifndef CROWBAR_TOP_SAMPLE_H
#define CROWBAR_TOP_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "crowbar/cgroupmap.h"
#include "crowbar/context.h"
#include "crowbar/error.h"
#include "crowbar/util.h"

#define TOP_USER_LEN 33

struct top_proc {
  pid_t pid;  /* on the host */
  pid_t cpid; /* in the container's PID namespace (1 for its init); 0 if unknown */
  pid_t ppid; /* on the host */
  uid_t uid;  /* effective */
  char state; /* R, S, D, Z, T, ... */
  long threads;
  uint64_t rss_kb;
  uint64_t ticks; /* utime + stime, clock ticks */
  uint64_t start; /* start time, clock ticks since boot */
  double cpu;     /* %CPU over the interval (100 = one CPU), over its life in a first sample */
  char user[TOP_USER_LEN]; /* the container's name for uid (its /etc/passwd), else the number */
  char comm[64];           /* printable */
  char *cmd;               /* argv joined by spaces, printable; "[comm]" when it has none */
  size_t ctr;              /* index of its container in the snapshot */
};

struct top_ctr {
  char id[CB_ID_LEN + 1];
  char *name;
  char *cgroup; /* "/crowbar/<id>" */
  struct cb_cgroup_usage usage;
  double cpu; /* the sum of its processes' */
  uint64_t rss_kb;
  size_t nprocs;
  pid_t init_pid; /* host PID of its PID 1; 0 if not seen */
};

struct top_host {
  double load[3];
  uint64_t mem_total, mem_free, mem_avail, mem_buffers, mem_cached; /* KiB */
  long ncpu;
};

struct top_snapshot {
  int64_t wall_ns; /* when it was taken */
  double uptime;   /* seconds since boot, at the sample */
  double interval; /* seconds since the previous sample; 0 for the first */
  struct top_host host;
  struct top_ctr *ctrs; /* sorted by name */
  size_t nctrs;
  struct top_proc *procs; /* sorted by container, then PID */
  size_t nprocs;
};

struct top_names;

/* What one sample needs of the previous one and of the engine, kept between samples. */
struct top_sampler {
  const struct cb_ctx *ctx;
  int procfd;
  long hz;
  long page_kb;
  /* Containers to show (full IDs); none: every running container of this root. */
  char (*only)[CB_ID_LEN + 1];
  size_t n_only;
  /* Known cgroup IDs: this root's containers (name set) and others' (name NULL). */
  struct top_known *known;
  size_t n_known, cap_known;
  /* The previous sample's (pid, start, ticks), sorted by pid, for %CPU. */
  struct top_prev *prev;
  size_t n_prev;
  double prev_uptime;
  bool have_prev;
  uint64_t samples; /* taken so far */
  size_t fd_budget; /* stat descriptors it may keep open between samples */
  /* The container PID and the user from ioctls rather than status's text (off once the
   * kernel says it has them not; tests turn it off to compare). */
  bool fast_ids;
};

/* ctx: the engine's roots, whose containers are shown (a cgroup of another root's is
 * not); NULL shows every cgroup the engines' patterns match, named by its short ID. */
int top_sampler_init(struct top_sampler *s, const struct cb_ctx *ctx, cb_error_t *err);
void top_sampler_release(struct top_sampler *s);
/* Show only this container (and the others so added), which the engine calls name and
 * whose PID 1 is pid1 (0: unknown). */
int top_sampler_only(struct top_sampler *s, const char *id, const char *name, pid_t pid1);
/* Take a sample into *out (released first if it holds one). */
int top_sample(struct top_sampler *s, struct top_snapshot *out, cb_error_t *err);
void top_snapshot_release(struct top_snapshot *snap);

/* Pieces the tests drive on their own. */
/* %CPU as top computes it: the ticks used over the interval, per second, in percent of one
 * CPU; with no interval (a first sample), over the process's life, as ps computes it. */
double top_cpu_percent(uint64_t ticks, uint64_t prev_ticks, bool have_prev, double interval,
                       uint64_t start, double uptime, long hz);
/* Printable text: control characters and bytes that are not printable ASCII as '?',
 * argv's NULs as spaces. Malloc'd. */
char *top_printable(const char *s, size_t len, bool nul_is_space);
/* The user names of a passwd file's text: uid -> name, names made printable and cut to
 * TOP_USER_LEN - 1. */
struct top_names *top_names_parse(const char *text, size_t len);
const char *top_names_find(const struct top_names *n, uid_t uid);
void top_names_free(struct top_names *n);

#endif
