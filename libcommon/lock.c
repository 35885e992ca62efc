/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/lock.h"
#include "crowbar/util.h"

static int do_lock(const struct cb_ctx *ctx, const char *name, int exclusive, int nb,
                   cb_error_t *err) {
  cleanup_free char *path = cb_ctx_runpath(ctx, "locks/%s.lock", name);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 && errno == ENOENT) {
    cleanup_free char *dir = cb_ctx_runpath(ctx, "locks");
    if (cb_mkdir_p(dir, 0700, err) < 0)
      return -1;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  }
  if (fd < 0)
    return cb_error_sys(err, "open lock `%s`", path);
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (nb ? LOCK_NB : 0);
  while (flock(fd, op) < 0) {
    if (errno == EINTR)
      continue;
    int e = errno;
    close(fd);
    errno = e;
    return cb_error_sys(err, "lock `%s`", name);
  }
  return fd;
}

int cb_lock(const struct cb_ctx *ctx, const char *name, int exclusive, cb_error_t *err) {
  return do_lock(ctx, name, exclusive, 0, err);
}

int cb_trylock(const struct cb_ctx *ctx, const char *name, int exclusive, cb_error_t *err) {
  return do_lock(ctx, name, exclusive, 1, err);
}
