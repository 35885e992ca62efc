/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cleanup attributes and explicit hand-off (after crun's utils.h and bubblewrap). */
#ifndef CROWBAR_CLEANUP_H
#define CROWBAR_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cb_freep(void *p) {
  free(*(void **)p);
}
static inline void cb_closep(int *fd) {
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}
static inline void cb_fclosep(FILE **f) {
  if (*f) {
    int saved = errno;
    fclose(*f);
    errno = saved;
  }
}
static inline void cb_closedirp(DIR **d) {
  if (*d) {
    int saved = errno;
    closedir(*d);
    errno = saved;
  }
}
static inline void cb_strvfreep(char ***v) {
  if (*v) {
    for (char **p = *v; *p; p++)
      free(*p);
    free(*v);
  }
}

#define cleanup_free __attribute__((cleanup(cb_freep)))
#define cleanup_close __attribute__((cleanup(cb_closep)))
#define cleanup_file __attribute__((cleanup(cb_fclosep)))
#define cleanup_dir __attribute__((cleanup(cb_closedirp)))
#define cleanup_strv __attribute__((cleanup(cb_strvfreep)))

static inline void *cb_steal_pointer(void *pp) {
  void **p = (void **)pp;
  void *r = *p;
  *p = NULL;
  return r;
}
#define steal_pointer(pp) ((__typeof__(*(pp)))cb_steal_pointer(pp))

static inline int steal_fd(int *fd) {
  int r = *fd;
  *fd = -1;
  return r;
}

#endif
