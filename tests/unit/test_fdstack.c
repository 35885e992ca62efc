/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fdstack.h: a walk down a chain of folders keeps few descriptors open, finds every folder
 * again on the way up, and fails (ESTALE) when one was moved while it was closed. */
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
#include <unistd.h>

#include "crowbar/fdstack.h"
#include "crowbar/util.h"

#define DEPTH 200

static char top[64];

static int setup(void **state) {
  strcpy(top, "/tmp/cb-fdstack.XXXXXX");
  if (!mkdtemp(top))
    return -1;
  /* top/d/d/.../d, DEPTH levels; each level also holds a file named after its depth. */
  int fd = open(top, O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < DEPTH; i++) {
    char n[16];
    snprintf(n, sizeof n, "%d", i);
    close(openat(fd, n, O_WRONLY | O_CREAT, 0644));
    mkdirat(fd, "d", 0755);
    int next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
    close(fd);
    fd = next;
  }
  close(fd);
  return 0;
}

static int teardown(void **state) {
  cb_rm_rf(top, NULL);
  return 0;
}

static size_t open_fds(void) {
  size_t n = 0;
  for (int fd = 0; fd < 4096; fd++)
    if (fcntl(fd, F_GETFD) >= 0)
      n++;
  return n;
}

/* Down the chain, then up: at most max (and the top two frames) open on the way down;
 * each frame on the way up is the folder it was (it holds the file named after its depth). */
static void test_chain(void **state) {
  size_t before = open_fds();
  struct cb_fdstack s;
  cb_fdstack_init(&s, 8);
  cb_fdstack_push(&s, (int[]){open(top, O_RDONLY | O_DIRECTORY)}, NULL, 1);
  size_t most = 0;
  for (int i = 0; i < DEPTH; i++) {
    int fd = openat(cb_fdstack_top(&s), "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    assert_true(fd >= 0);
    cb_fdstack_push(&s, &fd, NULL, 1);
    size_t now = open_fds() - before;
    if (now > most)
      most = now;
  }
  assert_true(most <= 8 + 2);
  for (int i = DEPTH; i > 0; i--) {
    cb_error_t err = NULL;
    if (cb_fdstack_pop(&s, &err) < 0)
      fail_msg("%s", cb_error_text(err));
    char n[16];
    snprintf(n, sizeof n, "%d", i - 1);
    struct stat st;
    assert_int_equal(fstatat(cb_fdstack_top(&s), n, &st, 0), 0);
    /* The frame below the top is open too. */
    if (s.depth >= 2) {
      size_t k;
      int *fds = cb_fdstack_frame(&s, s.depth - 2, &k);
      assert_true(fcntl(fds[0], F_GETFD) >= 0);
    }
  }
  assert_int_equal(s.depth, 1);
  cb_fdstack_release(&s);
  assert_int_equal(open_fds(), before);
}

/* A folder moved while its descriptor was closed: the walk fails, never goes on in the
 * folder that now sits where it was. */
static void test_moved(void **state) {
  struct cb_fdstack s;
  cb_fdstack_init(&s, 4);
  cb_fdstack_push(&s, (int[]){open(top, O_RDONLY | O_DIRECTORY)}, NULL, 1);
  for (int i = 0; i < 20; i++) {
    int fd = openat(cb_fdstack_top(&s), "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    cb_fdstack_push(&s, &fd, NULL, 1);
  }
  /* Level 3 (top/d/d/d) goes elsewhere, an impostor takes its place. */
  char from[256], to[256];
  snprintf(from, sizeof from, "%s/d/d/d", top);
  snprintf(to, sizeof to, "%s/moved", top);
  assert_int_equal(rename(from, to), 0);
  assert_int_equal(mkdir(from, 0755), 0);
  snprintf(from, sizeof from, "%s/moved/d", top);
  snprintf(to, sizeof to, "%s/d/d/d/d", top);
  assert_int_equal(rename(from, to), 0);
  cb_error_t err = NULL;
  int rc = 0;
  while (s.depth > 1 && (rc = cb_fdstack_pop(&s, &err)) == 0)
    ;
  assert_int_equal(rc, -1);
  assert_int_equal(err->errno_, ESTALE);
  cb_error_release(&err);
  cb_fdstack_release(&s);
}

/* Union frames: a tag the frame below lacks stays open; the others are found again by
 * their own tag. */
static void test_tags(void **state) {
  struct cb_fdstack s;
  cb_fdstack_init(&s, 4);
  /* Frame 0 and 1: two "layers" (tags 0 and 1), both top; then only tag 1 goes down. */
  int a = open(top, O_RDONLY | O_DIRECTORY), b = open(top, O_RDONLY | O_DIRECTORY);
  cb_fdstack_push(&s, (int[]){a, b}, (int[]){0, 1}, 2);
  int c = openat(a, "d", O_RDONLY | O_DIRECTORY), d = openat(b, "d", O_RDONLY | O_DIRECTORY);
  cb_fdstack_push(&s, (int[]){c, d}, (int[]){0, 1}, 2);
  for (int i = 0; i < 30; i++) {
    size_t k;
    int *t = cb_fdstack_frame(&s, s.depth - 1, &k);
    int fd = openat(t[k - 1], "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    assert_true(fd >= 0);
    cb_fdstack_push(&s, &fd, (int[]){1}, 1);
  }
  /* Frame 1's tag-0 descriptor had no child to come back from: still open. */
  size_t n;
  /* Frame 0 (never closed), the stuck tag-0 one, the top two frames: no more. */
  assert_int_equal(s.open, 2 + 1 + 2);
  int *f1 = cb_fdstack_frame(&s, 1, &n);
  assert_int_equal(n, 2);
  assert_true(f1[0] >= 0 && fcntl(f1[0], F_GETFD) >= 0);
  cb_error_t err = NULL;
  while (s.depth > 1)
    if (cb_fdstack_pop(&s, &err) < 0)
      fail_msg("%s", cb_error_text(err));
  cb_fdstack_release(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
      cmocka_unit_test_setup_teardown(test_moved, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tags, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
