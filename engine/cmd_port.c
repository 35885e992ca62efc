/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar port: a container's published ports, as `docker port` prints them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/json.h"
#include "crowbar/ports.h"
#include "crowbar/verb.h"

CB_VERB(port, "List port mappings or a specific mapping for the container");

static void usage(FILE *out) {
  fputs("Usage: crowbar port CONTAINER [PRIVATE_PORT[/PROTO]]\n\n"
        "List the published ports of a running container, or the host addresses of one\n"
        "of its ports (PROTO: tcp, the default, or udp).\n\n"
        "Options:\n"
        "  -h, --help   show this help\n\n"
        "See crowbar-port(1).\n",
        out);
}

static int cmp_lines(const void *a, const void *b) {
  return cb_natural_cmp(*(const char *const *)a, *(const char *const *)b);
}

static int port(const char *argv0, const char *ref, const char *want, cb_error_t *err) {
  struct cb_ctx ctx;
  if (cb_require_root(err) < 0 || cb_ctx_init(&ctx, argv0, 0, err) < 0)
    return -1;
  cleanup_container struct cb_container *c = NULL;
  int rc = cb_container_locate(&ctx, ref, &c, err);
  cb_ctx_release(&ctx);
  if (rc < 0)
    return -1;
  /* A stopped container publishes nothing (Docker forgets its ports at the stop). */
  json_object *ports =
      cb_container_is_running(c) ? cb_json_get(c->json, "NetworkSettings.Ports") : NULL;
  char **lines = NULL;
  size_t n = 0;
  if (want) {
    char key[32];
    const char *slash = strchr(want, '/');
    size_t pl = slash ? (size_t)(slash - want) : strlen(want);
    long num;
    char pnum[16];
    snprintf(pnum, sizeof pnum, "%.*s", (int)(pl < sizeof pnum ? pl : sizeof pnum - 1), want);
    if (pl >= sizeof pnum || cb_parse_long(pnum, &num) < 0 || num < 0 || num > 65535)
      return cb_error_make(err, 0, "invalid port (%.*s)", (int)pl, want);
    snprintf(key, sizeof key, "%ld/%s", num, slash && slash[1] ? slash + 1 : "tcp");
    json_object *arr = ports ? json_object_object_get(ports, key) : NULL;
    size_t nb =
        arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    if (!nb)
      return cb_error_make(err, 0, "No public port '%s' published for %s", want, ref);
    lines = xcalloc(nb, sizeof *lines);
    for (size_t i = 0; i < nb; i++) {
      json_object *b = json_object_array_get_idx(arr, i);
      lines[n++] =
          cb_join_host_port(cb_json_get_str(b, "HostIp", ""), cb_json_get_str(b, "HostPort", ""));
    }
  } else if (ports && json_object_is_type(ports, json_type_object)) {
    json_object_object_foreach(ports, k, arr) {
      size_t nb =
          arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
      for (size_t i = 0; i < nb; i++) {
        json_object *b = json_object_array_get_idx(arr, i);
        cleanup_free char *hp =
            cb_join_host_port(cb_json_get_str(b, "HostIp", ""), cb_json_get_str(b, "HostPort", ""));
        lines = xrealloc(lines, (n + 1) * sizeof *lines);
        lines[n++] = xasprintf("%s -> %s", k, hp);
      }
    }
  }
  if (n)
    qsort(lines, n, sizeof *lines, cmp_lines);
  for (size_t i = 0; i < n; i++) {
    printf("%s\n", lines[i]);
    free(lines[i]);
  }
  free(lines);
  return 0;
}

int cmd_port(int argc, char **argv) {
  static const struct option longopts[] = {
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("port", argv, c);
    }
  }
  if (argc - optind < 1 || argc - optind > 2) {
    fprintf(stderr, "Error: \"crowbar port\" requires at least 1 and at most 2 arguments.\n"
                    "See 'crowbar port --help'.\n");
    return 1;
  }
  cb_error_t err = NULL;
  int ret = 0;
  if (port(argv[0], argv[optind], optind + 1 < argc ? argv[optind + 1] : NULL, &err) < 0) {
    cb_error_print(&err);
    ret = 1;
  }
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
