/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Output files named by the user (see outfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/outfile.h"
#include "crowbar/util.h"

/* One of our descriptors on the socket st, duplicated; or a connection to path. */
static int open_socket(const char *path, const struct stat *st, cb_error_t *err) {
  for (int fd = 0; fd < 1024; fd++) {
    struct stat f;
    if (fstat(fd, &f) == 0 && S_ISSOCK(f.st_mode) && f.st_dev == st->st_dev &&
        f.st_ino == st->st_ino) {
      int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
      if (d < 0)
        return cb_error_sys(err, "open `%s`", path);
      return d;
    }
  }
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path)
    return cb_error_make(err, ENAMETOOLONG, "connect to `%s`", path);
  strcpy(sa.sun_path, path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0)
    return cb_error_sys(err, "socket");
  if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(s);
    errno = e;
    return cb_error_sys(err, "connect to `%s`", path);
  }
  return s;
}

int cb_outfile_open(struct cb_outfile *o, const char *path, cb_error_t *err) {
  *o = (struct cb_outfile)CB_OUTFILE_INIT;
  struct stat st;
  cleanup_free char *target = NULL;
  if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
      /* A link to a regular file: the file is replaced, the link stays. */
      target = realpath(path, NULL);
      if (!target)
        return cb_error_sys(err, "resolve `%s`", path);
    } else if (errno == ENOENT) {
      return cb_error_make(err, ENOENT, "`%s` is a dangling symlink", path);
    }
  }
  if (!target && stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return cb_error_make(err, EISDIR, "open `%s`", path);
    if (!S_ISREG(st.st_mode)) {
      o->fd = S_ISSOCK(st.st_mode) ? open_socket(path, &st, err)
                                   : open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
      if (o->fd < 0)
        return *err ? -1 : cb_error_sys(err, "open `%s`", path);
      return 0;
    }
  } else if (!target && errno != ENOENT) {
    return cb_error_sys(err, "stat `%s`", path);
  }
  /* A regular file or a new one: a temporary file beside it, renamed over it at the end. */
  o->target = target ? steal_pointer(&target) : xstrdup(path);
  const char *slash = strrchr(o->target, '/');
  const char *base = slash ? slash + 1 : o->target;
  o->tmp = slash ? xasprintf("%.*s/.%s.tmp-XXXXXX", (int)(slash - o->target), o->target, base)
                 : xasprintf(".%s.tmp-XXXXXX", base);
  o->fd = mkostemp(o->tmp, O_CLOEXEC);
  if (o->fd < 0) {
    int e = errno;
    free(o->tmp);
    o->tmp = NULL;
    errno = e;
    return cb_error_sys(err, "create a file next to `%s`", o->target);
  }
  /* The mode a plain create would give (mkostemp makes 0600). */
  mode_t um = umask(0);
  umask(um);
  if (fchmod(o->fd, 0666 & ~um) < 0) {
    int e = errno;
    cb_outfile_abort(o);
    errno = e;
    return cb_error_sys(err, "chmod `%s`", path);
  }
  return 0;
}

int cb_outfile_commit(struct cb_outfile *o, cb_error_t *err) {
  cleanup_free char *what = xstrdup(o->target ? o->target : "the output");
  const char *op = "write";
  int rc = 0;
  if (o->tmp && fsync(o->fd) < 0 && errno != EINVAL)
    rc = -1;
  int e = errno;
  int fd = steal_fd(&o->fd);
  if (fd >= 0 && close(fd) < 0 && errno != EINTR && rc == 0)
    rc = -1;
  else if (rc < 0)
    errno = e;
  if (rc == 0 && o->tmp && rename(o->tmp, o->target) < 0) {
    op = "rename the output to";
    rc = -1;
  }
  if (rc < 0) {
    e = errno;
    cb_outfile_abort(o);
    errno = e;
    return cb_error_sys(err, "%s `%s`", op, what);
  }
  free(o->tmp);
  free(o->target);
  *o = (struct cb_outfile)CB_OUTFILE_INIT;
  return 0;
}

void cb_outfile_abort(struct cb_outfile *o) {
  if (o->fd >= 0)
    close(o->fd);
  if (o->tmp)
    unlink(o->tmp);
  free(o->tmp);
  free(o->target);
  *o = (struct cb_outfile)CB_OUTFILE_INIT;
}
