/* SPDX-License-Identifier: GPL-2.0-or-later */
/* hostfile.c: a host file handed into a container can be read and run through its
 * descriptor, never changed: not reopened for writing through /proc/self/fd, not
 * chmodded, chowned or touched (runc's CVE-2019-5736). Needs root (open_tree). */
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
#include <sys/wait.h>
#include <unistd.h>

#include "crowbar/hostfile.h"

static int need_root(void) {
  if (geteuid() == 0)
    return 0;
  print_message("# skipped: open_tree needs root\n");
  return -1;
}

static void test_open_ro(void **state) {
  if (need_root() < 0)
    skip();
  char path[] = "/tmp/cb-hostfile-XXXXXX";
  int w = mkstemp(path);
  assert_true(w >= 0);
  /* A copy of false(1): runnable through the descriptor, as crowbar-init is. */
  int src = open("/bin/false", O_RDONLY);
  assert_true(src >= 0);
  char buf[65536];
  ssize_t n;
  while ((n = read(src, buf, sizeof buf)) > 0)
    assert_int_equal(write(w, buf, (size_t)n), n);
  close(src);
  fchmod(w, 0755);
  close(w);
  struct stat before;
  assert_int_equal(stat(path, &before), 0);

  cb_error_t err = NULL;
  int fd = cb_hostfile_open_ro(AT_FDCWD, path, &err);
  assert_true(fd >= 0);
  char again[64];
  snprintf(again, sizeof again, "/proc/self/fd/%d", fd);
  errno = 0;
  assert_int_equal(open(again, O_WRONLY | O_APPEND), -1);
  assert_int_equal(errno, EROFS);
  int r = open(again, O_RDONLY);
  assert_true(r >= 0);
  assert_int_equal(fchmod(r, 0777), -1);
  assert_int_equal(errno, EROFS);
  assert_int_equal(fchown(r, 1, 1), -1);
  assert_int_equal(errno, EROFS);
  assert_int_equal(futimens(r, NULL), -1);
  assert_int_equal(errno, EROFS);
  close(r);
  pid_t pid = fork();
  if (pid == 0) {
    char *argv[] = {"false", NULL}, *envp[] = {NULL};
    execveat(fd, "", argv, envp, AT_EMPTY_PATH);
    _exit(99);
  }
  int status;
  waitpid(pid, &status, 0);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
  close(fd);

  struct stat after;
  assert_int_equal(stat(path, &after), 0);
  assert_int_equal(after.st_mode, before.st_mode);
  assert_int_equal(after.st_size, before.st_size);
  assert_int_equal(after.st_ctim.tv_nsec, before.st_ctim.tv_nsec);
  /* The same file, through a descriptor. */
  int d = open(path, O_RDONLY | O_CLOEXEC);
  fd = cb_hostfile_open_ro(d, "", &err);
  assert_true(fd >= 0);
  close(fd);
  close(d);
  /* A folder is no file to run. */
  assert_int_equal(cb_hostfile_open_ro(AT_FDCWD, "/tmp", &err), -1);
  assert_non_null(err);
  cb_error_release(&err);
  unlink(path);
}

static void test_open_null(void **state) {
  if (need_root() < 0)
    skip();
  cb_error_t err = NULL;
  int fd = cb_hostfile_open_null(O_RDWR, &err);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "x", 1), 1);
  char c;
  assert_int_equal(read(fd, &c, 1), 0);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(fchmod(fd, st.st_mode & 07777), -1);
  assert_int_equal(errno, EROFS);
  close(fd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_ro),
      cmocka_unit_test(test_open_null),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
