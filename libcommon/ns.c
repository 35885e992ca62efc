/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/ns.h"
#include "crowbar/proc.h"

static const struct {
  unsigned bit;
  const char *name;
  int flag;
} table[] = {
    /* The user namespace goes first: it decides what the others allow. */
    {CB_NS_USER, "user", CLONE_NEWUSER},
    {CB_NS_CGROUP, "cgroup", CLONE_NEWCGROUP},
    {CB_NS_IPC, "ipc", CLONE_NEWIPC},
    {CB_NS_UTS, "uts", CLONE_NEWUTS},
    {CB_NS_NET, "net", CLONE_NEWNET},
    {CB_NS_PID, "pid", CLONE_NEWPID},
    {CB_NS_TIME, "time", 0x00000080 /* CLONE_NEWTIME */},
    {CB_NS_MNT, "mnt", CLONE_NEWNS},
};
#define N (sizeof table / sizeof table[0])

const char *cb_ns_name(unsigned bit) {
  for (size_t i = 0; i < N; i++)
    if (table[i].bit == bit)
      return table[i].name;
  return NULL;
}

int cb_ns_clone_flag(unsigned bit) {
  for (size_t i = 0; i < N; i++)
    if (table[i].bit == bit)
      return table[i].flag;
  return 0;
}

unsigned cb_ns_differing(pid_t pid) {
  unsigned r = 0;
  for (size_t i = 0; i < N; i++) {
    uint64_t theirs = cb_proc_ns_inode(pid, table[i].name);
    uint64_t ours = cb_proc_ns_inode(getpid(), table[i].name);
    if (theirs && theirs != ours)
      r |= table[i].bit;
  }
  return r;
}

int cb_ns_enter(int pidfd, pid_t pid, unsigned which, cb_error_t *err) {
  if (!which)
    return 0;
  int flags = 0;
  for (size_t i = 0; i < N; i++)
    if (which & table[i].bit)
      flags |= table[i].flag;
  if (pidfd >= 0 && setns(pidfd, flags) == 0)
    return 0;
  if (pidfd >= 0 && errno != EINVAL)
    return cb_error_sys(err, "enter the namespaces of process %d", pid);
  /* Older kernels: open every namespace first (the mount one last changes what /proc is). */
  int fds[N];
  for (size_t i = 0; i < N; i++) {
    fds[i] = -1;
    if (!(which & table[i].bit))
      continue;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, table[i].name);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) {
      int e = errno;
      for (size_t k = 0; k < i; k++)
        if (fds[k] >= 0)
          close(fds[k]);
      errno = e;
      return cb_error_sys(err, "open `%s`", path);
    }
  }
  int ret = 0;
  for (size_t i = 0; i < N; i++) {
    if (fds[i] < 0)
      continue;
    if (ret == 0 && setns(fds[i], table[i].flag) < 0)
      ret = cb_error_sys(err, "enter the %s namespace of process %d", table[i].name, pid);
    close(fds[i]);
  }
  return ret;
}
