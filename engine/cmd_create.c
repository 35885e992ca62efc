/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>

#include "crowbar/verb.h"
#include "engine.h"

CB_VERB(create, "Create a new container from an image, without starting it");

int cmd_create(int argc, char **argv) {
  struct create_opts o;
  struct cb_ctx ctx = {0};
  cb_error_t err = NULL;
  int r = create_opts_parse(argc, argv, false, &o, &err);
  if (r != 0) {
    create_opts_free(&o);
    if (r > 0)
      return cb_close_stdout() < 0 ? 1 : 0;
    cb_error_print(&err);
    return 125;
  }
  struct cb_container *c = NULL;
  if (engine_ctx(&ctx, argv[0], &err) < 0 || container_create(&ctx, &o, NULL, &c, &err) < 0) {
    cb_error_print(&err);
    create_opts_free(&o);
    cb_ctx_release(&ctx);
    return 125;
  }
  printf("%s\n", c->id);
  cb_container_free(c);
  create_opts_free(&o);
  cb_ctx_release(&ctx);
  return cb_close_stdout() < 0 ? 125 : 0;
}
