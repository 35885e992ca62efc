/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar commit: a new image from a container's changes, as `docker commit` makes it.
 * The work is commit.h's; this program pauses the container around it (by default) and
 * makes sure an interrupted commit leaves the container running again: the commit runs
 * in a child process, which a signal to us kills before we thaw the container. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/commit.h"
#include "crowbar/container.h"
#include "crowbar/util.h"
#include "crowbar/verb.h"

CB_VERB(commit, "Create a new image from a container's changes");

static void usage(FILE *out) {
  fputs("Usage: crowbar commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n\n"
        "Create a new image whose top layer is the container's changes (deletions\n"
        "included), with the container's configuration; running, paused or stopped.\n\n"
        "Options:\n"
        "  -a, --author AUTHOR     author (e.g. \"Jane Doe <jane@example.com>\")\n"
        "  -c, --change INSTR      apply a Dockerfile instruction to the image's config:\n"
        "                          CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME,\n"
        "                          WORKDIR (repeatable)\n"
        "  -m, --message MESSAGE   commit message\n"
        "  -p, --pause[=true|false]  pause the container during the commit (default true)\n"
        "  -h, --help              show this help\n\n"
        "See crowbar-commit(1).\n",
        out);
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) {
  interrupted = sig;
}

/* Run the commit in a child; its result comes back on a pipe: "I<id>" or "E<message>". */
static int commit_in_child(const struct cb_ctx *ctx, struct cb_container *c,
                           const struct cb_commit_opts *o, char id[CB_ID_LEN + 1],
                           cb_error_t *err) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return cb_error_sys(err, "pipe");
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return cb_error_sys(err, "fork");
  }
  if (pid == 0) {
    close(p[0]);
    cb_error_t e = NULL;
    char out[CB_ID_LEN + 1];
    cleanup_free char *msg = NULL;
    if (cb_container_commit(ctx, c, o, out, &e) < 0) {
      msg = xasprintf("E%s", cb_error_text(e));
    } else {
      msg = xasprintf("I%s", out);
    }
    _exit(cb_write_all(p[1], msg, strlen(msg)) < 0 ? 2 : 0);
  }
  close(p[1]);
  struct sigaction sa = {.sa_handler = on_signal}, old[3];
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  for (int i = 0; i < 3; i++)
    sigaction(sigs[i], &sa, &old[i]);
  int status = 0;
  bool killed = false;
  for (;;) {
    if (interrupted && !killed) {
      kill(pid, SIGKILL);
      killed = true;
    }
    pid_t r = waitpid(pid, &status, 0);
    if (r == pid)
      break;
    if (r < 0 && errno != EINTR)
      break;
  }
  for (int i = 0; i < 3; i++)
    sigaction(sigs[i], &old[i], NULL);
  char buf[4096];
  size_t n = 0;
  for (;;) {
    ssize_t r = read(p[0], buf + n, sizeof buf - 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    n += (size_t)r;
    if (n == sizeof buf - 1)
      break;
  }
  buf[n] = '\0';
  close(p[0]);
  if (interrupted) {
    cb_error_make(err, 0, "interrupted: no image was made");
    return cb_error_set_code(err, 128 + interrupted);
  }
  if (n > 0 && buf[0] == 'I' && n == CB_ID_LEN + 1) {
    memcpy(id, buf + 1, CB_ID_LEN + 1);
    return 0;
  }
  if (n > 0 && buf[0] == 'E')
    return cb_error_make(err, 0, "%s", buf + 1);
  return cb_error_make(err, 0, "the commit failed (status %d)", status);
}

static int parse_bool(const char *s, bool *out) {
  static const char *const t[] = {"1", "t", "T", "true", "TRUE", "True"};
  static const char *const f[] = {"0", "f", "F", "false", "FALSE", "False"};
  for (size_t i = 0; i < 6; i++) {
    if (!strcmp(s, t[i]))
      return *out = true, 0;
    if (!strcmp(s, f[i]))
      return *out = false, 0;
  }
  return -1;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"author", required_argument, NULL, 'a'},  {"change", required_argument, NULL, 'c'},
      {"message", required_argument, NULL, 'm'}, {"pause", optional_argument, NULL, 'p'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
  };
  struct cb_commit_opts o = {0};
  cleanup_strv char **changes = NULL;
  bool pause = true;
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":a:c:m:p::h", longopts, NULL)) != -1) {
    switch (c) {
    case 'a': o.author = optarg; break;
    case 'c': cb_strv_append(&changes, optarg); break;
    case 'm': o.message = optarg; break;
    case 'p':
      if (!optarg)
        pause = true;
      else if (parse_bool(optarg, &pause) < 0) {
        fprintf(stderr,
                "Error: invalid argument \"%s\" for \"-p, --pause\" flag: true or false\n"
                "See 'crowbar commit --help'.\n",
                optarg);
        return 125;
      }
      break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("commit", argv, c);
    }
  }
  if (argc - optind < 1 || argc - optind > 2) {
    fprintf(stderr, "Error: \"crowbar commit\" requires at least 1 and at most 2 arguments.\n"
                    "See 'crowbar commit --help'.\n");
    return 1;
  }
  o.changes = changes;
  o.ref = argc - optind == 2 ? argv[optind + 1] : NULL;
  cb_error_t err = NULL;
  struct cb_ctx ctx;
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 0, &err) < 0) {
    cb_error_print(&err);
    return 1;
  }
  int ret = 0;
  cleanup_container struct cb_container *ct = NULL;
  bool paused = false;
  char id[CB_ID_LEN + 1];
  if (cb_container_locate(&ctx, argv[optind], &ct, &err) < 0 ||
      (pause && cb_commit_pause(&ctx, ct, &paused, &err) < 0) ||
      commit_in_child(&ctx, ct, &o, id, &err) < 0) {
    ret = err && err->exit_code ? err->exit_code : 1;
    cb_error_print(&err);
  } else {
    printf("sha256:%s\n", id);
  }
  if (paused && cb_commit_unpause(&ctx, ct, &err) < 0) {
    cb_error_print(&err);
    ret = ret ? ret : 1;
  }
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
