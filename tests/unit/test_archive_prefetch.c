/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tar writer's prefetch (a second thread that stats, opens and reads ahead in folders
 * of 256+ entries): an archive of a big folder of mixed entries must say exactly what the
 * files are. Every entry is read back with libarchive and checked against the tree. */
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
#include <sys/xattr.h>
#include <unistd.h>

#include "crowbar/archive.h"
#include "crowbar/cleanup.h"
#include "crowbar/util.h"

#define N 1500

static char dir[64];

/* Entry i: kind i % 7 (empty, small, 4096 bytes exactly, 5000 bytes, 300 KiB, symlink, fifo),
 * with a user xattr on every 11th when the file system takes one. */
static size_t size_of(int i) {
  switch (i % 7) {
  case 0: return 0;
  case 1: return (size_t)(i % 100) + 1;
  case 2: return 4096;
  case 3: return 5000;
  case 4: return 300 * 1024;
  default: return 0;
  }
}

static void fill(char *buf, size_t n, int i) {
  for (size_t k = 0; k < n; k++)
    buf[k] = (char)('a' + (k + (size_t)i) % 26);
}

static bool xattrs_ok;

static int setup(void **state) {
  strcpy(dir, "/tmp/cb-prefetch.XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  char *buf = xmalloc(300 * 1024);
  for (int i = 0; i < N; i++) {
    char p[128];
    snprintf(p, sizeof p, "%s/e%04d", dir, i);
    int kind = i % 7;
    if (kind == 5) {
      char t[32];
      snprintf(t, sizeof t, "target-%d", i);
      if (symlink(t, p) < 0)
        return -1;
    } else if (kind == 6) {
      if (mkfifo(p, 0640) < 0)
        return -1;
    } else {
      int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
      if (fd < 0)
        return -1;
      size_t n = size_of(i);
      fill(buf, n, i);
      if (cb_write_all(fd, buf, n) < 0)
        return -1;
      close(fd);
      if (i % 11 == 0) {
        char v[16];
        snprintf(v, sizeof v, "v%d", i);
        if (setxattr(p, "user.cbtest", v, strlen(v), 0) == 0)
          xattrs_ok = true;
      }
    }
  }
  free(buf);
  return 0;
}

static int teardown(void **state) {
  cb_rm_rf(dir, NULL);
  return 0;
}

static void test_big_folder(void **state) {
  char tarp[96];
  snprintf(tarp, sizeof tarp, "%s.tar", dir);
  cleanup_close int out = open(tarp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  cleanup_close int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct cb_tar_write w = {.name = "top"};
  cb_error_t err = NULL;
  if (cb_archive_write_tree(d, "", out, &w, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  assert_int_equal(w.stats.entries, N + 1);

  struct archive *a = archive_read_new();
  archive_read_support_format_tar(a);
  assert_int_equal(archive_read_open_filename(a, tarp, 65536), ARCHIVE_OK);
  struct archive_entry *e;
  assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
  assert_string_equal(archive_entry_pathname(e), "top/");
  char *want = xmalloc(300 * 1024), *got = xmalloc(300 * 1024 + 1);
  for (int i = 0; i < N; i++) {
    assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
    char name[32];
    snprintf(name, sizeof name, "top/e%04d", i);
    assert_string_equal(archive_entry_pathname(e), name); /* in order */
    int kind = i % 7;
    if (kind == 5) {
      char t[32];
      snprintf(t, sizeof t, "target-%d", i);
      assert_int_equal(archive_entry_filetype(e), AE_IFLNK);
      assert_string_equal(archive_entry_symlink(e), t);
      continue;
    }
    if (kind == 6) {
      assert_int_equal(archive_entry_filetype(e), AE_IFIFO);
      assert_int_equal(archive_entry_perm(e), 0640);
      continue;
    }
    assert_int_equal(archive_entry_filetype(e), AE_IFREG);
    size_t n = size_of(i);
    assert_int_equal(archive_entry_size(e), (la_int64_t)n);
    size_t have = 0;
    for (;;) {
      la_ssize_t r = archive_read_data(a, got + have, 300 * 1024 + 1 - have);
      assert_true(r >= 0);
      if (r == 0)
        break;
      have += (size_t)r;
    }
    assert_int_equal(have, n);
    fill(want, n, i);
    if (memcmp(want, got, n))
      fail_msg("the data of %s differs", name);
    int nx = archive_entry_xattr_reset(e);
    if (xattrs_ok && i % 11 == 0) {
      assert_int_equal(nx, 1);
      const char *xn;
      const void *xv;
      size_t xs;
      archive_entry_xattr_next(e, &xn, &xv, &xs);
      char v[16];
      snprintf(v, sizeof v, "v%d", i);
      assert_string_equal(xn, "user.cbtest");
      assert_int_equal(xs, strlen(v));
      assert_memory_equal(xv, v, xs);
    } else {
      assert_int_equal(nx, 0);
    }
  }
  assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_EOF);
  archive_read_free(a);
  free(want);
  free(got);
  unlink(tarp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_big_folder, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
