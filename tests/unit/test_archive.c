/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Secure extraction: name confinement, refusals, digests and whiteouts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "crowbar/archive.h"
#include "crowbar/util.h"

static void check_clean(const char *in, const char *want) {
  char *got = cb_archive_clean_path(in);
  if (!want) {
    if (got)
      fail_msg("`%s` cleaned to `%s`, want a refusal", in, got);
    return;
  }
  if (!got)
    fail_msg("`%s` refused, want `%s`", in, want);
  assert_string_equal(got, want);
  free(got);
}

static void test_clean_path(void **state) {
  check_clean("a", "a");
  check_clean("./a/b/", "a/b");
  check_clean("/etc/passwd", "etc/passwd");
  check_clean("//a//./b/.", "a/b");
  check_clean("a/../b", "b");
  check_clean("a/b/../../c", "c");
  check_clean("", ".");
  check_clean("./", ".");
  check_clean("/", ".");
  check_clean("a/..", ".");
  check_clean("..", NULL);
  check_clean("../x", NULL);
  check_clean("/../x", NULL);
  check_clean("a/../../x", NULL);
  check_clean("..a/b..", "..a/b..");
  check_clean(".wh..wh..opq", ".wh..wh..opq");
}

/* An entry for make_tar: type 'f' file, 'd' folder, 'l' symlink, 'h' hard link. */
struct ent {
  char type;
  const char *name, *data_or_target;
};

static char *make_tar(const struct ent *e, bool gzip) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/crowbar-test-tar.XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip)
    archive_write_add_filter_gzip(a);
  assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
  for (; e->type; e++) {
    struct archive_entry *ae = archive_entry_new();
    archive_entry_set_pathname(ae, e->name);
    archive_entry_set_mtime(ae, 1000000000, 0);
    size_t len = 0;
    switch (e->type) {
    case 'f':
      archive_entry_set_filetype(ae, AE_IFREG);
      archive_entry_set_perm(ae, 0640);
      len = strlen(e->data_or_target);
      archive_entry_set_size(ae, (la_int64_t)len);
      break;
    case 'd':
      archive_entry_set_filetype(ae, AE_IFDIR);
      archive_entry_set_perm(ae, 0750);
      break;
    case 'l':
      archive_entry_set_filetype(ae, AE_IFLNK);
      archive_entry_set_perm(ae, 0777);
      archive_entry_set_symlink(ae, e->data_or_target);
      break;
    case 'h':
      archive_entry_set_filetype(ae, AE_IFREG);
      archive_entry_set_perm(ae, 0640);
      archive_entry_set_hardlink(ae, e->data_or_target);
      break;
    }
    assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
    if (len)
      assert_int_equal(archive_write_data(a, e->data_or_target, len), (la_ssize_t)len);
    archive_entry_free(ae);
  }
  assert_int_equal(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  close(fd);
  return path;
}

static char *mkdest(void) {
  static char dir[64];
  snprintf(dir, sizeof dir, "/tmp/crowbar-test-dest.XXXXXX");
  assert_non_null(mkdtemp(dir));
  return dir;
}

static int extract(const char *tar, const char *dest, unsigned flags, int tee, struct cb_extract *x,
                   char **msg) {
  int fd = open(tar, O_RDONLY);
  assert_true(fd >= 0);
  memset(x, 0, sizeof *x);
  x->flags = flags | CB_EXTRACT_NO_OWNER;
  x->tee_fd = tee;
  cb_error_t err = NULL;
  int r = cb_archive_extract_fd(fd, dest, x, &err);
  close(fd);
  if (r < 0) {
    *msg = xstrdup(cb_error_text(err));
    cb_error_release(&err);
  }
  return r;
}

static void cleanup(const char *tar, const char *dest) {
  cb_error_t err = NULL;
  unlink(tar);
  cb_rm_rf(dest, &err);
}

static void test_extract_ok(void **state) {
  const struct ent ents[] = {
      {'d', "./", NULL},
      {'d', "etc/", NULL},
      {'f', "/etc/hello", "hello\n"},
      {'l', "etc/abs", "/etc/passwd"},
      {'h', "etc/again", "/etc/hello"},
      {'f', "a/../top", "x"},
      {0, NULL, NULL},
  };
  for (int gz = 0; gz < 2; gz++) {
    char *tar = xstrdup(make_tar(ents, gz));
    char *dest = xstrdup(mkdest());
    char *teep = xasprintf("%s.tee", tar);
    int tee = open(teep, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(tee >= 0);
    struct cb_extract x;
    char *msg = NULL;
    assert_int_equal(extract(tar, dest, 0, tee, &x, &msg), 0);
    /* The tee holds the uncompressed tar, and the digest is its sha256. */
    char d[CB_DIGEST_LEN + 1];
    cb_error_t err = NULL;
    lseek(tee, 0, SEEK_SET);
    assert_int_equal(cb_sha256_fd(tee, d, &err), 0);
    assert_string_equal(d, x.digest);
    struct stat st;
    assert_int_equal(fstat(tee, &st), 0);
    assert_int_equal(st.st_size, x.stream_size);
    if (!gz) {
      int fd = open(tar, O_RDONLY);
      assert_int_equal(cb_sha256_fd(fd, d, &err), 0);
      close(fd);
      assert_string_equal(d, x.digest);
    }
    close(tee);
    unlink(teep);
    free(teep);
    /* 6 + 1 bytes of files (the hard link once), 11 of symlink target. */
    assert_int_equal(x.unpacked_size, 6 + 1 + 11);
    assert_int_equal(x.entries, 6);
    char *p = xasprintf("%s/etc/hello", dest);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(st.st_nlink, 2);
    assert_int_equal(st.st_mtime, 1000000000);
    free(p);
    p = xasprintf("%s/etc/abs", dest);
    char target[64] = "";
    assert_int_equal(readlink(p, target, sizeof target - 1), 11);
    assert_string_equal(target, "/etc/passwd");
    free(p);
    p = xasprintf("%s/top", dest);
    assert_int_equal(access(p, F_OK), 0);
    free(p);
    assert_int_equal(stat(dest, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750); /* from the "./" entry */
    cleanup(tar, dest);
    free(tar);
    free(dest);
  }
}

static void refused(const struct ent *ents, const char *want_msg_part) {
  char *tar = xstrdup(make_tar(ents, false));
  char *dest = xstrdup(mkdest());
  struct cb_extract x;
  char *msg = NULL;
  assert_int_equal(extract(tar, dest, 0, -1, &x, &msg), -1);
  if (!strstr(msg, want_msg_part))
    fail_msg("message `%s` lacks `%s`", msg, want_msg_part);
  free(msg);
  cleanup(tar, dest);
  free(tar);
  free(dest);
}

static void test_extract_refusals(void **state) {
  const struct ent dotdot[] = {{'f', "../../evil", "x"}, {0, NULL, NULL}};
  refused(dotdot, "leads outside the destination");
  const struct ent dotdot2[] = {{'d', "a/", NULL}, {'f', "a/../../evil", "x"}, {0, NULL, NULL}};
  refused(dotdot2, "leads outside the destination");
  const struct ent hard_out[] = {{'h', "h", "../../etc/passwd"}, {0, NULL, NULL}};
  refused(hard_out, "outside the destination");
  const struct ent hard_abs[] = {{'h', "h", "/etc/passwd"}, {0, NULL, NULL}};
  refused(hard_abs, "etc/passwd");
  const struct ent through[] = {
      {'l', "lnk", "/tmp"}, {'f', "lnk/crowbar-test-evil", "x"}, {0, NULL, NULL}};
  refused(through, "symlink");
  assert_int_equal(access("/tmp/crowbar-test-evil", F_OK), -1);
  const struct ent hard_through[] = {
      {'l', "lnk", "/etc"}, {'h', "h", "lnk/passwd"}, {0, NULL, NULL}};
  refused(hard_through, "symlink");
}

static void test_extract_garbage(void **state) {
  char path[] = "/tmp/crowbar-test-garbage.XXXXXX";
  int fd = mkstemp(path);
  char junk[4096];
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = (char)(i * 131 + 7);
  assert_int_equal(cb_write_all(fd, junk, sizeof junk), 0);
  close(fd);
  char *dest = xstrdup(mkdest());
  struct cb_extract x;
  char *msg = NULL;
  assert_int_equal(extract(path, dest, 0, -1, &x, &msg), -1);
  assert_non_null(strstr(msg, "invalid"));
  free(msg);
  /* Empty input. */
  fd = open(path, O_WRONLY | O_TRUNC);
  close(fd);
  msg = NULL;
  assert_int_equal(extract(path, dest, 0, -1, &x, &msg), -1);
  assert_non_null(strstr(msg, "empty"));
  free(msg);
  cleanup(path, dest);
  free(dest);
}

static void test_extract_whiteouts(void **state) {
  if (geteuid() != 0)
    skip(); /* mknod and trusted.* xattrs need root */
  const struct ent ents[] = {
      {'d', "d/", NULL},      {'f', "d/.wh..wh..opq", ""}, {'f', "d/old", "x"},
      {'f', "d/.wh.old", ""}, {'f', "e/.wh.gone", ""},     {'f', ".wh..wh.plnk", ""},
      {0, NULL, NULL},
  };
  char *tar = xstrdup(make_tar(ents, false));
  char *dest = xstrdup(mkdest());
  struct cb_extract x;
  char *msg = NULL;
  assert_int_equal(extract(tar, dest, CB_EXTRACT_WHITEOUTS, -1, &x, &msg), 0);
  struct stat st;
  char *p = xasprintf("%s/d/old", dest);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  assert_int_equal(st.st_rdev, makedev(0, 0));
  free(p);
  p = xasprintf("%s/e/gone", dest);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode));
  free(p);
  p = xasprintf("%s/d", dest);
  char v[8] = "";
  assert_int_equal(getxattr(p, "trusted.overlay.opaque", v, sizeof v), 1);
  assert_int_equal(v[0], 'y');
  free(p);
  p = xasprintf("%s/d/.wh..wh..opq", dest);
  assert_int_equal(access(p, F_OK), -1);
  free(p);
  p = xasprintf("%s/.wh..wh.plnk", dest);
  assert_int_equal(access(p, F_OK), -1);
  free(p);
  cleanup(tar, dest);
  free(tar);
  free(dest);
  /* Without the flag, whiteouts are plain files. */
  tar = xstrdup(make_tar(ents, false));
  dest = xstrdup(mkdest());
  assert_int_equal(extract(tar, dest, 0, -1, &x, &msg), 0);
  p = xasprintf("%s/d/.wh.old", dest);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  free(p);
  cleanup(tar, dest);
  free(tar);
  free(dest);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_path),        cmocka_unit_test(test_extract_ok),
      cmocka_unit_test(test_extract_refusals),  cmocka_unit_test(test_extract_garbage),
      cmocka_unit_test(test_extract_whiteouts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
