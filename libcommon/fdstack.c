/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A walk's folders with a bounded number of descriptors open (see fdstack.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/fdstack.h"

void cb_fdstack_init(struct cb_fdstack *s, size_t max_open) {
  memset(s, 0, sizeof *s);
  if (!max_open) {
    /* A process may walk several trees at once (cp: the source and the destination) and
     * hold other files: an eighth of what it may open, at most the default. */
    max_open = CB_FDSTACK_MAX_OPEN;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur / 8 < max_open)
      max_open = rl.rlim_cur / 8 < 8 ? 8 : (size_t)(rl.rlim_cur / 8);
  }
  s->max_open = max_open;
  s->next_close = 1;
}

void cb_fdstack_release(struct cb_fdstack *s) {
  for (size_t i = 0; i < s->nslots; i++)
    if (s->fds[i] >= 0)
      close(s->fds[i]);
  free(s->fds);
  free(s->tags);
  free(s->dev);
  free(s->ino);
  free(s->frames);
  memset(s, 0, sizeof *s);
}

/* The slot of frame f with this tag, or -1. */
static long find_tag(const struct cb_fdstack *s, size_t f, int tag) {
  const struct cb_fdframe *fr = &s->frames[f];
  for (size_t i = fr->first; i < fr->first + fr->n; i++)
    if (s->tags[i] == tag)
      return (long)i;
  return -1;
}

/* Close what can be found again of frame f: the descriptors whose tag the frame below
 * it (f + 1) holds too. */
static void close_frame(struct cb_fdstack *s, size_t f) {
  const struct cb_fdframe *fr = &s->frames[f];
  if (fr->pinned)
    return;
  for (size_t i = fr->first; i < fr->first + fr->n; i++) {
    if (s->fds[i] < 0 || find_tag(s, f + 1, s->tags[i]) < 0)
      continue;
    struct stat st;
    if (fstat(s->fds[i], &st) < 0)
      continue; /* cannot say what it was: keep it */
    s->dev[i] = st.st_dev;
    s->ino[i] = st.st_ino;
    close(s->fds[i]);
    s->fds[i] = -1;
    s->open--;
  }
}

void cb_fdstack_push(struct cb_fdstack *s, const int *fds, const int *tags, size_t n) {
  if (s->depth == s->fcap) {
    s->fcap = s->fcap ? s->fcap * 2 : 64;
    s->frames = xrealloc(s->frames, s->fcap * sizeof *s->frames);
  }
  if (s->nslots + n > s->scap) {
    while (s->nslots + n > s->scap)
      s->scap = s->scap ? s->scap * 2 : 64;
    s->fds = xrealloc(s->fds, s->scap * sizeof *s->fds);
    s->tags = xrealloc(s->tags, s->scap * sizeof *s->tags);
    s->dev = xrealloc(s->dev, s->scap * sizeof *s->dev);
    s->ino = xrealloc(s->ino, s->scap * sizeof *s->ino);
  }
  s->frames[s->depth++] = (struct cb_fdframe){.first = s->nslots, .n = n};
  for (size_t i = 0; i < n; i++) {
    s->fds[s->nslots] = fds[i];
    s->tags[s->nslots] = tags ? tags[i] : 0;
    s->nslots++;
  }
  s->open += n;
  while (s->open > s->max_open && s->next_close + 2 < s->depth)
    close_frame(s, s->next_close++);
}

/* Open again the closed descriptors of frame f, from the frame below it (all open). */
static int reopen_frame(struct cb_fdstack *s, size_t f, cb_error_t *err) {
  const struct cb_fdframe *fr = &s->frames[f];
  for (size_t i = fr->first; i < fr->first + fr->n; i++) {
    if (s->fds[i] >= 0)
      continue;
    long c = find_tag(s, f + 1, s->tags[i]);
    int fd = c >= 0 && s->fds[c] >= 0
                 ? openat(s->fds[c], "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                 : -1;
    if (fd < 0 && c >= 0 && s->fds[c] >= 0 && errno != ENOENT)
      return cb_error_sys(err, "open a folder again");
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_dev != s->dev[i] || st.st_ino != s->ino[i]) {
      if (fd >= 0)
        close(fd);
      return cb_error_make(err, ESTALE, "a folder was moved while it was walked");
    }
    s->fds[i] = fd;
    s->open++;
  }
  return 0;
}

int cb_fdstack_pop(struct cb_fdstack *s, cb_error_t *err) {
  if (!s->depth)
    return 0;
  int rc = 0;
  if (s->depth >= 2)
    rc = reopen_frame(s, s->depth - 2, err);
  if (rc == 0 && s->depth >= 3)
    rc = reopen_frame(s, s->depth - 3, err);
  const struct cb_fdframe *top = &s->frames[s->depth - 1];
  for (size_t i = top->first; i < top->first + top->n; i++)
    if (s->fds[i] >= 0) {
      close(s->fds[i]);
      s->open--;
    }
  s->nslots = top->first;
  s->depth--;
  if (rc == 0) {
    /* The new top two are whole again: they may be closed later, from the top down. */
    size_t whole = s->depth >= 2 ? s->depth - 2 : 0;
    if (whole < 1)
      whole = 1;
    if (s->next_close > whole)
      s->next_close = whole;
  }
  return rc;
}

void cb_fdstack_pin(struct cb_fdstack *s) {
  if (s->depth)
    s->frames[s->depth - 1].pinned = true;
}

int *cb_fdstack_frame(struct cb_fdstack *s, size_t i, size_t *n) {
  *n = s->frames[i].n;
  return s->fds + s->frames[i].first;
}
