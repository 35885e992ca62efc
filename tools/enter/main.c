/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar-enter: options as util-linux's nsenter(1) has them, a container or --pid as the
 * target. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crowbar/context.h"
#include "crowbar/error.h"
#include "crowbar/ns.h"
#include "crowbar/util.h"
#include "crowbar/verb.h"
#include "enter.h"

CB_VERB(enter, "Run a command in a container's namespaces with the host's privileges");

static void usage(FILE *out) {
  fputs("Usage: crowbar enter [OPTIONS] CONTAINER [COMMAND [ARG...]]\n"
        "       crowbar enter [OPTIONS] --pid PID [COMMAND [ARG...]]\n\n"
        "Run a command in the namespaces of a container (or of any process), keeping full\n"
        "root privileges and our environment, as nsenter(1) does. Without namespace options,\n"
        "every namespace the target has that differs from ours is entered. Without COMMAND,\n"
        "a shell: $SHELL, else /bin/sh, inside the container.\n\n"
        "Target:\n"
        "  -t, --target PID           a process instead of a container (as nsenter -t)\n"
        "      --pid PID              the same as --target\n\n"
        "Namespaces:\n"
        "  -m, --mount                mount namespace (the container's filesystem)\n"
        "  -u, --uts                  UTS namespace (hostname)\n"
        "  -i, --ipc                  IPC namespace\n"
        "  -n, --net                  network namespace\n"
        "  -p, --pidns                PID namespace (the command runs in a child)\n"
        "  -U, --userns               user namespace\n"
        "  -C, --cgroupns             cgroup namespace\n\n"
        "Options:\n"
        "      --cgroup               also join the target's cgroups (limits, accounting)\n"
        "      --toolbox[=PATH]       run COMMAND (default: sh) from a static binary on the\n"
        "                             host: busybox (or $CROWBAR_TOOLBOX) unless PATH is\n"
        "                             given; works in images without a shell or tools\n"
        "      --env                  the container's environment instead of ours\n"
        "  -w, --workdir DIR          working directory (inside, when -m)\n"
        "  -h, --help                 show this help\n\n"
        "Exit status: the command's own; 125 when crowbar failed, 126 when the command\n"
        "cannot be invoked, 127 when it is not found.\n\n"
        "See crowbar-enter(1).\n",
        out);
}

/* util-linux's mutually exclusive options (include/optutils.h): rows of options that
 * cannot be given together, each row and the whole table in ascending order. */
#define EXCL_ROWS 1
#define EXCL_COLS 3
static int excl_check(const int excl[][EXCL_COLS], int *status, int c) {
  for (int i = 0; i < EXCL_ROWS; i++) {
    for (int j = 0; excl[i][j]; j++) {
      if (excl[i][j] != c)
        continue;
      if (status[i] == 0)
        status[i] = c;
      else if (status[i] != c)
        return i;
    }
  }
  return -1;
}

int cmd_enter(int argc, char **argv) {
  enum { OPT_PID = CHAR_MAX + 1, OPT_CGROUP, OPT_TOOLBOX, OPT_ENV };
  static const struct option longopts[] = {
      {"target", required_argument, NULL, 't'},
      {"pid", required_argument, NULL, OPT_PID},
      {"mount", no_argument, NULL, 'm'},
      {"uts", no_argument, NULL, 'u'},
      {"ipc", no_argument, NULL, 'i'},
      {"net", no_argument, NULL, 'n'},
      {"pidns", no_argument, NULL, 'p'},
      {"userns", no_argument, NULL, 'U'},
      {"cgroupns", no_argument, NULL, 'C'},
      {"cgroup", no_argument, NULL, OPT_CGROUP},
      {"toolbox", optional_argument, NULL, OPT_TOOLBOX},
      {"env", no_argument, NULL, OPT_ENV},
      {"workdir", required_argument, NULL, 'w'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  static const int excl[EXCL_ROWS][EXCL_COLS] = {
      {'t', OPT_PID, 0}, /* one target */
  };
  int excl_st[EXCL_ROWS] = {0};
  static const char *const names[] = {[0] = "--target and --pid"};

  struct enter_opts o = {0};
  cb_error_t err = NULL;
  int c;
  while ((c = cb_getopt_long(argc, argv, "+t:muinpUCw:h", longopts, NULL)) != -1) {
    int row = excl_check(excl, excl_st, c);
    if (row >= 0) {
      fprintf(stderr, "Error: %s are mutually exclusive\nSee 'crowbar enter --help'.\n",
              names[row]);
      return 125;
    }
    switch (c) {
    case 't':
    case OPT_PID: {
      int pid;
      if (cb_parse_int(optarg, &pid) < 0 || pid <= 0) {
        fprintf(stderr, "Error: invalid PID '%s'\nSee 'crowbar enter --help'.\n", optarg);
        return 125;
      }
      o.pid = pid;
      break;
    }
    case 'm': o.ns |= CB_NS_MNT; break;
    case 'u': o.ns |= CB_NS_UTS; break;
    case 'i': o.ns |= CB_NS_IPC; break;
    case 'n': o.ns |= CB_NS_NET; break;
    case 'p': o.ns |= CB_NS_PID; break;
    case 'U': o.ns |= CB_NS_USER; break;
    case 'C': o.ns |= CB_NS_CGROUP; break;
    case OPT_CGROUP: o.join_cgroup = true; break;
    case OPT_TOOLBOX:
      o.toolbox = true;
      o.toolbox_path = optarg;
      break;
    case OPT_ENV: o.take_env = true; break;
    case 'w': o.workdir = optarg; break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: fputs("See 'crowbar enter --help'.\n", stderr); return 125;
    }
  }
  if (!o.pid) {
    if (optind >= argc) {
      fputs("Error: \"crowbar enter\" requires a container or --pid PID.\n"
            "See 'crowbar enter --help'.\n",
            stderr);
      return 125;
    }
    o.container = argv[optind++];
  }
  o.argv = argv + optind;

  struct cb_ctx ctx = {0};
  if (cb_require_root(&err) < 0 || (o.container && cb_ctx_init(&ctx, argv[0], 0, &err) < 0)) {
    cb_error_print(&err);
    return 125;
  }
  int code = 0, ret;
  bool entered = false;
  if (enter_run(&ctx, &o, &code, &entered, &err) < 0) {
    ret = err->exit_code ? err->exit_code : 125;
    cb_error_print(&err);
  } else {
    ret = code;
  }
  if (o.container)
    cb_ctx_release(&ctx);
  /* In the target's mount namespace, /proc does not list us: LeakSanitizer (SANITIZE=)
   * cannot stop the world from there and spins at exit. Everything is freed: leave
   * directly. */
  if (entered) {
    fflush(NULL);
    _exit(ret);
  }
  return ret;
}

int main(int argc, char **argv) {
  return cmd_enter(argc, argv);
}
