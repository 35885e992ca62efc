/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The loop of the verbs that act on CONTAINER... (stop, restart, kill, rm, wait, pause,
 * unpause): as the docker CLI, each argument in turn, its name printed when it worked,
 * every error printed, and exit status 1 when any failed. */
#include <stdio.h>

#include "engine.h"

int engine_each(const char *verb, int argc, char **argv, int first, engine_action fn, void *data,
                unsigned flags) {
  if (first >= argc) {
    fprintf(stderr,
            "Error: \"crowbar %s\" requires at least 1 argument.\nSee 'crowbar %s "
            "--help'.\n",
            verb, verb);
    return 1;
  }
  struct cb_ctx ctx;
  cb_error_t err = NULL;
  if (engine_ctx(&ctx, argv[0], &err) < 0) {
    cb_error_print(&err);
    return 1;
  }
  int ret = 0;
  for (int i = first; i < argc; i++) {
    char id[CB_ID_LEN + 1];
    if (cb_container_resolve(&ctx, argv[i], id, &err) < 0) {
      /* rm -f: a container that is not there is said, not a failure (Docker's rule). */
      if (!(flags & ENGINE_EACH_MISSING_OK))
        ret = 1;
      cb_error_print(&err);
      continue;
    }
    if (fn(&ctx, id, argv[i], data, &err) < 0) {
      cb_error_print(&err);
      ret = 1;
      continue;
    }
    if (flags & ENGINE_EACH_PRINT) {
      printf("%s\n", argv[i]);
      fflush(stdout);
    }
  }
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
