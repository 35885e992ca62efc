/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crowbar/tty.h"
#include "crowbar/verb.h"
#include "engine.h"
#include "exec.h"

CB_VERB(exec, "Run a command in a running container");

static void usage(FILE *out) {
  fputs("Usage: crowbar exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
        "Run a command in a running container: in all its namespaces and its cgroup, as its\n"
        "user, with its capabilities and its environment.\n\n"
        "Options:\n"
        "  -d, --detach               run the command in the background\n"
        "  -i, --interactive          keep stdin open and pass it to the command\n"
        "  -t, --tty                  allocate a pseudo-terminal (from the container's own\n"
        "                             /dev/pts)\n"
        "  -e, --env KEY=VALUE        set an environment variable (KEY alone: take ours)\n"
        "      --env-file FILE        read environment variables from FILE\n"
        "  -u, --user USER[:GROUP]    user name or UID (and group) to run as\n"
        "  -w, --workdir DIR          working directory inside the container\n"
        "      --help                 show this help\n\n"
        "Exit status: the command's own; 125 when crowbar failed, 126 when the command\n"
        "cannot be invoked, 127 when it is not found.\n\n"
        "See crowbar-exec(1).\n",
        out);
}

static void add_env(char ***env, const char *kv) {
  if (strchr(kv, '=')) {
    cb_strv_append(env, kv);
  } else if (getenv(kv)) {
    char *s = xasprintf("%s=%s", kv, getenv(kv));
    cb_strv_append(env, s);
    free(s);
  }
}

int cmd_exec(int argc, char **argv) {
  enum { OPT_ENV_FILE = CHAR_MAX + 1 };
  static const struct option longopts[] = {
      {"detach", no_argument, NULL, 'd'},
      {"interactive", no_argument, NULL, 'i'},
      {"tty", no_argument, NULL, 't'},
      {"env", required_argument, NULL, 'e'},
      {"env-file", required_argument, NULL, OPT_ENV_FILE},
      {"user", required_argument, NULL, 'u'},
      {"workdir", required_argument, NULL, 'w'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct exec_opts o = {0};
  cb_error_t err = NULL;
  int c, ret = 125;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, "+:dite:u:w:", longopts, NULL)) != -1) {
    switch (c) {
    case 'd': o.detach = true; break;
    case 'i': o.interactive = true; break;
    case 't': o.tty = true; break;
    case 'e': add_env(&o.env, optarg); break;
    case OPT_ENV_FILE: {
      char *text = NULL;
      if (cb_read_file(optarg, &text, NULL, &err) < 0) {
        cb_error_wrap(&err, "--env-file");
        cb_error_print(&err);
        goto out;
      }
      char *save = NULL;
      for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        /* As run reads it: blanks before, a \r after, comments and empty lines. */
        l += strspn(l, " \t");
        size_t ll = strlen(l);
        if (ll && l[ll - 1] == '\r')
          l[--ll] = '\0';
        if (*l && *l != '#')
          add_env(&o.env, l);
      }
      free(text);
      break;
    }
    case 'u':
      free(o.user);
      o.user = xstrdup(optarg);
      break;
    case 'w':
      if (optarg[0] != '/') {
        fprintf(stderr,
                "Error: the working directory '%s' is invalid, it needs to be an "
                "absolute path\n",
                optarg);
        goto out;
      }
      free(o.workdir);
      o.workdir = xstrdup(optarg);
      break;
    case 'h':
      usage(stdout);
      ret = cb_close_stdout() < 0 ? 1 : 0;
      goto out;
    default: cb_opt_error("exec", argv, c); goto out;
    }
  }
  if (argc - optind < 2) {
    fputs("Error: \"crowbar exec\" requires at least 2 arguments.\nSee 'crowbar exec --help'.\n",
          stderr);
    goto out;
  }
  if (o.tty && o.interactive && !o.detach && !isatty(0)) {
    fputs("Error: the input device is not a TTY\n", stderr);
    ret = 1;
    goto out;
  }
  o.container = argv[optind];
  o.argv = cb_strv_dup(argv + optind + 1);
  struct cb_ctx ctx;
  if (engine_ctx(&ctx, argv[0], &err) < 0) {
    cb_error_print(&err);
    goto out;
  }
  if (o.tty && o.interactive && !o.detach && cb_tty_raw(0, &err) < 0) {
    cb_error_print(&err);
    cb_ctx_release(&ctx);
    goto out;
  }
  int code = 0;
  if (container_exec(&ctx, &o, &code, &err) < 0) {
    cb_tty_restore();
    ret = err->exit_code ? err->exit_code : 125;
    cb_error_print(&err);
  } else {
    cb_tty_restore();
    ret = code;
  }
  cb_ctx_release(&ctx);
out:
  exec_opts_free(&o);
  return ret;
}
