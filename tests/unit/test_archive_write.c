/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tar writer: names, order, types, owners, modes, times, hard links, xattrs, the
 * whiteout conversion of an overlay upper dir, single files, write errors; and a round
 * trip through the extraction side. Parts that need root (devices, owners, trusted.*
 * xattrs) are skipped for other users. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "crowbar/archive.h"
#include "crowbar/cleanup.h"
#include "crowbar/rootfs.h"
#include "crowbar/util.h"

static bool root;

struct got {
  char name[512];
  char link[512]; /* symlink target or hard-link target */
  bool hardlink;
  mode_t type;
  mode_t perm;
  int64_t size;
  int64_t uid, gid;
  int64_t mtime;
  unsigned rmaj, rmin;
  char data[64];
  char xattr[128]; /* "name=value;" ... */
};

/* Read the tar in path into v (at most max entries); returns the count. */
static size_t read_tar(const char *path, struct got *v, size_t max) {
  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  assert_int_equal(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
  struct archive_entry *e;
  size_t n = 0;
  int r;
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    assert_true(n < max);
    struct got *g = &v[n++];
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", archive_entry_pathname(e));
    if (archive_entry_hardlink(e)) {
      g->hardlink = true;
      snprintf(g->link, sizeof g->link, "%s", archive_entry_hardlink(e));
    } else if (archive_entry_symlink(e)) {
      snprintf(g->link, sizeof g->link, "%s", archive_entry_symlink(e));
    }
    g->type = archive_entry_filetype(e);
    g->perm = archive_entry_perm(e);
    g->size = archive_entry_size(e);
    g->uid = archive_entry_uid(e);
    g->gid = archive_entry_gid(e);
    g->mtime = archive_entry_mtime(e);
    g->rmaj = archive_entry_rdevmajor(e);
    g->rmin = archive_entry_rdevminor(e);
    assert_true(!archive_entry_uname(e) || !*archive_entry_uname(e));
    la_ssize_t got = archive_read_data(a, g->data, sizeof g->data - 1);
    if (got > 0)
      g->data[got] = '\0';
    const char *xn;
    const void *xv;
    size_t xs;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &xn, &xv, &xs) == ARCHIVE_OK) {
      size_t l = strlen(g->xattr);
      snprintf(g->xattr + l, sizeof g->xattr - l, "%s=%.*s;", xn, (int)xs, (const char *)xv);
    }
  }
  assert_int_equal(r, ARCHIVE_EOF);
  archive_read_free(a);
  return n;
}

static const struct got *find(const struct got *v, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(v[i].name, name))
      return &v[i];
  fail_msg("no entry `%s` in the archive", name);
  return NULL;
}

static void put(int dfd, const char *name, const char *text) {
  int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(cb_write_all(fd, text, strlen(text)), 0);
  close(fd);
}

struct fx {
  char dir[64];
  char tar[80];
  int dfd;
};

static int setup(void **state) {
  struct fx *f = xcalloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/cb-test-tarw.XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->tar, sizeof f->tar, "%s.tar", f->dir);
  f->dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int d = f->dfd;
  /* tree/: b (file), a/ (folder with x, and link y -> x by hard link), s -> /nowhere,
   * z-fifo, long name, a 1 MiB + 1 byte file. */
  assert_int_equal(mkdirat(d, "tree", 0755), 0);
  assert_int_equal(mkdirat(d, "tree/a", 0750), 0);
  put(d, "tree/b", "bee\n");
  put(d, "tree/a/x", "hello\n");
  assert_int_equal(linkat(d, "tree/a/x", d, "tree/a/y", 0), 0);
  assert_int_equal(symlinkat("/nowhere", d, "tree/s"), 0);
  assert_int_equal(mkfifoat(d, "tree/z-fifo", 0640), 0);
  assert_int_equal(fchmodat(d, "tree/b", 04755, 0), 0);
  struct timespec ts[2] = {{1000000000, 0}, {981173106, 789000000}};
  assert_int_equal(utimensat(d, "tree/b", ts, 0), 0);
  char longname[160];
  memset(longname, 'n', 150);
  strcpy(longname + 150, ".txt");
  char lp[200];
  snprintf(lp, sizeof lp, "tree/a/%s", longname);
  put(d, lp, "long\n");
  size_t big = (1u << 20) + 1;
  char *data = xmalloc(big);
  for (size_t i = 0; i < big; i++)
    data[i] = (char)(i * 7);
  int fd = openat(d, "tree/big", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  assert_int_equal(cb_write_all(fd, data, big), 0);
  close(fd);
  free(data);
  char p[128];
  snprintf(p, sizeof p, "%s/tree/b", f->dir);
  if (setxattr(p, "user.color", "blue", 4, 0) < 0 && errno != ENOTSUP)
    fail_msg("setxattr: %s", strerror(errno));
  if (root) {
    assert_int_equal(mknodat(d, "tree/null", S_IFCHR | 0666, makedev(1, 3)), 0);
    assert_int_equal(fchownat(d, "tree/a", 1000, 1001, 0), 0);
    snprintf(p, sizeof p, "%s/tree/a", f->dir);
    assert_int_equal(setxattr(p, "trusted.overlay.origin", "zz", 2, 0), 0);
    assert_int_equal(setxattr(p, "trusted.other", "kept", 4, 0), 0);
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  cb_error_t err = NULL;
  if (cb_rm_rf(f->dir, &err) < 0)
    cb_error_release(&err);
  unlink(f->tar);
  close(f->dfd);
  free(f);
  return 0;
}

static void write_tar(struct fx *f, int dirfd, const char *path, struct cb_tar_write *w) {
  int out = open(f->tar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true(out >= 0);
  cb_error_t err = NULL;
  if (cb_archive_write_tree(dirfd, path, out, w, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  close(out);
}

static void test_export_names(void **state) {
  struct fx *f = *state;
  struct cb_tar_write w = {0};
  write_tar(f, f->dfd, "tree", &w);
  struct got v[32];
  size_t n = read_tar(f->tar, v, 32);
  /* No entry for the top; sorted by name within each folder, folders first. */
  char longname[160] = "a/";
  memset(longname + 2, 'n', 150);
  strcpy(longname + 152, ".txt");
  const char *order[] = {"a/", longname, "a/x", "a/y", "b", "big"};
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
    assert_string_equal(v[i].name, order[i]);
  assert_int_equal(n, root ? 9 : 8);
  assert_int_equal(w.stats.entries, n);
  assert_int_equal(w.stats.data, 4 + 6 + 5 + (1u << 20) + 1);

  const struct got *g = find(v, n, "b");
  assert_int_equal(g->type, AE_IFREG);
  assert_int_equal(g->perm, 04755);
  assert_int_equal(g->mtime, 981173106);
  assert_string_equal(g->data, "bee\n");
  if (*g->xattr)
    assert_string_equal(g->xattr, "user.color=blue;");
  g = find(v, n, "a/y");
  assert_true(g->hardlink);
  assert_string_equal(g->link, "a/x");
  assert_int_equal(g->size, 0);
  g = find(v, n, "s");
  assert_int_equal(g->type, AE_IFLNK);
  assert_string_equal(g->link, "/nowhere");
  g = find(v, n, "z-fifo");
  assert_int_equal(g->type, AE_IFIFO);
  assert_int_equal(g->perm, 0640);
  g = find(v, n, "big");
  assert_int_equal(g->size, (1 << 20) + 1);
  if (root) {
    g = find(v, n, "null");
    assert_int_equal(g->type, AE_IFCHR);
    assert_int_equal(g->rmaj, 1);
    assert_int_equal(g->rmin, 3);
    g = find(v, n, "a/");
    assert_int_equal(g->uid, 1000);
    assert_int_equal(g->gid, 1001);
    assert_int_equal(g->perm, 0750);
    /* trusted.overlay.* never leaves; other trusted xattrs do. */
    assert_string_equal(g->xattr, "trusted.other=kept;");
  }
  /* The stream is the size the stats say. */
  struct stat st;
  assert_int_equal(stat(f->tar, &st), 0);
  assert_int_equal((uint64_t)st.st_size, w.stats.written);
}

static void test_top_name(void **state) {
  struct fx *f = *state;
  struct cb_tar_write w = {.name = "etc"};
  cleanup_close int tree = openat(f->dfd, "tree", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  write_tar(f, tree, "", &w);
  struct got v[32];
  size_t n = read_tar(f->tar, v, 32);
  assert_string_equal(v[0].name, "etc/");
  assert_int_equal(v[0].type, AE_IFDIR);
  assert_string_equal(v[1].name, "etc/a/");
  assert_string_equal(find(v, n, "etc/a/y")->link, "etc/a/x");
  /* A single file, renamed. */
  struct cb_tar_write w2 = {.name = "copy"};
  write_tar(f, f->dfd, "tree/b", &w2);
  n = read_tar(f->tar, v, 32);
  assert_int_equal(n, 1);
  assert_string_equal(v[0].name, "copy");
  assert_string_equal(v[0].data, "bee\n");
  /* A symlink at the top is archived as a symlink, never followed. */
  struct cb_tar_write w3 = {.name = "s"};
  write_tar(f, f->dfd, "tree/s", &w3);
  n = read_tar(f->tar, v, 32);
  assert_int_equal(n, 1);
  assert_int_equal(v[0].type, AE_IFLNK);
  /* A file without a name is refused. */
  int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
  cb_error_t err = NULL;
  struct cb_tar_write w4 = {0};
  assert_int_equal(cb_archive_write_tree(f->dfd, "tree/b", out, &w4, &err), -1);
  cb_error_release(&err);
  close(out);
}

static void test_whiteouts(void **state) {
  struct fx *f = *state;
  if (!root)
    skip();
  /* An overlay upper dir: a whiteout (two, sharing one inode as the kernel makes them), an
   * opaque folder. */
  int d = f->dfd;
  assert_int_equal(mkdirat(d, "upper", 0755), 0);
  assert_int_equal(mkdirat(d, "upper/etc", 0711), 0);
  assert_int_equal(mknodat(d, "upper/etc/group", S_IFCHR, makedev(0, 0)), 0);
  assert_int_equal(linkat(d, "upper/etc/group", d, "upper/etc/shadow", 0), 0);
  assert_int_equal(fchownat(d, "upper/etc/group", 5, 6, AT_SYMLINK_NOFOLLOW), 0);
  put(d, "upper/etc/new", "new\n");
  char p[256];
  snprintf(p, sizeof p, "%s/upper/etc", f->dir);
  assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
  struct cb_tar_write w = {.flags = CB_TAR_WHITEOUTS};
  write_tar(f, d, "upper", &w);
  struct got v[16];
  size_t n = read_tar(f->tar, v, 16);
  assert_int_equal(n, 5);
  assert_string_equal(v[0].name, "etc/");
  assert_string_equal(v[0].xattr, ""); /* the opaque xattr is not carried */
  assert_string_equal(v[1].name, "etc/.wh..wh..opq");
  assert_int_equal(v[1].type, AE_IFREG);
  assert_int_equal(v[1].perm, 0711);
  assert_string_equal(v[2].name, "etc/.wh.group");
  assert_int_equal(v[2].type, AE_IFREG);
  assert_int_equal(v[2].perm, 0600);
  assert_int_equal(v[2].uid, 5);
  assert_int_equal(v[2].gid, 6);
  assert_false(v[2].hardlink);
  assert_string_equal(v[3].name, "etc/new");
  assert_string_equal(v[4].name, "etc/.wh.shadow");
  assert_false(v[4].hardlink);

  /* Round trip: the extraction side turns them back into overlay whiteouts. */
  char dest[100];
  snprintf(dest, sizeof dest, "%s/layer", f->dir);
  assert_int_equal(mkdir(dest, 0755), 0);
  cleanup_close int in = open(f->tar, O_RDONLY | O_CLOEXEC);
  struct cb_extract x = {.flags = CB_EXTRACT_WHITEOUTS, .tee_fd = -1};
  cb_error_t err = NULL;
  if (cb_archive_extract_fd(in, dest, &x, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  struct stat st;
  snprintf(p, sizeof p, "%s/etc/group", dest);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
  snprintf(p, sizeof p, "%s/etc", dest);
  char val[4] = {0};
  assert_int_equal(getxattr(p, "trusted.overlay.opaque", val, sizeof val), 1);
  assert_int_equal(val[0], 'y');
}

static void test_write_error(void **state) {
  struct fx *f = *state;
  signal(SIGPIPE, SIG_IGN);
  int p[2];
  assert_int_equal(pipe(p), 0);
  close(p[0]);
  struct cb_tar_write w = {0};
  cb_error_t err = NULL;
  assert_int_equal(cb_archive_write_tree(f->dfd, "tree", p[1], &w, &err), -1);
  assert_int_equal(err->errno_, EPIPE);
  cb_error_release(&err);
  close(p[1]);
  /* A full disk. */
  int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
  if (full >= 0) {
    assert_int_equal(cb_archive_write_tree(f->dfd, "tree", full, &w, &err), -1);
    assert_int_equal(err->errno_, ENOSPC);
    cb_error_release(&err);
    close(full);
  }
}

static int progress_calls;
static void on_progress(const struct cb_tar_stats *s, void *arg) {
  (void)s;
  (void)arg;
  progress_calls++;
}

static void test_progress(void **state) {
  struct fx *f = *state;
  struct cb_tar_write w = {.progress = on_progress};
  write_tar(f, f->dfd, "tree", &w);
  assert_true(progress_calls >= 1);
}

/* The union walk against overlayfs itself: the same layers, mounted (read-only, detached)
 * and walked as one tree, must give the same archive entries. */
static void test_union_matches_overlayfs(void **state) {
  struct fx *f = *state;
  if (!root)
    skip();
  int d = f->dfd;
  const char *dirs[] = {"u",        "m",     "l",      "l/a",       "l/c", "l/d",     "l/g",
                        "l/g/deep", "l/opq", "l/keep", "m/a",       "m/b", "m/g",     "m/opq",
                        "u/a",      "u/opq", "u/new",  "u/new/sub", "u/g", "u/g/deep"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
    assert_int_equal(mkdirat(d, dirs[i], 0755), 0);
  const char *files[][2] = {
      {"l/a/x", "ax"},      {"l/a/y", "ay"},   {"l/b", "b-file"},    {"l/c/z", "cz"},
      {"l/d/k", "dk"},      {"l/e", "old e"},  {"l/g/deep/f", "f"},  {"l/opq/old", "o"},
      {"l/keep/k", "kept"}, {"m/g/new", "gn"}, {"m/c", "c-file"},    {"m/opq/mid", "mid"},
      {"m/b/in", "bin"},    {"u/a/u", "au"},   {"u/e", "new e!"},    {"u/opq/up", "up"},
      {"u/new/sub/s", "s"}, {"u/h1", "hard"},  {"u/g/deep/f2", "f2"}};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    put(d, files[i][0], files[i][1]);
  assert_int_equal(linkat(d, "u/h1", d, "u/h2", 0), 0);
  assert_int_equal(symlinkat("/e", d, "u/sl"), 0);
  assert_int_equal(mknodat(d, "m/a/y", S_IFCHR, makedev(0, 0)), 0); /* whiteouts */
  assert_int_equal(mknodat(d, "u/d", S_IFCHR, makedev(0, 0)), 0);
  assert_int_equal(fchownat(d, "l/keep", 7, 8, 0), 0);
  assert_int_equal(fchmodat(d, "u/a", 0700, 0), 0);
  char p[256];
  snprintf(p, sizeof p, "%s/m/opq", f->dir);
  assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
  snprintf(p, sizeof p, "%s/u/e", f->dir);
  assert_int_equal(setxattr(p, "user.k", "v", 1, 0), 0);

  char *lowers[4];
  for (int i = 0; i < 3; i++)
    lowers[i] = xasprintf("%s/%s", f->dir, (const char *[]){"u", "m", "l"}[i]);
  lowers[3] = NULL;
  int mnt = -1;
  cb_error_t err = NULL;
  int r = cb_overlay_fsmount(lowers, NULL, NULL, &mnt, &err);
  if (r != 0)
    skip(); /* no new mount API here */
  struct cb_tar_write w = {0};
  write_tar(f, mnt, "", &w);
  close(mnt);
  struct got a[64], b[64];
  size_t na = read_tar(f->tar, a, 64);
  int L[3];
  for (int i = 0; i < 3; i++) {
    L[i] = open(lowers[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(lowers[i]);
  }
  int out = open(f->tar, O_WRONLY | O_TRUNC | O_CLOEXEC);
  struct cb_tar_write w2 = {0};
  if (cb_archive_write_union(L, 3, out, &w2, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  close(out);
  for (int i = 0; i < 3; i++)
    close(L[i]);
  size_t nb = read_tar(f->tar, b, 64);
  for (size_t i = 0; i < na && i < nb; i++) {
    if (strcmp(a[i].name, b[i].name) || a[i].type != b[i].type || a[i].perm != b[i].perm ||
        a[i].uid != b[i].uid || a[i].size != b[i].size || strcmp(a[i].link, b[i].link) ||
        a[i].hardlink != b[i].hardlink || strcmp(a[i].data, b[i].data) ||
        strcmp(a[i].xattr, b[i].xattr))
      fail_msg("entry %zu: overlayfs `%s` (%o %o %s), union `%s` (%o %o %s)", i, a[i].name,
               a[i].type, a[i].perm, a[i].data, b[i].name, b[i].type, b[i].perm, b[i].data);
  }
  assert_int_equal(na, nb);
  /* And what it holds is what an overlay means. */
  assert_non_null(find(b, nb, "a/u"));
  assert_non_null(find(b, nb, "a/x"));
  assert_non_null(find(b, nb, "opq/mid"));
  assert_non_null(find(b, nb, "opq/up"));
  assert_non_null(find(b, nb, "g/deep/f"));
  assert_non_null(find(b, nb, "g/new"));
  assert_string_equal(find(b, nb, "e")->data, "new e!");
  assert_int_equal(find(b, nb, "c")->type, AE_IFREG);
  assert_int_equal(find(b, nb, "b/")->type, AE_IFDIR);
  assert_string_equal(find(b, nb, "h2")->link, "h1");
  for (size_t i = 0; i < nb; i++)
    if (!strcmp(b[i].name, "a/y") || !strcmp(b[i].name, "d/") || !strcmp(b[i].name, "opq/old") ||
        !strcmp(b[i].name, "c/z") || !strcmp(b[i].name, "b"))
      fail_msg("`%s` should be hidden", b[i].name);
}

int main(void) {
  root = geteuid() == 0;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_export_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_top_name, setup, teardown),
      cmocka_unit_test_setup_teardown(test_whiteouts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_write_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_progress, setup, teardown),
      cmocka_unit_test_setup_teardown(test_union_matches_overlayfs, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
