/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crowbar/attach.h"
#include "crowbar/cleanup.h"
#include "crowbar/json.h"
#include "crowbar/verb.h"
#include "engine.h"

CB_VERB(attach, "Attach local standard input, output, and error to a running container");

static void usage(FILE *out) {
  fputs("Usage: crowbar attach [OPTIONS] CONTAINER\n\n"
        "Attach our terminal (or stdio) to a running container's main process: see its\n"
        "output, type into it (when it was started with -i), and detach with the detach\n"
        "keys (ctrl-p ctrl-q by default, on a terminal) leaving it running.\n\n"
        "Options:\n"
        "      --detach-keys KEYS     key sequence that detaches (e.g. ctrl-a,d)\n"
        "      --no-stdin             do not attach stdin\n"
        "      --sig-proxy=false      let signals (e.g. SIGINT) end this command instead of\n"
        "                             passing them to the container's PID 1 (the default)\n"
        "      --help                 show this help\n\n"
        "Exit status: the container's when it exits while attached; 0 after detaching.\n\n"
        "See crowbar-attach(1).\n",
        out);
}

int cmd_attach(int argc, char **argv) {
  enum { OPT_DETACH_KEYS = CHAR_MAX + 1, OPT_NO_STDIN, OPT_SIG_PROXY };
  static const struct option longopts[] = {
      {"detach-keys", required_argument, NULL, OPT_DETACH_KEYS},
      {"no-stdin", no_argument, NULL, OPT_NO_STDIN},
      {"sig-proxy", optional_argument, NULL, OPT_SIG_PROXY},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *keys = NULL;
  bool no_stdin = false, sig_proxy = true;
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
    switch (c) {
    case OPT_DETACH_KEYS: keys = optarg; break;
    case OPT_NO_STDIN: no_stdin = true; break;
    case OPT_SIG_PROXY:
      if (!optarg || !strcmp(optarg, "true"))
        sig_proxy = true;
      else if (!strcmp(optarg, "false"))
        sig_proxy = false;
      else {
        fprintf(stderr,
                "Error: invalid argument \"%s\" for \"--sig-proxy\" flag: use true "
                "or false\n",
                optarg);
        return 125;
      }
      break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("attach", argv, c);
    }
  }
  if (argc - optind != 1) {
    fputs("Error: \"crowbar attach\" requires exactly 1 argument.\nSee 'crowbar attach "
          "--help'.\n",
          stderr);
    return 1;
  }
  struct cb_ctx ctx;
  cb_error_t err = NULL;
  cleanup_container struct cb_container *ct = NULL;
  if (engine_ctx(&ctx, argv[0], &err) < 0 ||
      cb_container_locate(&ctx, argv[optind], &ct, &err) < 0) {
    cb_error_print(&err);
    return 1;
  }
  if (!cb_container_is_running(ct)) {
    fputs("Error: You cannot attach to a stopped container, start it first\n", stderr);
    return 1;
  }
  if (ct->state.status == CB_STATUS_PAUSED) {
    fputs("Error: You cannot attach to a paused container, unpause it first\n", stderr);
    return 1;
  }
  bool tty = cb_json_get_bool(ct->json, "Config.Tty", false);
  bool with_stdin = !no_stdin && cb_json_get_bool(ct->json, "Config.OpenStdin", false);
  if (tty && with_stdin && !isatty(0)) {
    fputs("Error: the input device is not a TTY\n", stderr);
    return 1;
  }
  cleanup_free char *sockpath = cb_ctx_runpath(&ctx, "%s/attach.sock", ct->id);
  cleanup_close int sock = cb_attach_connect(sockpath, &err);
  int code = 0;
  struct attach_session as = {
      .tty = tty, .stdin_ = with_stdin, .detach_keys = keys, .no_sig_proxy = !sig_proxy};
  if (sock < 0 || attach_send_fds(sock, with_stdin, &err) < 0 ||
      attach_session(sock, &as, &code, &err) < 0) {
    cb_error_print(&err);
    return 1;
  }
  cb_ctx_release(&ctx);
  return code;
}
