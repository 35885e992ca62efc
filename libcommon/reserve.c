/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A container's exit survives a full disk: its monitor writes the exit into blocks it
 * reserved before the container ran, and when even that fails, leaves a note of it in the
 * runtime folder for the next verb to record (see container.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/container.h"

#define RESERVE ".state.json.reserve"

static bool disk_full(int e) {
  return e == ENOSPC || e == EDQUOT;
}

int cb_container_reserve(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err) {
  size_t len;
  cleanup_free char *text = cb_container_state_text(c, &len);
  /* The exit changes a few numbers; an Error it may add is short. */
  off_t size = (off_t)((2 * len + 16384 + 4095) & ~(size_t)4095);
  cleanup_free char *dir = cb_container_dir(ctx, c->id);
  cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return cb_error_sys(err, "open `%s`", dir);
  cleanup_close int fd = openat(dfd, RESERVE, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return cb_error_sys(err, "create `%s/%s`", dir, RESERVE);
  int r = posix_fallocate(fd, 0, size);
  if (r != 0) {
    unlinkat(dfd, RESERVE, 0);
    errno = r;
    return cb_error_sys(err, "%sreserve %jd bytes in `%s` for the container's exit record",
                        disk_full(r) ? "disk full: " : "", (intmax_t)size, dir);
  }
  return 0;
}

int cb_container_save_reserved(const struct cb_ctx *ctx, struct cb_container *c, cb_error_t *err) {
  if (c->damaged)
    return cb_container_save(ctx, c, err);
  cleanup_free char *dir = cb_container_dir(ctx, c->id);
  cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int fd = dfd < 0 ? -1 : openat(dfd, RESERVE, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return cb_container_save(ctx, c, err); /* no reserve (an older monitor): as ever */
  size_t len;
  cleanup_free char *text = cb_container_state_text(c, &len);
  /* Into the reserved blocks, in place; then a rename over state.json, which takes the
   * name's existing entry. The mtime is exact, as every record write's (listcache.c). */
  struct timespec times[2] = {{0, UTIME_OMIT}, {0, 0}};
  clock_gettime(CLOCK_REALTIME, &times[1]);
  size_t done = 0;
  while (done < len) {
    ssize_t w = pwrite(fd, text + done, len - done, (off_t)done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      goto fail;
    done += (size_t)w;
  }
  if (ftruncate(fd, (off_t)len) < 0 || futimens(fd, times) < 0 || fsync(fd) < 0 ||
      renameat(dfd, RESERVE, dfd, "state.json") < 0)
    goto fail;
  fsync(dfd);
  return 0;
fail:
  return cb_error_sys(err, "%swrite the exit of container %s into its reserve",
                      disk_full(errno) ? "disk full: " : "", c->id);
}

static char *note_path(const struct cb_ctx *ctx, const char *id) {
  return cb_ctx_runpath(ctx, "%s/exit", id);
}

int cb_container_note_exit(const struct cb_ctx *ctx, const struct cb_container *c, int why) {
  const struct cb_state *s = &c->state;
  char buf[160];
  int n = snprintf(buf, sizeof buf, "%d %" PRId64 " %" PRId64 " %d %d\n", s->exit_code,
                   s->started_ns, s->finished_ns, s->oom_killed ? 1 : 0, why);
  cleanup_free char *p = note_path(ctx, c->id);
  cb_error_t err = NULL;
  if (cb_write_file_atomic(p, buf, (size_t)n, 0600, &err) < 0) {
    int e = err->errno_;
    cb_error_release(&err);
    errno = e;
    return -1;
  }
  return 0;
}

bool cb_container_take_exit_note(const struct cb_ctx *ctx, struct cb_container *c) {
  cleanup_free char *p = note_path(ctx, c->id);
  cleanup_free char *text = NULL;
  cb_error_t err = NULL;
  if (cb_read_file(p, &text, NULL, &err) < 0) {
    cb_error_release(&err);
    return false;
  }
  int code, oom, why;
  int64_t started, finished;
  if (sscanf(text, "%d %" SCNd64 " %" SCNd64 " %d %d", &code, &started, &finished, &oom, &why) !=
          5 ||
      started != c->state.started_ns || code < 0 || code > 255)
    return false; /* not this run's */
  struct cb_state *s = &c->state;
  s->status = CB_STATUS_EXITED;
  s->exit_code = code;
  s->oom_killed = oom != 0;
  s->finished_ns = finished;
  s->pid = 0;
  free(s->error);
  s->error = xasprintf("the exit could not be recorded when it came (%s%s); it was recorded "
                       "later, from the note its monitor left",
                       disk_full(why) ? "disk full: " : "", strerror(why));
  return true;
}

void cb_container_drop_exit_note(const struct cb_ctx *ctx, const char *id) {
  cleanup_free char *p = note_path(ctx, id);
  unlink(p);
}
