/* SPDX-License-Identifier: GPL-2.0-or-later */
/* copy.h: a tree copied between folder descriptors with docker cp's rules. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/copy.h"
#include "crowbar/util.h"

struct fix {
  char src[64], dst[64];
  int srcfd, dstfd;
};

static void put(const char *dir, const char *rel, const char *text) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static char *get(const char *dir, const char *rel) {
  static char buf[256];
  char p[256];
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  FILE *f = fopen(p, "r");
  if (!f)
    return NULL;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static struct stat lst(const char *dir, const char *rel) {
  char p[256];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  if (lstat(p, &st) < 0)
    fail_msg("lstat %s: %s", p, strerror(errno));
  return st;
}

static int setup(void **state) {
  struct fix *f = calloc(1, sizeof *f);
  strcpy(f->src, "/tmp/cb-copy-src.XXXXXX");
  strcpy(f->dst, "/tmp/cb-copy-dst.XXXXXX");
  if (!mkdtemp(f->src) || !mkdtemp(f->dst))
    return -1;
  char p[256];
  snprintf(p, sizeof p, "%s/tree/sub", f->src);
  cb_mkdir_p(p, 0755, NULL);
  put(f->src, "tree/file", "data");
  put(f->src, "tree/sub/deep", "deep");
  snprintf(p, sizeof p, "%s/tree/sub/deep", f->src);
  chmod(p, 04751);
  char q[256];
  snprintf(q, sizeof q, "%s/tree/hard", f->src);
  snprintf(p, sizeof p, "%s/tree/file", f->src);
  link(p, q);
  snprintf(p, sizeof p, "%s/tree/abs", f->src);
  symlink("/etc/passwd", p);
  snprintf(p, sizeof p, "%s/tree/fifo", f->src);
  mkfifo(p, 0640);
  snprintf(p, sizeof p, "%s/tree/file", f->src);
  setxattr(p, "user.cb", "v", 1, 0); /* tmpfs may refuse: checked only when it worked */
  struct timespec ts[2] = {{1000000000, 0}, {1000000000, 123456789}};
  utimensat(AT_FDCWD, p, ts, 0);
  snprintf(p, sizeof p, "%s/tree/sub", f->src);
  utimensat(AT_FDCWD, p, ts, 0);
  f->srcfd = open(f->src, O_PATH | O_DIRECTORY);
  f->dstfd = open(f->dst, O_PATH | O_DIRECTORY);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fix *f = *state;
  close(f->srcfd);
  close(f->dstfd);
  cb_rm_rf(f->src, NULL);
  cb_rm_rf(f->dst, NULL);
  free(f);
  return 0;
}

static void test_tree(void **state) {
  struct fix *f = *state;
  struct cb_copy c = {.dst_dir_display = f->dst};
  cb_error_t err = NULL;
  if (cb_copy_tree(f->srcfd, "tree", f->dstfd, "out", &c, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  assert_string_equal(get(f->dst, "out/file"), "data");
  assert_string_equal(get(f->dst, "out/sub/deep"), "deep");
  assert_int_equal(lst(f->dst, "out/sub/deep").st_mode & 07777, 04751);
  struct stat a = lst(f->dst, "out/file"), b = lst(f->dst, "out/hard");
  assert_true(a.st_ino == b.st_ino); /* hard links stay links */
  assert_true(a.st_mtim.tv_sec == 1000000000 && a.st_mtim.tv_nsec == 123456789);
  assert_true(lst(f->dst, "out/sub").st_mtim.tv_sec == 1000000000); /* set after its entries */
  assert_true(S_ISLNK(lst(f->dst, "out/abs").st_mode));
  assert_true(S_ISFIFO(lst(f->dst, "out/fifo").st_mode));
  assert_int_equal(lst(f->dst, "out/fifo").st_mode & 0777, 0640);
  char p[256], v[8];
  snprintf(p, sizeof p, "%s/tree/file", f->src);
  if (getxattr(p, "user.cb", v, sizeof v) == 1) {
    snprintf(p, sizeof p, "%s/out/file", f->dst);
    assert_int_equal(getxattr(p, "user.cb", v, sizeof v), 1);
  }
  /* No temporary names left behind. */
  cleanup_dir DIR *d = opendir(f->dst);
  struct dirent *de;
  while ((de = readdir(d)))
    assert_false(cb_str_has_prefix(de->d_name, ".cbcp-"));
  /* Again onto the copy: folders merge, files are replaced. */
  put(f->dst, "out/extra", "kept");
  if (cb_copy_tree(f->srcfd, "tree", f->dstfd, "out", &c, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  assert_string_equal(get(f->dst, "out/extra"), "kept");
  assert_true(c.entries > 0 && c.bytes > 0);
}

static void test_contents_merge(void **state) {
  struct fix *f = *state;
  char p[256];
  snprintf(p, sizeof p, "%s/into", f->dst);
  mkdir(p, 0700);
  cleanup_close int into = open(p, O_PATH | O_DIRECTORY);
  cleanup_close int tree = openat(f->srcfd, "tree", O_PATH | O_DIRECTORY);
  struct cb_copy c = {.dst_dir_display = p};
  cb_error_t err = NULL;
  if (cb_copy_tree(tree, "", into, ".", &c, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  assert_string_equal(get(f->dst, "into/file"), "data");
  /* The folder's own mode stays. */
  assert_int_equal(lst(f->dst, "into").st_mode & 0777, 0700);
}

static void test_conflicts(void **state) {
  struct fix *f = *state;
  char p[256];
  snprintf(p, sizeof p, "%s/out/file", f->dst);
  cb_mkdir_p(p, 0755, NULL); /* a folder where the source has a file */
  struct cb_copy c = {.dst_dir_display = "/x"};
  cb_error_t err = NULL;
  assert_int_equal(cb_copy_tree(f->srcfd, "tree", f->dstfd, "out", &c, &err), -1);
  assert_string_equal(cb_error_text(err),
                      "cannot overwrite directory \"/x/out/file\" with non-directory \"/x\"");
  cb_error_release(&err);
  put(f->dst, "plain", "p");
  assert_int_equal(cb_copy_tree(f->srcfd, "tree", f->dstfd, "plain", &c, &err), -1);
  assert_string_equal(cb_error_text(err),
                      "cannot overwrite non-directory \"/x/plain\" with directory \"/x\"");
  cb_error_release(&err);
}

static void test_top_leaf(void **state) {
  struct fix *f = *state;
  /* A file onto an existing symlink: the link is replaced, never written through. */
  char p[256];
  snprintf(p, sizeof p, "%s/victim", f->dst);
  put(f->dst, "victim", "untouched");
  char l[256];
  snprintf(l, sizeof l, "%s/link", f->dst);
  symlink(p, l);
  cleanup_close int file = openat(f->srcfd, "tree/file", O_PATH | O_NOFOLLOW);
  struct cb_copy c = {0};
  cb_error_t err = NULL;
  if (cb_copy_tree(file, "", f->dstfd, "link", &c, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  assert_string_equal(get(f->dst, "victim"), "untouched");
  assert_true(S_ISREG(lst(f->dst, "link").st_mode));
  assert_string_equal(get(f->dst, "link"), "data");
  /* A symlink source is copied as a symlink. */
  cleanup_close int abs = openat(f->srcfd, "tree/abs", O_PATH | O_NOFOLLOW);
  if (cb_copy_tree(abs, "", f->dstfd, "abs", &c, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  char t[64] = {0};
  snprintf(p, sizeof p, "%s/abs", f->dst);
  assert_true(readlink(p, t, sizeof t - 1) > 0);
  assert_string_equal(t, "/etc/passwd");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_tree, setup, teardown),
      cmocka_unit_test_setup_teardown(test_contents_merge, setup, teardown),
      cmocka_unit_test_setup_teardown(test_conflicts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_top_leaf, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
