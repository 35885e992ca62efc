/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar: the dispatcher. Parses the global options by hand, then executes the program
 * for the verb (crowbar-VERB) and passes its exit status through, as git does for its
 * dashed externals. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/context.h"
#include "crowbar/error.h"
#include "crowbar/util.h"

struct verb_info {
  const char *name, *summary;
  int engine;
};

#define CB_ENGINE_VERB(n, s) {#n, s, 1},
#define CB_TOOL_VERB(n, s) {#n, s, 0},
static const struct verb_info verbs[] = {
#include "verbs.h"
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

static void usage(FILE *out) {
  fputs("Usage: crowbar [--root DIR] [--runroot DIR] [--engine ENGINE] VERB [ARGS...]\n"
        "       crowbar --version | crowbar help [VERB] | crowbar VERB --help\n\n"
        "A debugging and forensics toolkit for Linux containers.\n\n"
        "Global options:\n"
        "      --root DIR       state folder (env CROWBAR_ROOT, default " CB_DEFAULT_ROOT ")\n"
        "      --runroot DIR    runtime folder (env CROWBAR_RUNROOT, default " CB_DEFAULT_RUNROOT
        ")\n"
        "      --engine ENGINE  crowbar|docker|containerd|auto (only crowbar is supported yet)\n"
        "  -h, --help           show this help\n"
        "  -v, --version        show the version\n",
        out);
  for (int engine = 1; engine >= 0; engine--) {
    fprintf(out, "\n%s:\n", engine ? "Engine verbs (images and containers)" : "Forensics tools");
    for (size_t i = 0; i < NVERBS; i++)
      if (verbs[i].engine == engine)
        fprintf(out, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
  }
  fputs("\nRun 'crowbar VERB --help' for a verb's options; see crowbar(1) and crowbar-VERB(1).\n",
        out);
}

static int run_verb(const char *verb, int argc, char **argv) {
  struct cb_ctx ctx;
  cb_error_t err = NULL;
  if (strchr(verb, '/') || verb[0] == '-' || !verb[0]) {
    fprintf(stderr, "Error: unknown verb '%s'\nRun 'crowbar --help' for the list of verbs.\n",
            verb);
    return 1;
  }
  if (cb_ctx_init(&ctx, argv[0], 0, &err) < 0) {
    cb_error_print(&err);
    return 125;
  }
  cleanup_free char *prog = xasprintf("crowbar-%s", verb);
  cleanup_free char *path = cb_ctx_find_program(&ctx, prog, &err);
  cb_ctx_release(&ctx);
  if (!path) {
    cb_error_release(&err);
    fprintf(stderr, "Error: unknown verb '%s'\nRun 'crowbar --help' for the list of verbs.\n",
            verb);
    return 1;
  }
  argv[0] = prog;
  execv(path, argv);
  fprintf(stderr, "Error: cannot run %s: %s\n", path, strerror(errno));
  return errno == ENOENT ? 127 : 126;
}

int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char *val = NULL;
    if (a[0] != '-')
      break;
    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return cb_close_stdout() < 0 ? 1 : 0;
    }
    if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
      printf("crowbar version %s\n", CROWBAR_VERSION);
      return cb_close_stdout() < 0 ? 1 : 0;
    }
    const char *opts[] = {"--root", "--runroot", "--engine"};
    size_t k;
    for (k = 0; k < 3; k++) {
      size_t l = strlen(opts[k]);
      if (!strncmp(a, opts[k], l) && (a[l] == '=' || a[l] == '\0')) {
        if (a[l] == '=')
          val = a + l + 1;
        else if (i + 1 < argc)
          val = argv[++i];
        else {
          fprintf(stderr, "Error: option %s needs a value\n", opts[k]);
          return 1;
        }
        break;
      }
    }
    if (k == 3) {
      fprintf(stderr, "Error: unknown option '%s'\nRun 'crowbar --help' for usage.\n", a);
      return 1;
    }
    if (!*val) {
      fprintf(stderr, "Error: option %s needs a value\n", opts[k]);
      return 1;
    }
    if (k == 0)
      setenv("CROWBAR_ROOT", val, 1);
    else if (k == 1)
      setenv("CROWBAR_RUNROOT", val, 1);
    else if (strcmp(val, "crowbar") && strcmp(val, "auto")) {
      if (!strcmp(val, "docker") || !strcmp(val, "containerd"))
        fprintf(stderr, "Error: the %s engine is not supported yet; use --engine crowbar\n", val);
      else
        fprintf(stderr, "Error: unknown engine '%s' (crowbar, docker, containerd or auto)\n", val);
      return 1;
    }
  }
  if (i >= argc) {
    usage(stderr);
    return 1;
  }
  if (!strcmp(argv[i], "help")) {
    if (i + 1 >= argc) {
      usage(stdout);
      return cb_close_stdout() < 0 ? 1 : 0;
    }
    char *hargv[] = {argv[i + 1], "--help", NULL};
    return run_verb(argv[i + 1], 2, hargv);
  }
  return run_verb(argv[i], argc - i, argv + i);
}
