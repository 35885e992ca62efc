/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Volumes: Docker's local driver, on $ROOT/volumes (volume.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/copy.h"
#include "crowbar/json.h"
#include "crowbar/lock.h"
#include "crowbar/ports.h"
#include "crowbar/volume.h"

int cb_volumes_lock(const struct cb_ctx *ctx, cb_error_t *err) {
  return cb_lock(ctx, "volumes", 1, err);
}

int cb_volume_name_check(const char *name, cb_error_t *err) {
  if (cb_name_valid(name))
    return 0;
  return cb_error_make(err, 0,
                       "create %s: \"%s\" includes invalid characters for a local volume name, "
                       "only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass "
                       "a host directory, use absolute path",
                       name, name);
}

static char *volume_dir(const struct cb_ctx *ctx, const char *name) {
  return cb_ctx_path(ctx, "volumes/%s", name);
}

char *cb_volume_data_path(const struct cb_ctx *ctx, const char *name) {
  return cb_ctx_path(ctx, "volumes/%s/_data", name);
}

bool cb_volume_exists(const struct cb_ctx *ctx, const char *name) {
  if (!cb_name_valid(name))
    return false;
  cleanup_free char *data = cb_volume_data_path(ctx, name);
  struct stat st;
  return stat(data, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Go's time.RFC3339 in local time: "2026-11-22T09:00:00+01:00", "...Z" in UTC. */
static void rfc3339_local(time_t t, char out[40]) {
  struct tm tm;
  localtime_r(&t, &tm);
  size_t n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
  long off = tm.tm_gmtoff;
  if (off == 0) {
    snprintf(out + n, 40 - n, "Z");
    return;
  }
  char sign = off < 0 ? '-' : '+';
  if (off < 0)
    off = -off;
  snprintf(out + n, 40 - n, "%c%02ld:%02ld", sign, off / 3600, (off / 60) % 60);
}

int cb_volume_ensure(const struct cb_ctx *ctx, const char *name, json_object *labels,
                     json_object *opts, bool *created, cb_error_t *err) {
  *created = false;
  if (cb_volume_name_check(name, err) < 0)
    return -1;
  if (cb_volume_exists(ctx, name))
    return 0;
  cleanup_free char *root = cb_ctx_path(ctx, "volumes");
  if (cb_mkdir_p(root, 0701, err) < 0)
    return -1;
  /* Made aside, then renamed into place: a volume appears whole or not at all. */
  char rnd[CB_ID_LEN + 1];
  if (cb_random_id(rnd, err) < 0)
    return -1;
  cleanup_free char *tmp = cb_ctx_path(ctx, "volumes/.tmp-%.16s", rnd);
  cleanup_free char *data = xasprintf("%s/_data", tmp);
  if (mkdir(tmp, 0755) < 0 || mkdir(data, 0755) < 0)
    return cb_error_sys(err, "create volume %s", name);
  cleanup_json json_object *rec = json_object_new_object();
  char when[40];
  rfc3339_local(time(NULL), when);
  cb_json_set_str(rec, "CreatedAt", when);
  json_object_object_add(rec, "Labels", labels ? json_object_get(labels) : NULL);
  json_object_object_add(rec, "Options", opts ? json_object_get(opts) : NULL);
  cleanup_free char *recpath = xasprintf("%s/volume.json", tmp);
  cleanup_free char *dir = volume_dir(ctx, name);
  int rc = cb_json_write_file(recpath, rec, err);
  if (rc == 0 && rename(tmp, dir) < 0) {
    /* A folder of an older crowbar, without its record: it is the volume. */
    if (errno != EEXIST && errno != ENOTEMPTY)
      rc = cb_error_sys(err, "create volume %s", name);
  } else if (rc == 0) {
    *created = true;
  }
  if (!*created) {
    cb_error_t e2 = NULL;
    if (cb_rm_rf(tmp, &e2) < 0)
      cb_error_release(&e2);
  }
  return rc;
}

int cb_volume_create_anonymous(const struct cb_ctx *ctx, char name[65], cb_error_t *err) {
  if (cb_random_id(name, err) < 0)
    return -1;
  bool created;
  return cb_volume_ensure(ctx, name, NULL, NULL, &created, err);
}

json_object *cb_volume_inspect(const struct cb_ctx *ctx, const char *name, cb_error_t *err) {
  cleanup_free char *dir = volume_dir(ctx, name);
  cleanup_free char *data = cb_volume_data_path(ctx, name);
  struct stat st;
  if (!cb_name_valid(name) || stat(data, &st) < 0) {
    cb_error_make(err, 0, "No such volume: %s", name);
    return NULL;
  }
  cleanup_free char *recpath = xasprintf("%s/volume.json", dir);
  cleanup_json json_object *rec = NULL;
  cb_error_t e2 = NULL;
  if (cb_json_read_file(recpath, &rec, &e2) < 0)
    cb_error_release(&e2);
  json_object *o = json_object_new_object();
  char when[40];
  rfc3339_local(st.st_ctime, when);
  cb_json_set_str(o, "CreatedAt", cb_json_get_str(rec, "CreatedAt", when));
  cb_json_set_str(o, "Driver", "local");
  json_object *labels = cb_json_get(rec, "Labels");
  json_object_object_add(o, "Labels", labels ? json_object_get(labels) : NULL);
  cb_json_set_str(o, "Mountpoint", data);
  cb_json_set_str(o, "Name", name);
  json_object *opts = cb_json_get(rec, "Options");
  json_object_object_add(o, "Options", opts ? json_object_get(opts) : NULL);
  cb_json_set_str(o, "Scope", "local");
  return o;
}

static int cmp_natural(const void *a, const void *b) {
  return cb_natural_cmp(*(const char *const *)a, *(const char *const *)b);
}

int cb_volume_list(const struct cb_ctx *ctx, char ***names, cb_error_t *err) {
  *names = xcalloc(1, sizeof **names);
  cleanup_free char *root = cb_ctx_path(ctx, "volumes");
  cleanup_dir DIR *d = opendir(root);
  if (!d)
    return errno == ENOENT ? 0 : cb_error_sys(err, "open `%s`", root);
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.' || !cb_name_valid(de->d_name))
      continue;
    char rel[NAME_MAX + 8];
    snprintf(rel, sizeof rel, "%s/_data", de->d_name);
    struct stat st;
    if (fstatat(dirfd(d), rel, &st, 0) == 0 && S_ISDIR(st.st_mode))
      cb_strv_append(names, de->d_name);
  }
  size_t n = cb_strv_len(*names);
  if (n)
    qsort(*names, n, sizeof **names, cmp_natural);
  return 0;
}

int cb_volume_users(const struct cb_ctx *ctx, const char *name, char ***ids, cb_error_t *err) {
  *ids = xcalloc(1, sizeof **ids);
  struct cb_container **v = NULL;
  size_t n = 0;
  if (cb_container_list(ctx, &v, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    json_object *mounts = cb_json_get(v[i]->json, "Mounts");
    size_t nm = mounts && json_object_is_type(mounts, json_type_array)
                    ? json_object_array_length(mounts)
                    : 0;
    for (size_t k = 0; k < nm; k++) {
      json_object *m = json_object_array_get_idx(mounts, k);
      if (!strcmp(cb_json_get_str(m, "Type", ""), "volume") &&
          !strcmp(cb_json_get_str(m, "Name", ""), name)) {
        cb_strv_append(ids, v[i]->id);
        break;
      }
    }
  }
  cb_container_list_free(v, n);
  return 0;
}

/* The bytes of what a folder holds (Docker's directory.Size: every non-folder's size).
 * A container fills its volumes: folders nested deeper than this are not counted. */
#define SIZE_DEPTH 256
static long long tree_size(int dirfd, int depth) {
  int fd = dup(dirfd);
  if (fd < 0)
    return 0;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return 0;
  }
  long long total = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    struct stat st;
    if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      if (depth >= SIZE_DEPTH)
        continue;
      int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0) {
        total += tree_size(sub, depth + 1);
        close(sub);
      }
    } else {
      total += st.st_size;
    }
  }
  closedir(d);
  return total;
}

int cb_volume_remove(const struct cb_ctx *ctx, const char *name, long long *bytes,
                     cb_error_t *err) {
  if (bytes)
    *bytes = 0;
  if (!cb_volume_exists(ctx, name))
    return cb_error_make(err, 0, "get %s: no such volume", name);
  cleanup_strv char **ids = NULL;
  if (cb_volume_users(ctx, name, &ids, err) < 0)
    return -1;
  if (ids[0]) {
    size_t len = 3;
    for (char **p = ids; *p; p++)
      len += strlen(*p) + 1;
    cleanup_free char *list = xcalloc(len, 1);
    strcat(list, "[");
    for (char **p = ids; *p; p++) {
      if (p != ids)
        strcat(list, " ");
      strcat(list, *p);
    }
    strcat(list, "]");
    return cb_error_make(err, 0, "remove %s: volume is in use - %s", name, list);
  }
  cleanup_free char *dir = volume_dir(ctx, name);
  if (bytes) {
    cleanup_free char *data = cb_volume_data_path(ctx, name);
    cleanup_close int fd = open(data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
      *bytes = tree_size(fd, 0);
  }
  /* Gone from every listing at once, then its files. */
  char rnd[CB_ID_LEN + 1];
  if (cb_random_id(rnd, err) < 0)
    return -1;
  cleanup_free char *aside = cb_ctx_path(ctx, "volumes/.rm-%.16s", rnd);
  if (rename(dir, aside) < 0)
    return cb_error_sys(err, "remove %s", name);
  if (cb_rm_rf(aside, err) < 0)
    return cb_error_wrap(err, "remove %s", name);
  return 0;
}

void cb_volumes_remove_anonymous(const struct cb_ctx *ctx, char *const *names) {
  if (!names || !names[0])
    return;
  cb_error_t err = NULL;
  cleanup_close int lk = cb_volumes_lock(ctx, &err);
  if (lk < 0) {
    cb_error_release(&err);
    return;
  }
  for (char *const *p = names; *p; p++) {
    /* In use by another container (or gone): kept, as Docker does, without a word. */
    if (cb_volume_remove(ctx, *p, NULL, &err) < 0)
      cb_error_release(&err);
  }
}

int cb_volume_populate(int srcfd, int dstdirfd, cb_error_t *err) {
  struct stat st;
  if (fstat(srcfd, &st) < 0 || !S_ISDIR(st.st_mode))
    return 0;
  int fd = dup(dstdirfd);
  if (fd < 0)
    return cb_error_sys(err, "dup");
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return cb_error_sys(err, "read the volume");
  }
  bool empty = true;
  struct dirent *de;
  while (empty && (de = readdir(d)))
    empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
  closedir(d);
  if (!empty)
    return 0;
  struct cb_copy cp = {.flags = CB_COPY_KEEP_OWNER, .dst_dir_display = "the volume"};
  if (cb_copy_tree(srcfd, ".", dstdirfd, ".", &cp, err) < 0)
    return -1;
  if (fchown(dstdirfd, st.st_uid, st.st_gid) < 0 || fchmod(dstdirfd, st.st_mode & 07777) < 0)
    return cb_error_sys(err, "set the volume's owner and mode");
  return 0;
}
