/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <unistd.h>

#include "crowbar/ports.h"
#include "crowbar/verb.h"
#include "engine.h"

CB_VERB(run, "Create and run a new container from an image");

int cmd_run(int argc, char **argv) {
  struct create_opts o;
  struct cb_ctx ctx = {0};
  cb_error_t err = NULL;
  int r = create_opts_parse(argc, argv, true, &o, &err);
  if (r != 0) {
    create_opts_free(&o);
    if (r > 0)
      return cb_close_stdout() < 0 ? 1 : 0;
    cb_error_print(&err);
    return 125;
  }
  if (o.tty && o.interactive && !o.detach && !isatty(0)) {
    fputs("Error: the input device is not a TTY\n", stderr);
    create_opts_free(&o);
    return 1;
  }
  struct cb_container *c = NULL;
  /* The published ports are bound by create, before the container exists. */
  struct cb_port_socks socks = {0};
  if (engine_ctx(&ctx, argv[0], &err) < 0 || container_create(&ctx, &o, &socks, &c, &err) < 0) {
    cb_error_print(&err);
    cb_port_socks_close(&socks);
    create_opts_free(&o);
    cb_ctx_release(&ctx);
    return 125;
  }
  struct start_opts so = {.attach = !o.detach,
                          .stdin_ = o.interactive && !o.detach,
                          .tty = o.tty,
                          .detach_keys = o.detach_keys,
                          .socks = &socks};
  int code = 0;
  if (container_start(&ctx, c->id, &so, &code, &err) < 0) {
    code = err->exit_code ? err->exit_code : 125;
    cb_error_print(&err);
  } else if (o.detach) {
    printf("%s\n", c->id);
    if (cb_close_stdout() < 0)
      code = 125;
  }
  cb_port_socks_close(&socks);
  cb_container_free(c);
  create_opts_free(&o);
  cb_ctx_release(&ctx);
  return code;
}
