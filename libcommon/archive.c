/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "crowbar/archive.h"
#include "crowbar/security.h"
#include "crowbar/cleanup.h"
#include "crowbar/util.h"

#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."

static void archive_readp(struct archive **a) {
  if (*a)
    archive_read_free(*a);
}
static void archive_writep(struct archive **a) {
  if (*a)
    archive_write_free(*a);
}
#define cleanup_archive_read __attribute__((cleanup(archive_readp)))
#define cleanup_archive_write __attribute__((cleanup(archive_writep)))

/* The uncompressed stream: read from the decompressing reader, copied to the tee and
 * hashed, then handed to the tar reader. */
struct tee {
  struct archive *in;
  int fd;
  struct cb_sha256 sha;
  int64_t n;
  int failed; /* the decompressor or the tee failed; msg says why */
  char msg[512];
  char buf[64 * 1024];
};

static int tee_consume(struct tee *t, const void *buf, size_t len) {
  cb_error_t e = NULL;
  if (cb_sha256_update(&t->sha, buf, len, &e) < 0) {
    snprintf(t->msg, sizeof t->msg, "%s", cb_error_text(e));
    cb_error_release(&e);
    t->failed = 1;
    return -1;
  }
  if (t->fd >= 0 && cb_write_all(t->fd, buf, len) < 0) {
    snprintf(t->msg, sizeof t->msg, "write the layer tar: %s", strerror(errno));
    t->failed = 1;
    return -1;
  }
  t->n += (int64_t)len;
  return 0;
}

/* Next chunk of the uncompressed stream: > 0 bytes, 0 at the end, -1 on error. */
static la_ssize_t tee_pull(struct tee *t) {
  for (;;) {
    la_ssize_t r = archive_read_data(t->in, t->buf, sizeof t->buf);
    if (r == ARCHIVE_RETRY || r == ARCHIVE_WARN)
      continue;
    if (r < 0) {
      const char *m = archive_error_string(t->in);
      snprintf(t->msg, sizeof t->msg, "%s", m ? m : "read error");
      t->failed = 1;
      return -1;
    }
    if (r > 0 && tee_consume(t, t->buf, (size_t)r) < 0)
      return -1;
    return r;
  }
}

static la_ssize_t tee_read_cb(struct archive *a, void *data, const void **buf) {
  struct tee *t = data;
  la_ssize_t r = tee_pull(t);
  if (r < 0) {
    archive_set_error(a, EIO, "%s", t->msg);
    return -1;
  }
  *buf = t->buf;
  return r;
}

/* Open the folder rel (relative to dirfd) without following symlinks, creating missing
 * components (0755), as Docker does for a whiteout's parent. */
static int open_dir_nofollow(int dirfd, const char *rel, cb_error_t *err) {
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return cb_error_sys(err, "open the destination");
  if (!strcmp(rel, "."))
    return fd;
  cleanup_free char *copy = xstrdup(rel);
  char *save = NULL;
  for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    int next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT) {
      if (mkdirat(fd, c, 0755) < 0 && errno != EEXIST) {
        cb_error_sys(err, "mkdir `%s`", rel);
        close(fd);
        return -1;
      }
      next = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) {
      if (errno == ELOOP || errno == ENOTDIR)
        cb_error_make(err, 0, "refusing to write through the symlink or file `%s`", rel);
      else
        cb_error_sys(err, "open `%s`", rel);
      close(fd);
      return -1;
    }
    close(fd);
    fd = next;
  }
  return fd;
}

static void split_path(char *path, const char **dir, const char **base) {
  char *slash = strrchr(path, '/');
  if (slash) {
    *slash = '\0';
    *dir = path;
    *base = slash + 1;
  } else {
    *dir = ".";
    *base = path;
  }
}

/* Handle an OCI whiteout entry. Returns 1 when the entry was consumed, 0 when it is not a
 * whiteout, -1 on error. */
static int apply_whiteout(struct archive_entry *e, const char *clean, unsigned flags,
                          cb_error_t *err) {
  const char *slash = strrchr(clean, '/');
  const char *base = slash ? slash + 1 : clean;
  if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)))
    return 0;
  cleanup_free char *copy = xstrdup(clean);
  const char *dir, *b;
  split_path(copy, &dir, &b);
  if (!strcmp(base, WH_OPAQUE)) {
    cleanup_close int fd = open_dir_nofollow(AT_FDCWD, dir, err);
    if (fd < 0)
      return -1;
    if (fsetxattr(fd, OVERLAY_XATTR_PREFIX "opaque", "y", 1, 0) < 0)
      return cb_error_sys(err, "mark `%s` opaque", dir);
    return 1;
  }
  if (!strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)))
    return 1; /* other AUFS metadata: skipped, as Docker does */
  const char *name = base + strlen(WH_PREFIX);
  if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
    return 1;
  cleanup_close int fd = open_dir_nofollow(AT_FDCWD, dir, err);
  if (fd < 0)
    return -1;
  if (mknodat(fd, name, S_IFCHR, makedev(0, 0)) < 0) {
    if (errno != EEXIST)
      return cb_error_sys(err, "whiteout `%s/%s`", dir, name);
    /* Something of that name came earlier in the same layer: the whiteout wins. */
    if (cb_rm_rf_at(fd, name, err) < 0)
      return -1;
    if (mknodat(fd, name, S_IFCHR, makedev(0, 0)) < 0)
      return cb_error_sys(err, "whiteout `%s/%s`", dir, name);
  }
  if (!(flags & CB_EXTRACT_NO_OWNER) &&
      fchownat(fd, name, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
               AT_SYMLINK_NOFOLLOW) < 0)
    return cb_error_sys(err, "chown whiteout `%s/%s`", dir, name);
  return 1;
}

/* Drop trusted.overlay.* xattrs: only whiteout conversion may set overlay metadata. */
static void strip_overlay_xattrs(struct archive_entry *e) {
  if (archive_entry_xattr_reset(e) == 0)
    return;
  struct kept {
    char *name;
    void *value;
    size_t size;
  } *kept = NULL;
  size_t n = 0;
  bool dropped = false;
  const char *name;
  const void *value;
  size_t size;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    if (!strncmp(name, OVERLAY_XATTR_PREFIX, strlen(OVERLAY_XATTR_PREFIX))) {
      dropped = true;
      continue;
    }
    kept = xrealloc(kept, (n + 1) * sizeof *kept);
    kept[n].name = xstrdup(name);
    kept[n].value = xmalloc(size);
    memcpy(kept[n].value, value, size);
    kept[n].size = size;
    n++;
  }
  if (dropped) {
    archive_entry_xattr_clear(e);
    for (size_t i = 0; i < n; i++)
      archive_entry_xattr_add_entry(e, kept[i].name, kept[i].value, kept[i].size);
  }
  for (size_t i = 0; i < n; i++) {
    free(kept[i].name);
    free(kept[i].value);
  }
  free(kept);
}

static int set_root(struct archive_entry *e, unsigned flags, cb_error_t *err) {
  if (archive_entry_filetype(e) != AE_IFDIR)
    return cb_error_make(err, 0, "refusing a non-folder entry for the root folder");
  if (!(flags & CB_EXTRACT_NO_OWNER) &&
      lchown(".", (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e)) < 0)
    return cb_error_sys(err, "chown the root folder");
  if (chmod(".", archive_entry_perm(e) & 07777) < 0)
    return cb_error_sys(err, "chmod the root folder");
  return 0;
}

static int copy_data(struct archive *in, struct archive *out, const char *name, cb_error_t *err) {
  for (;;) {
    const void *buf;
    size_t size;
    la_int64_t off;
    int r = archive_read_data_block(in, &buf, &size, &off);
    if (r == ARCHIVE_EOF)
      return 0;
    if (r < ARCHIVE_WARN)
      return cb_error_make(err, 0, "invalid tar archive: %s", archive_error_string(in));
    la_ssize_t w = archive_write_data_block(out, buf, size, off);
    if (w < ARCHIVE_WARN)
      return cb_error_make(err, 0, "cannot write `%s`: %s", name, archive_error_string(out));
  }
}

/* Sizes come from the headers (a sparse member declares any size it likes): the total
 * saturates rather than overflow. */
static void add_size(int64_t *total, int64_t n) {
  if (n > 0 && __builtin_add_overflow(*total, n, total))
    *total = INT64_MAX;
}

static int extract_entries(struct archive *in, struct archive *out, struct tee *t,
                           struct cb_extract *x, cb_error_t *err) {
  for (;;) {
    struct archive_entry *e;
    int r = archive_read_next_header(in, &e);
    if (r == ARCHIVE_EOF)
      return 0;
    if (r < ARCHIVE_WARN || r == ARCHIVE_RETRY) {
      if (t->failed)
        return cb_error_make(err, 0, "invalid input: %s", t->msg);
      const char *m = archive_error_string(in);
      return cb_error_make(err, 0, "invalid tar archive: %s", m ? m : "read error");
    }
    x->entries++;
    const char *name = archive_entry_pathname(e);
    if (!name)
      return cb_error_make(err, 0, "invalid tar archive: a member has no usable name");
    cleanup_free char *clean = cb_archive_clean_path(name);
    if (!clean)
      return cb_error_make(err, 0, "refusing `%s`: the path leads outside the destination", name);
    /* An owner out of range would become root (4294967296 is 0 to chown(2)) or stay the
     * extractor's (-1): refused, as Docker refuses such ids. */
    if (!(x->flags & (CB_EXTRACT_NO_OWNER | CB_EXTRACT_NO_FILES)) &&
        (!cb_id_valid(archive_entry_uid(e)) || !cb_id_valid(archive_entry_gid(e))))
      return cb_error_make(err, 0, "refusing `%s`: owner %lld:%lld: " CB_ID_RANGE_MSG, name,
                           (long long)archive_entry_uid(e), (long long)archive_entry_gid(e));
    if (!strcmp(clean, ".")) {
      if (!(x->flags & CB_EXTRACT_NO_FILES) && set_root(e, x->flags, err) < 0)
        return -1;
      continue;
    }
    if (x->flags & CB_EXTRACT_NO_FILES) {
      /* Only the sizes, counted as below; the data is read (and hashed) by the next
       * header read. */
      const char *base = strrchr(clean, '/');
      base = base ? base + 1 : clean;
      bool wh = (x->flags & CB_EXTRACT_WHITEOUTS) && !strncmp(base, WH_PREFIX, strlen(WH_PREFIX));
      if (!wh && !archive_entry_hardlink(e)) {
        if (archive_entry_filetype(e) == AE_IFREG)
          add_size(&x->unpacked_size, archive_entry_size(e));
        else if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e))
          add_size(&x->unpacked_size, (int64_t)strlen(archive_entry_symlink(e)));
      }
      continue;
    }
    if (x->flags & CB_EXTRACT_WHITEOUTS) {
      int w = apply_whiteout(e, clean, x->flags, err);
      if (w < 0)
        return cb_error_wrap(err, "%s", name);
      if (w > 0)
        continue;
    }
    const char *link = archive_entry_hardlink(e);
    cleanup_free char *clean_link = NULL;
    if (link) {
      clean_link = cb_archive_clean_path(link);
      if (!clean_link || !strcmp(clean_link, "."))
        return cb_error_make(err, 0,
                             "refusing the hard link `%s` to `%s`: the target is outside the "
                             "destination",
                             name, link);
    }
    archive_entry_set_pathname(e, clean);
    if (clean_link)
      archive_entry_set_hardlink(e, clean_link);
    strip_overlay_xattrs(e);

    r = archive_write_header(out, e);
    if (r < ARCHIVE_WARN) {
      const char *m = archive_error_string(out);
      return cb_error_make(err, 0, "refusing `%s`: %s", name, m ? m : "cannot extract");
    }
    if (archive_entry_size(e) > 0 && copy_data(in, out, name, err) < 0) {
      if (t->failed) {
        cb_error_release(err);
        return cb_error_make(err, 0, "invalid input: %s", t->msg);
      }
      return -1;
    }
    r = archive_write_finish_entry(out);
    if (r < ARCHIVE_WARN) {
      const char *m = archive_error_string(out);
      return cb_error_make(err, 0, "cannot extract `%s`: %s", name, m ? m : "write error");
    }
    if (!clean_link) {
      if (archive_entry_filetype(e) == AE_IFREG)
        add_size(&x->unpacked_size, archive_entry_size(e));
      else if (archive_entry_filetype(e) == AE_IFLNK && archive_entry_symlink(e))
        add_size(&x->unpacked_size, (int64_t)strlen(archive_entry_symlink(e)));
    }
  }
}

int cb_archive_extract_fd(int fd, const char *dest, struct cb_extract *x, cb_error_t *err) {
  x->digest[0] = '\0';
  x->stream_size = x->unpacked_size = 0;
  x->entries = 0;

  /* The decompressor: any filter, the "raw" format gives the uncompressed bytes. */
  cleanup_archive_read struct archive *raw = archive_read_new();
  if (!raw)
    oom();
  archive_read_support_filter_all(raw);
  archive_read_support_format_raw(raw);
  archive_read_support_format_empty(raw);
  if (archive_read_open_fd(raw, fd, 64 * 1024) != ARCHIVE_OK)
    return cb_error_make(err, 0, "invalid input: %s", archive_error_string(raw));
  struct archive_entry *re;
  int r = archive_read_next_header(raw, &re);
  if (r == ARCHIVE_EOF)
    return cb_error_make(err, 0, "invalid tar archive: the input is empty");
  if (r < ARCHIVE_WARN)
    return cb_error_make(err, 0, "invalid input: %s", archive_error_string(raw));

  cleanup_free struct tee *t = xcalloc(1, sizeof *t);
  t->in = raw;
  t->fd = x->tee_fd;
  if (cb_sha256_init(&t->sha, err) < 0)
    return -1;

  cleanup_archive_read struct archive *in = archive_read_new();
  if (!in)
    oom();
  archive_read_support_format_tar(in);
  archive_read_support_format_gnutar(in);
  if (archive_read_open(in, t, NULL, tee_read_cb, NULL) != ARCHIVE_OK) {
    cb_sha256_release(&t->sha);
    if (t->failed)
      return cb_error_make(err, 0, "invalid input: %s", t->msg);
    return cb_error_make(err, 0, "invalid tar archive: %s", archive_error_string(in));
  }

  cleanup_archive_write struct archive *out = archive_write_disk_new();
  if (!out)
    oom();
  int opts = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
             ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
             ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_SPARSE;
  if (!(x->flags & CB_EXTRACT_NO_OWNER))
    opts |= ARCHIVE_EXTRACT_OWNER;
  archive_write_disk_set_options(out, opts);
  /* No user-name lookup: owners stay numeric, never mapped through the host's files. */

  cleanup_close int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cwd < 0)
    cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (cwd < 0) {
    cb_sha256_release(&t->sha);
    return cb_error_sys(err, "open the working directory");
  }
  if (chdir(dest) < 0) {
    cb_sha256_release(&t->sha);
    return cb_error_sys(err, "chdir `%s`", dest);
  }
  int rc = extract_entries(in, out, t, x, err);
  /* Deferred folder permissions and times are applied relative to the destination. */
  if (archive_write_close(out) < ARCHIVE_WARN && rc == 0)
    rc = cb_error_make(err, 0, "cannot finish the extraction: %s", archive_error_string(out));
  if (fchdir(cwd) < 0 && rc == 0)
    rc = cb_error_sys(err, "restore the working directory");
  if (rc < 0) {
    cb_sha256_release(&t->sha);
    return -1;
  }
  /* Whatever follows the end-of-archive marker is part of the stream (and its digest). */
  for (;;) {
    la_ssize_t n = tee_pull(t);
    if (n < 0) {
      cb_sha256_release(&t->sha);
      return cb_error_make(err, 0, "invalid input: %s", t->msg);
    }
    if (n == 0)
      break;
  }
  if (cb_sha256_final(&t->sha, x->digest, err) < 0)
    return -1;
  x->stream_size = t->n;
  return 0;
}
