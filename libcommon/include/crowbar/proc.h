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

/* ---- One process in one pass: what top, trace, stack and postmortem read of it ---- */

/* The text of /proc/PID/stat parsed into st (comm may hold spaces and parentheses: it ends
 * at the last ')'). Returns -1 (no err) when the text is malformed. */
int cb_proc_stat_parse(char *text, pid_t pid, struct cb_proc_stat *st);

/* What cb_proc_read reads; each flag is one open and one read of one file. */
enum {
  CB_PROC_READ_STAT = 1u << 0,    /* /proc/PID/stat: pi->stat */
  CB_PROC_READ_STATUS = 1u << 1,  /* /proc/PID/status: pi->status */
  CB_PROC_READ_STATM = 1u << 2,   /* /proc/PID/statm: pi->statm */
  CB_PROC_READ_CMDLINE = 1u << 3, /* /proc/PID/cmdline: pi->cmdline, pi->cmdline_len */
};

#define CB_PROC_NSPID_MAX 8
struct cb_proc_status {
  uid_t uid[4]; /* real, effective, saved, file system */
  gid_t gid[4];
  pid_t tgid;
  pid_t nspid[CB_PROC_NSPID_MAX]; /* the PID in each PID namespace, the host's first */
  int nspid_n;
  long threads;
  uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
  int no_new_privs;    /* 0 or 1; -1 when the kernel does not say */
  int seccomp;         /* 0 disabled, 1 strict, 2 filter; -1 unknown */
  int seccomp_filters; /* -1 unknown */
};
/* The PID inside the innermost PID namespace (the container's PID), 0 if unknown. */
static inline pid_t cb_proc_status_cpid(const struct cb_proc_status *s) {
  return s->nspid_n > 0 ? s->nspid[s->nspid_n - 1] : 0;
}

struct cb_proc_statm {
  uint64_t size, resident, shared, text, data; /* pages */
};

struct cb_proc_info {
  unsigned have; /* the CB_PROC_READ_* flags that were read */
  struct cb_proc_stat stat;
  struct cb_proc_status status;
  struct cb_proc_statm statm;
  /* argv as the process shows it, NUL-separated and NUL-terminated (cmdline_len bytes
   * before the last NUL); empty for kernel threads and zombies. Malloc'd. */
  char *cmdline;
  size_t cmdline_len;
};
/* Read the files `what` asks for, relative to procfd (a descriptor on /proc, or AT_FDCWD
 * for "/proc"). A process that is gone, or goes between two files, fails with ENOENT or
 * ESRCH (callers that walk many processes skip it). */
int cb_proc_read(int procfd, pid_t pid, unsigned what, struct cb_proc_info *pi, cb_error_t *err);
void cb_proc_info_release(struct cb_proc_info *pi);
/* The text of /proc/PID/status parsed into st (unknown keys ignored). */
void cb_proc_status_parse(const char *text, struct cb_proc_status *st);

/* /proc/PID/stat opened to be read again and again (one pread per sample instead of an
 * open, a read and a close): the descriptor stays bound to that process, and once it has
 * gone a read fails (ESRCH) even when its PID is reused. -1 with errno on failure. */
int cb_proc_stat_open(int procfd, pid_t pid);
int cb_proc_stat_pread(int fd, pid_t pid, struct cb_proc_stat *st);

/* A process's ids without the text of its status file: through a pidfd's
 * PIDFD_GET_INFO (Linux 6.13). -1 with errno (ENOTTY, EINVAL before 6.13; ESRCH when it
 * is gone) when the kernel cannot say: read status instead. */
struct cb_proc_ids {
  uid_t ruid, euid;
  gid_t rgid, egid;
  pid_t ppid;
};
int cb_proc_ids(pid_t pid, struct cb_proc_ids *out);
/* The number the PID namespace nsfd (an open /proc/PID/ns/pid) gives the thread group of
 * host PID pid (NS_GET_TGID_IN_PIDNS, Linux 6.10): > 0; 0 when the process is not in that
 * namespace; -1 with errno (ENOTTY on an older kernel). */
pid_t cb_pidns_tgid(int nsfd, pid_t pid);

/* Capability sets by name, upper case as Docker writes them ("CAP_CHOWN CAP_KILL"),
 * space-separated in bit order (libcap's names; a bit it has no name for is "CAP_N");
 * "ALL" when every capability this kernel knows is set, "" for none. Malloc'd. */
char *cb_caps_names(uint64_t mask);

/* The open descriptors of a process: fd number and what /proc/PID/fd/N links to
 * ("/etc/passwd", "socket:[1234]", "pipe:[5678]", "anon_inode:[eventfd]"). */
struct cb_proc_fd {
  int fd;
  char *target;
};
int cb_proc_fds(int procfd, pid_t pid, struct cb_proc_fd **out, size_t *n, cb_error_t *err);
void cb_proc_fds_free(struct cb_proc_fd *v, size_t n);

/* The sockets of a process's network namespace (/proc/PID/net/{tcp,tcp6,udp,udp6,raw,
 * raw6,unix}), to name the "socket:[INODE]" of its descriptors. */
struct cb_proc_socket {
  uint64_t inode;
  char proto[8];  /* "tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix" */
  char *local;    /* "127.0.0.1:80", "[::1]:53", a unix path ("@abstract" or "") */
  char *remote;   /* "10.0.0.2:41234", "*:*" when none; NULL for unix */
  char state[12]; /* "LISTEN", "ESTABLISHED", ...; "" for udp and unix */
};
int cb_proc_sockets(int procfd, pid_t pid, struct cb_proc_socket **out, size_t *n, cb_error_t *err);
/* The socket with this inode, or NULL. */
const struct cb_proc_socket *cb_proc_socket_find(const struct cb_proc_socket *v, size_t n,
                                                 uint64_t inode);
void cb_proc_sockets_free(struct cb_proc_socket *v, size_t n);

#endif
