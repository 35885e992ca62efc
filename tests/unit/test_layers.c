/* SPDX-License-Identifier: GPL-2.0-or-later */
/* layers.c: Docker's stat comparison, the path order of siblings, and the changes of
 * upper dirs made by hand over lower dirs (whiteouts, opaque folders, copy-ups, new
 * trees, type changes). Whiteouts and opaque folders need root; those cases are skipped
 * for other users. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/layers.h"
#include "crowbar/util.h"

static bool root;

static void test_stat_differs(void **state) {
  struct stat a = {0}, b;
  a.st_mode = S_IFREG | 0644;
  a.st_size = 10;
  a.st_mtim.tv_sec = 100;
  a.st_mtim.tv_nsec = 5;
  b = a;
  assert_false(cb_stat_differs(&a, &b));
  b.st_ino = 99; /* inodes, ctimes, link counts: not compared */
  b.st_nlink = 3;
  b.st_ctim.tv_sec = 7;
  assert_false(cb_stat_differs(&a, &b));
  b = a;
  b.st_mode = S_IFREG | 0600;
  assert_true(cb_stat_differs(&a, &b));
  b = a;
  b.st_uid = 1;
  assert_true(cb_stat_differs(&a, &b));
  b = a;
  b.st_size = 11;
  assert_true(cb_stat_differs(&a, &b));
  b = a;
  b.st_mtim.tv_nsec = 6;
  assert_true(cb_stat_differs(&a, &b));
  b.st_mtim.tv_nsec = 0; /* the same second, one side without a fraction (tar) */
  assert_false(cb_stat_differs(&a, &b));
  b.st_mtim.tv_sec = 101;
  assert_true(cb_stat_differs(&a, &b));
  /* Folders: neither size nor mtime count. */
  a.st_mode = S_IFDIR | 0755;
  b = a;
  b.st_size = 8192;
  b.st_mtim.tv_sec = 5000;
  assert_false(cb_stat_differs(&a, &b));
  b.st_gid = 4;
  assert_true(cb_stat_differs(&a, &b));
  /* A type change is a mode change. */
  b = a;
  b.st_mode = S_IFLNK | 0755;
  assert_true(cb_stat_differs(&a, &b));
  b = a;
  b.st_mode = S_IFCHR | 0755;
  b.st_rdev = makedev(1, 3);
  a.st_mode = S_IFCHR | 0755;
  assert_true(cb_stat_differs(&a, &b));
}

struct ord_item {
  const char *name;
  bool sub;
};

static int cmp_ord(const void *x, const void *y) {
  const struct ord_item *a = x, *b = y;
  return cb_change_order(a->name, a->sub, b->name, b->sub);
}

static void test_change_order(void **state) {
  assert_true(cb_change_order("a", false, "a", true) < 0);
  assert_true(cb_change_order("a", true, "a-b", false) > 0); /* '-' < '/' */
  assert_true(cb_change_order("a", true, "a0", false) < 0);  /* '/' < '0' */
  assert_true(cb_change_order("a", true, "a.c", false) > 0);
  assert_true(cb_change_order("ab", false, "a", true) > 0);
  assert_int_equal(cb_change_order("x", true, "x", true), 0);
  assert_int_equal(cb_change_order("x", false, "x", false), 0);
  assert_true(cb_change_order("", false, "a", false) < 0);
  /* Sorting siblings (and their contents) this way gives the byte order of full paths. */
  struct ord_item v[] = {{"a", false},   {"a", true}, {"a-b", false}, {"a0", false},
                         {"a.c", false}, {"b", true}, {"b", false},   {"\xc3\xa9", false},
                         {"A", false},   {"_", true}, {"_", false}};
  size_t n = sizeof v / sizeof v[0];
  qsort(v, n, sizeof v[0], cmp_ord);
  /* The full paths, "/name" or "/name/z", must come out sorted by strcmp. */
  char prev[32] = "";
  for (size_t i = 0; i < n; i++) {
    char p[32];
    snprintf(p, sizeof p, "/%s%s", v[i].name, v[i].sub ? "/z" : "");
    if (i)
      assert_true(strcmp(prev, p) < 0);
    strcpy(prev, p);
  }
}

/* ---- walks over real folders ----------------------------------------------------------- */

struct fx {
  char dir[64];
  int dfd;
};

static int setup(void **state) {
  struct fx *f = xcalloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/cb-test-layers.XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  f->dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_int_equal(mkdirat(f->dfd, "upper", 0755), 0);
  assert_int_equal(mkdirat(f->dfd, "init", 0755), 0);
  assert_int_equal(mkdirat(f->dfd, "image", 0755), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  cb_error_t err = NULL;
  if (cb_rm_rf(f->dir, &err) < 0)
    cb_error_release(&err);
  close(f->dfd);
  free(f);
  return 0;
}

/* Make path (under the fixture) as: 'd' folder, 'f' file (with text), 'w' whiteout,
 * 'o' opaque folder, 'l' symlink (text = target). */
static void mk(struct fx *f, char type, const char *path, const char *text) {
  int d = f->dfd;
  char p[512];
  snprintf(p, sizeof p, "%s/%s", f->dir, path);
  switch (type) {
  case 'd': assert_int_equal(mkdirat(d, path, 0755), 0); break;
  case 'o':
    assert_int_equal(mkdirat(d, path, 0755), 0);
    assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
    break;
  case 'f': {
    int fd = openat(d, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(cb_write_all(fd, text, strlen(text)), 0);
    close(fd);
    break;
  }
  case 'w': assert_int_equal(mknodat(d, path, S_IFCHR, makedev(0, 0)), 0); break;
  case 'l': assert_int_equal(symlinkat(text, d, path), 0); break;
  }
}

/* Copy the metadata (mode, owner, times) of a lower entry to its upper copy, as a copy-up
 * does. */
static void copy_meta(struct fx *f, const char *from, const char *to) {
  struct stat st;
  assert_int_equal(fstatat(f->dfd, from, &st, AT_SYMLINK_NOFOLLOW), 0);
  assert_int_equal(fchmodat(f->dfd, to, st.st_mode & 07777, 0), 0);
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  assert_int_equal(utimensat(f->dfd, to, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static char *changes_text(struct fx *f) {
  cleanup_close int U = openat(f->dfd, "upper", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int L[2] = {openat(f->dfd, "init", O_RDONLY | O_DIRECTORY | O_CLOEXEC),
              openat(f->dfd, "image", O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  struct cb_changes ch;
  cb_error_t err = NULL;
  if (cb_layers_changes(U, L, 2, &ch, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  close(L[0]);
  close(L[1]);
  size_t len = 1;
  for (size_t i = 0; i < ch.n; i++)
    len += strlen(ch.v[i].path) + 3;
  char *s = xcalloc(len, 1);
  for (size_t i = 0; i < ch.n; i++) {
    if (i)
      assert_true(strcmp(ch.v[i - 1].path, ch.v[i].path) < 0);
    size_t l = strlen(s);
    sprintf(s + l, "%c %s\n", ch.v[i].kind, ch.v[i].path);
  }
  cb_changes_release(&ch);
  return s;
}

static void test_adds_and_copy_ups(void **state) {
  struct fx *f = *state;
  /* The image: /etc/{passwd,group}, /usr/bin/tool, /var/log/. The init layer: /etc/hosts. */
  mk(f, 'd', "image/etc", NULL);
  mk(f, 'f', "image/etc/passwd", "root\n");
  mk(f, 'f', "image/etc/group", "root\n");
  mk(f, 'd', "image/usr", NULL);
  mk(f, 'd', "image/usr/bin", NULL);
  mk(f, 'f', "image/usr/bin/tool", "x");
  mk(f, 'd', "image/var", NULL);
  mk(f, 'd', "image/var/log", NULL);
  mk(f, 'd', "init/etc", NULL);
  mk(f, 'f', "init/etc/hosts", "");
  /* The container: a new tree under /var/log, /etc/passwd changed, /usr/bin copied up
   * with nothing changed (a folder's mtime is not a change), /etc/hosts untouched. */
  mk(f, 'd', "upper/var", NULL);
  copy_meta(f, "image/var", "upper/var");
  mk(f, 'd', "upper/var/log", NULL);
  mk(f, 'd', "upper/var/log/nginx", NULL);
  mk(f, 'f', "upper/var/log/nginx/error.log", "emerg\n");
  mk(f, 'd', "upper/var/log/nginx/old", NULL);
  mk(f, 'd', "upper/etc", NULL);
  copy_meta(f, "image/etc", "upper/etc");
  mk(f, 'f', "upper/etc/passwd", "root\napp\n");
  mk(f, 'd', "upper/usr", NULL);
  copy_meta(f, "image/usr", "upper/usr");
  mk(f, 'd', "upper/usr/bin", NULL);
  mk(f, 'f', "upper/usr/bin/tool", "x");
  copy_meta(f, "image/usr/bin/tool", "upper/usr/bin/tool");
  mk(f, 'f', "upper/new", "");
  mk(f, 'l', "upper/link", "/etc");
  cleanup_free char *got = changes_text(f);
  assert_string_equal(got, "C /etc\n"
                           "C /etc/passwd\n"
                           "A /link\n"
                           "A /new\n"
                           "C /var\n"
                           "C /var/log\n"
                           "A /var/log/nginx\n"
                           "A /var/log/nginx/error.log\n"
                           "A /var/log/nginx/old\n");
}

static void test_deletes_and_opaque(void **state) {
  struct fx *f = *state;
  if (!root)
    skip();
  mk(f, 'd', "image/home", NULL);
  mk(f, 'd', "image/home/app", NULL);
  mk(f, 'f', "image/home/app/.profile", "x");
  mk(f, 'f', "image/home/keep", "x");
  mk(f, 'f', "image/home/gone-below", "x");
  mk(f, 'd', "image/tree", NULL);
  mk(f, 'd', "image/tree/sub", NULL);
  mk(f, 'f', "image/tree/sub/f", "x");
  mk(f, 'f', "image/file", "x");
  mk(f, 'd', "image/dir", NULL);
  mk(f, 'f', "image/dir/in", "x");
  mk(f, 'd', "image/lib", NULL);
  mk(f, 'f', "image/lib/a", "x");
  mk(f, 'd', "init/dev", NULL);
  /* In the init layer a whiteout over an image entry: that is the parent's state. */
  mk(f, 'w', "init/file-hidden", NULL);
  mk(f, 'f', "image/file-hidden", "x");

  /* rm -rf /home && mkdir /home && touch /home/keep /home/new */
  mk(f, 'o', "upper/home", NULL);
  copy_meta(f, "image/home", "upper/home");
  mk(f, 'f', "upper/home/keep", "x");
  copy_meta(f, "image/home/keep", "upper/home/keep");
  mk(f, 'f', "upper/home/new", "");
  /* rm -rf /tree: one D, nothing below it. */
  mk(f, 'w', "upper/tree", NULL);
  /* A file replaced by a folder (opaque, as overlay makes it), a folder by a file. */
  mk(f, 'o', "upper/file", NULL);
  mk(f, 'f', "upper/file/x", "");
  mk(f, 'f', "upper/dir", "now a file");
  /* A whiteout over nothing the parent shows: no change. */
  mk(f, 'w', "upper/file-hidden", NULL);
  mk(f, 'w', "upper/never-there", NULL);
  /* A whiteout inside a new folder: nothing to show. */
  mk(f, 'd', "upper/newdir", NULL);
  mk(f, 'w', "upper/newdir/ghost", NULL);
  /* A folder removed and made again the same: no change at all. */
  mk(f, 'o', "upper/lib", NULL);
  copy_meta(f, "image/lib", "upper/lib");
  mk(f, 'f', "upper/lib/a", "x");
  copy_meta(f, "image/lib/a", "upper/lib/a");
  cleanup_free char *got = changes_text(f);
  assert_string_equal(got, "C /dir\n"
                           "C /file\n"
                           "A /file/x\n"
                           "C /home\n"
                           "D /home/app\n"
                           "D /home/gone-below\n"
                           "A /home/new\n"
                           "A /newdir\n"
                           "D /tree\n");
}

/* Many entries: the lower folders are listed instead of probed; same answer. */
static void test_many_entries(void **state) {
  struct fx *f = *state;
  if (!root)
    skip();
  mk(f, 'd', "image/tmp", NULL);
  mk(f, 'd', "upper/tmp", NULL);
  copy_meta(f, "image/tmp", "upper/tmp");
  char p[64];
  for (int i = 0; i < 100; i++) {
    snprintf(p, sizeof p, "image/tmp/old%03d", i);
    mk(f, 'f', p, "x");
  }
  for (int i = 0; i < 100; i += 2) {
    snprintf(p, sizeof p, "upper/tmp/old%03d", i);
    mk(f, 'w', p, NULL);
  }
  for (int i = 0; i < 50; i++) {
    snprintf(p, sizeof p, "upper/tmp/new%03d", i);
    mk(f, 'f', p, "");
  }
  cleanup_free char *got = changes_text(f);
  /* C /tmp, 50 A, 50 D. */
  size_t lines = 0, a = 0, d = 0;
  for (char *s = got; *s; s++)
    if (*s == '\n') {
      lines++;
    }
  for (char *s = strstr(got, "A /tmp/new"); s; s = strstr(s + 1, "A /tmp/new"))
    a++;
  for (char *s = strstr(got, "D /tmp/old"); s; s = strstr(s + 1, "D /tmp/old"))
    d++;
  assert_int_equal(lines, 101);
  assert_int_equal(a, 50);
  assert_int_equal(d, 50);
  assert_true(!strncmp(got, "C /tmp\nA /tmp/new000\n", 21));
  assert_non_null(strstr(got, "D /tmp/old000\n"));
  assert_null(strstr(got, "D /tmp/old001\n"));
}

int main(void) {
  root = geteuid() == 0;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stat_differs),
      cmocka_unit_test(test_change_order),
      cmocka_unit_test_setup_teardown(test_adds_and_copy_ups, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deletes_and_opaque, setup, teardown),
      cmocka_unit_test_setup_teardown(test_many_entries, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
