/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tree sizes (du.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/dirlist.h"
#include "crowbar/du.h"
#include "crowbar/image.h"
#include "crowbar/json.h"
#include "crowbar/stack.h"
#include "crowbar/util.h"

struct inode {
  dev_t dev;
  ino_t ino;
};

static int inode_cmp(const void *a, const void *b) {
  const struct inode *x = a, *y = b;
  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  return x->ino < y->ino ? -1 : x->ino > y->ino;
}

struct walk {
  void *seen; /* tsearch tree of the inodes with several links */
  int64_t total;
  cb_error_t *err;
};

static int walk_dir(struct walk *w, int fd, int depth) {
  if (depth > 4096)
    return cb_error_make(w->err, ELOOP, "folders nested too deep");
  struct cb_dirent *ents = NULL;
  char *names = NULL;
  size_t n = 0;
  if (cb_dir_read(fd, false, &ents, &n, &names, w->err) < 0)
    return -1;
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++) {
    struct stat st;
    if (fstatat(fd, ents[i].name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT)
        continue; /* gone meanwhile (a running container) */
      r = cb_error_sys(w->err, "stat `%s`", ents[i].name);
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      int sub = openat(fd, ents[i].name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) {
        if (errno == ENOENT)
          continue;
        r = cb_error_sys(w->err, "open `%s`", ents[i].name);
        break;
      }
      r = walk_dir(w, sub, depth + 1);
      close(sub);
      continue;
    }
    if (st.st_nlink > 1) {
      struct inode *k = xmalloc(sizeof *k);
      k->dev = st.st_dev;
      k->ino = st.st_ino;
      struct inode **found = tsearch(k, &w->seen, inode_cmp);
      if (!found)
        abort();
      if (*found != k) {
        free(k);
        continue;
      }
    }
    w->total += st.st_size;
  }
  free(ents);
  free(names);
  return r;
}

int cb_tree_size(int dirfd, int64_t *total, cb_error_t *err) {
  struct walk w = {.err = err};
  int dup = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
  if (dup < 0)
    return cb_error_sys(err, "dup");
  int r = walk_dir(&w, dup, 0);
  close(dup);
  tdestroy(w.seen, free);
  if (r == 0)
    *total += w.total;
  return r;
}

static int path_size(const char *path, int64_t *total, cb_error_t *err) {
  cleanup_close int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : cb_error_sys(err, "open `%s`", path);
  return cb_tree_size(fd, total, err);
}

int cb_container_sizes(const struct cb_ctx *ctx, const struct cb_container *c, int64_t *rw,
                       int64_t *rootfs, cb_error_t *err) {
  int64_t size = 0;
  if (path_size(cb_json_get_str(c->json, "GraphDriver.Data.UpperDir", ""), &size, err) < 0)
    return -1;
  size_t own = cb_container_own_layers(c);
  cleanup_free char *lower = xstrdup(cb_json_get_str(c->json, "GraphDriver.Data.LowerDir", ""));
  char *save = NULL;
  size_t i = 0;
  for (char *d = strtok_r(lower, ":", &save); d && i < own; d = strtok_r(NULL, ":", &save), i++)
    if (path_size(d, &size, err) < 0)
      return -1;
  *rw = size;
  int64_t image = 0;
  struct cb_image *img = NULL;
  cb_error_t e2 = NULL;
  if (cb_image_locate(ctx, cb_json_get_str(c->json, "Image", ""), &img, &e2) == 0) {
    image = img->size;
    cb_image_free(img);
  } else {
    cb_error_release(&e2); /* the image is gone: its size is unknown */
  }
  *rootfs = size + image;
  return 0;
}
