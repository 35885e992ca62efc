/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar enter: nsenter-style entry into a container's (or any process's) namespaces,
 * from the host side, with full privileges; optionally with a host-side static toolbox. */
#ifndef CROWBAR_ENTER_H
#define CROWBAR_ENTER_H

#include <stdbool.h>
#include <sys/types.h>

#include "crowbar/context.h"
#include "crowbar/error.h"

struct enter_opts {
  unsigned ns;              /* CB_NS_* asked for; 0: all the target has that differ from ours */
  bool join_cgroup;         /* --cgroup */
  bool take_env;            /* --env */
  bool toolbox;             /* --toolbox[=PATH] */
  const char *toolbox_path; /* NULL: $CROWBAR_TOOLBOX, else busybox from our PATH */
  const char *workdir;      /* -w */
  const char *container;    /* CONTAINER, or NULL with pid */
  pid_t pid;                /* --pid */
  char **argv;              /* CMD [ARG...]; empty: a shell */
};

/* Enter and run the command. Returns only when the command ran in a child (the PID
 * namespace needs one) or on failure: *exit_code gets the command's exit code (128+N for
 * signal N); a failure returns -1 with err, whose exit-code hint is 126/127 for a command
 * that cannot be run or is not found (0: crowbar's own failure, 125). *entered tells
 * whether we are now in the target's namespaces. */
int enter_run(const struct cb_ctx *ctx, const struct enter_opts *o, int *exit_code, bool *entered,
              cb_error_t *err);

/* The toolbox (toolbox.c): host code only. Its binary and applet folder are opened on
 * the host before entering, it runs from a read-only mount of them, and Landlock
 * (landlock.c) keeps it from executing anything else: no program of the container runs
 * with the privileges the toolbox keeps. */
struct toolbox {
  int fd;      /* the binary, opened on the host (O_RDONLY, O_CLOEXEC): to read */
  int exe;     /* the same file through a private read-only mount (O_PATH): to run */
  int dirfd;   /* a detached tmpfs with the binary and its applet links, or -1 */
  int ruleset; /* the Landlock ruleset that allows only those to run, or -1 */
  char *path;  /* where it was found, for messages */
};
/* Find and open the toolbox binary on the host; refuse a binary that is not a static ELF
 * executable (its loader would be looked up in the container). */
int toolbox_open(const char *path, struct toolbox *tb, cb_error_t *err);
/* For busybox: a detached tmpfs (in no mount namespace, so in no container's filesystem)
 * holding a copy of the binary and one hard link per applet, for PATH inside. Failing
 * here is not fatal: tb->dirfd stays -1 and only the applets busybox's shell runs itself
 * are found. */
int toolbox_make_applet_dir(struct toolbox *tb, cb_error_t *err);
void toolbox_release(struct toolbox *tb);
/* 0 when the ELF file behind fd is a static executable (no PT_INTERP); -1 with err
 * otherwise. */
int toolbox_check_static(int fd, const char *name, cb_error_t *err);

/* The Landlock ruleset (landlock.c) under which exec runs only tb->exe and what is in
 * tb->dirfd; files may move between folders beneath rootfd (-1: the host's root). Made on
 * the host, before entering. An error when the kernel has no Landlock: the toolbox does
 * not run unconfined. */
int toolbox_ruleset(const struct toolbox *tb, int rootfd, cb_error_t *err);
/* Put ourselves under the ruleset, for good (just before exec). */
int toolbox_confine(int ruleset, cb_error_t *err);

#endif
