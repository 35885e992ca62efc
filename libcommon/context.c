/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/context.h"
#include "crowbar/util.h"

#ifndef LIBEXECDIR
#define LIBEXECDIR "/usr/local/libexec/crowbar"
#endif

static char *absolute(const char *p) {
  if (p[0] == '/')
    return xstrdup(p);
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd))
    return xstrdup(p);
  return xasprintf("%s/%s", cwd, p);
}

int cb_ctx_init(struct cb_ctx *ctx, const char *argv0, int create, cb_error_t *err) {
  memset(ctx, 0, sizeof *ctx);
  const char *r = getenv("CROWBAR_ROOT");
  const char *rr = getenv("CROWBAR_RUNROOT");
  ctx->root = absolute(r && *r ? r : CB_DEFAULT_ROOT);
  ctx->runroot = absolute(rr && *rr ? rr : CB_DEFAULT_RUNROOT);
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
      *slash = '\0';
    ctx->exec_dir = xstrdup(self);
  } else if (argv0 && strchr(argv0, '/')) {
    cleanup_free char *a = absolute(argv0);
    *strrchr(a, '/') = '\0';
    ctx->exec_dir = xstrdup(a);
  }
  if (create) {
    static const char *const sub[] = {"images", "layers", "containers", "names", "tmp"};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
      cleanup_free char *p = cb_ctx_path(ctx, "%s", sub[i]);
      if (cb_mkdir_p(p, 0700, err) < 0)
        return -1;
    }
    cleanup_free char *locks = cb_ctx_runpath(ctx, "locks");
    if (cb_mkdir_p(locks, 0700, err) < 0)
      return -1;
  }
  return 0;
}

void cb_ctx_release(struct cb_ctx *ctx) {
  free(ctx->root);
  free(ctx->runroot);
  free(ctx->exec_dir);
  memset(ctx, 0, sizeof *ctx);
}

static char *join(const char *base, const char *fmt, va_list ap) {
  char *tail;
  if (vasprintf(&tail, fmt, ap) < 0)
    oom();
  char *r = xasprintf("%s/%s", base, tail);
  free(tail);
  return r;
}

char *cb_ctx_path(const struct cb_ctx *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *r = join(ctx->root, fmt, ap);
  va_end(ap);
  return r;
}

char *cb_ctx_runpath(const struct cb_ctx *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *r = join(ctx->runroot, fmt, ap);
  va_end(ap);
  return r;
}

char *cb_ctx_find_program(const struct cb_ctx *ctx, const char *name, cb_error_t *err) {
  if (ctx->exec_dir) {
    char *p = xasprintf("%s/%s", ctx->exec_dir, name);
    if (access(p, X_OK) == 0)
      return p;
    free(p);
  }
  const char *ep = getenv("CROWBAR_EXEC_PATH");
  if (ep && *ep) {
    cleanup_free char *copy = xstrdup(ep);
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
      char *p = xasprintf("%s/%s", d, name);
      if (access(p, X_OK) == 0)
        return p;
      free(p);
    }
  }
  /* Installed: bin/crowbar finds its programs in ../libexec/crowbar wherever the tree was
   * installed (relocatable, like git's runtime prefix), then in the configured folder. */
  if (ctx->exec_dir) {
    char *p = xasprintf("%s/../libexec/crowbar/%s", ctx->exec_dir, name);
    if (access(p, X_OK) == 0)
      return p;
    free(p);
  }
  char *p = xasprintf("%s/%s", LIBEXECDIR, name);
  if (access(p, X_OK) == 0)
    return p;
  free(p);
  cb_error_make(err, 0,
                "cannot find the program `%s` (looked next to this program, in "
                "$CROWBAR_EXEC_PATH and in %s)",
                name, LIBEXECDIR);
  return NULL;
}

int cb_require_root(cb_error_t *err) {
  if (geteuid() != 0)
    return cb_error_make(err, 0, "crowbar needs root privileges (run it as root or with sudo)");
  return 0;
}
