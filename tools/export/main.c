/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crowbar export: the container's whole filesystem as it sees it, as a tar stream, like
 * `docker export`. The root comes from rootfs.h (running, paused or stopped alike), the
 * stream from archive.h's tree writer. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/archive.h"
#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/outfile.h"
#include "crowbar/rootfs.h"
#include "crowbar/util.h"
#include "crowbar/verb.h"

CB_VERB(export, "Export a container's filesystem as a tar archive");

static void usage(FILE *out) {
  fputs("Usage: crowbar export [OPTIONS] CONTAINER\n\n"
        "Write the container's whole filesystem, as the container sees it, as a tar\n"
        "archive to stdout (or a file); running, paused or stopped.\n\n"
        "Options:\n"
        "  -o, --output FILE   write to FILE instead of stdout: a regular file is made\n"
        "                      whole or not at all, a device, FIFO or socket written into\n"
        "  -h, --help          show this help\n\n"
        "See crowbar-export(1).\n",
        out);
}

/* ---- the output file (outfile.h): a temporary one removed on any failure, signals
 * included ---------------------------------------------------------------------------- */

static char tmp_path[PATH_MAX];

static void on_signal(int sig) {
  if (tmp_path[0])
    unlink(tmp_path);
  signal(sig, SIG_DFL);
  raise(sig);
}

static int open_output(struct cb_outfile *o, const char *path, cb_error_t *err) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    signal(sigs[i], on_signal);
  if (cb_outfile_open(o, path, err) < 0)
    return -1;
  if (o->tmp && snprintf(tmp_path, sizeof tmp_path, "%s", o->tmp) >= (int)sizeof tmp_path) {
    cb_outfile_abort(o);
    tmp_path[0] = '\0';
    return cb_error_make(err, ENAMETOOLONG, "open %s", path);
  }
  return o->fd;
}

static int finish_output(struct cb_outfile *o, bool ok, cb_error_t *err) {
  int rc = 0;
  if (ok)
    rc = cb_outfile_commit(o, err);
  else
    cb_outfile_abort(o);
  tmp_path[0] = '\0';
  return ok ? rc : -1;
}

/* ---- progress on a terminal ------------------------------------------------------------- */

struct progress {
  int64_t start, last;
  bool shown;
};

static void show_progress(const struct cb_tar_stats *s, void *arg) {
  struct progress *p = arg;
  int64_t now = cb_monotonic_ns();
  /* Only a dump that takes a while gets a progress line, refreshed five times a second. */
  if (now - p->start < 1000000000LL || now - p->last < 200000000LL)
    return;
  p->last = now;
  p->shown = true;
  double secs = (double)(now - p->start) / 1e9;
  fprintf(stderr, "\rExporting: %llu files, %.1f MB (%.1f MB/s)\033[K",
          (unsigned long long)s->entries, (double)s->written / 1e6,
          (double)s->written / 1e6 / secs);
}

static int export(const struct cb_ctx *ctx, const char *ref, int out, bool progress,
                  cb_error_t *err) {
  cleanup_container struct cb_container *c = NULL;
  if (cb_container_locate(ctx, ref, &c, err) < 0)
    return -1;
  cleanup_rootfs struct cb_rootfs r = CB_ROOTFS_INIT;
  if (cb_rootfs_open(ctx, c, CB_ROOTFS_LAYERS, &r, err) < 0)
    return -1;
  struct progress p = {.start = cb_monotonic_ns()};
  struct cb_tar_write w = {
      .progress = progress ? show_progress : NULL,
      .progress_arg = &p,
  };
  int rc = r.kind == CB_ROOTFS_UNION ? cb_archive_write_union(r.layers, r.nlayers, out, &w, err)
                                     : cb_archive_write_tree(r.fd, "", out, &w, err);
  if (p.shown)
    fputs("\r\033[K", stderr);
  return rc;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *output = NULL;
  int c;
  opterr = 0;
  while ((c = cb_getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'o': output = optarg; break;
    case 'h': usage(stdout); return cb_close_stdout() < 0 ? 1 : 0;
    default: return cb_opt_error("export", argv, c);
    }
  }
  if (argc - optind != 1) {
    fprintf(stderr, "Error: \"crowbar export\" requires exactly 1 argument.\n"
                    "See 'crowbar export --help'.\n");
    return 1;
  }
  if (!output && isatty(STDOUT_FILENO)) {
    fprintf(stderr, "Error: cowardly refusing to save to a terminal. Use the -o flag or "
                    "redirect\n");
    return 1;
  }
  cb_error_t err = NULL;
  struct cb_ctx ctx;
  if (cb_require_root(&err) < 0 || cb_ctx_init(&ctx, argv[0], 0, &err) < 0) {
    cb_error_print(&err);
    return 1;
  }
  cb_ignore_sigpipe();
  int ret = 0;
  int out = STDOUT_FILENO;
  struct cb_outfile of = CB_OUTFILE_INIT;
  if (output && (out = open_output(&of, output, &err)) < 0) {
    cb_error_print(&err);
    cb_ctx_release(&ctx);
    return 1;
  }
  bool progress = isatty(STDERR_FILENO);
  int rc = export(&ctx, argv[optind], out, progress, &err);
  if (output) {
    cb_error_t e2 = NULL;
    if (finish_output(&of, rc == 0, rc == 0 ? &err : &e2) < 0)
      rc = -1;
    cb_error_release(&e2);
  }
  if (rc < 0) {
    cb_error_print(&err);
    ret = 1;
  }
  cb_ctx_release(&ctx);
  if (cb_close_stdout() < 0)
    ret = 1;
  return ret;
}
