/* SPDX-License-Identifier: GPL-2.0-or-later */
/* saferoot on a hostile tree: a temporary "container root" full of absolute symlinks to
 * host files, ".." chains, symlink loops and magic links, and a thread that swaps a folder
 * for a symlink to the host while files are created through it. A copy of each host file
 * the tree points at exists with a marker, so a leak shows as the host's content. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/saferoot.h"
#include "crowbar/util.h"

struct fix {
  char root[64]; /* the "container" */
  char host[64]; /* a host folder the container's links name by its absolute path */
  int rootfd;
};

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static char *slurp_fd(int fd) {
  static char buf[256];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  assert_true(n >= 0);
  buf[n] = '\0';
  return buf;
}

static void mk(struct fix *f, const char *rel) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", f->root, rel);
  assert_int_equal(cb_mkdir_p(p, 0755, NULL), 0);
}

static void ln(struct fix *f, const char *target, const char *rel) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", f->root, rel);
  assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state) {
  struct fix *f = calloc(1, sizeof *f);
  strcpy(f->root, "/tmp/cb-saferoot-root.XXXXXX");
  strcpy(f->host, "/tmp/cb-saferoot-host.XXXXXX");
  if (!mkdtemp(f->root) || !mkdtemp(f->host))
    return -1;
  char p[256], t[256];
  /* The host's secret, at an absolute path the container can name. */
  snprintf(p, sizeof p, "%s/secret", f->host);
  put(p, "HOST-SECRET");
  /* The same path inside the container holds the container's own file. */
  snprintf(p, sizeof p, "%s%s", f->root, f->host);
  cb_mkdir_p(p, 0755, NULL);
  snprintf(p, sizeof p, "%s%s/secret", f->root, f->host);
  put(p, "container-secret");
  mk(f, "etc");
  snprintf(p, sizeof p, "%s/etc/shadow", f->root);
  put(p, "container-shadow");
  mk(f, "a/b/c");
  snprintf(t, sizeof t, "%s/secret", f->host);
  ln(f, t, "evil");                                        /* absolute, to the host path */
  ln(f, "../../../../../../../../etc/shadow", "a/b/c/up"); /* climbs "above" the root */
  ln(f, "/", "a/rootlink");
  ln(f, "loop2", "loop1");
  ln(f, "loop1", "loop2");
  ln(f, f->host, "out"); /* a folder link to the host folder */
  ln(f, "/nonexistent/dangling", "dangling");
  f->rootfd = open(f->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true(f->rootfd >= 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fix *f = *state;
  close(f->rootfd);
  cb_rm_rf(f->root, NULL);
  cb_rm_rf(f->host, NULL);
  free(f);
  return 0;
}

static void test_absolute_symlink(void **state) {
  struct fix *f = *state;
  cleanup_close int fd = cb_sr_open(f->rootfd, "/evil", O_RDONLY, 0);
  assert_true(fd >= 0);
  assert_string_equal(slurp_fd(fd), "container-secret");
  /* Not followed: the link itself, or a refusal. */
  cleanup_close int lfd = cb_sr_open(f->rootfd, "/evil", O_PATH, CB_SR_NOFOLLOW);
  struct stat st;
  assert_int_equal(fstat(lfd, &st), 0);
  assert_true(S_ISLNK(st.st_mode));
  assert_int_equal(cb_sr_open(f->rootfd, "evil", O_RDONLY, CB_SR_NOFOLLOW), -1);
  assert_int_equal(errno, ELOOP);
  cleanup_free char *target = NULL;
  assert_int_equal(cb_sr_readlink(f->rootfd, "/evil", &target), 0);
  assert_true(cb_str_has_suffix(target, "/secret"));
  /* A folder link to "/" stays at the container's root. */
  cleanup_close int sfd = cb_sr_open(f->rootfd, "a/rootlink/etc/shadow", O_RDONLY, 0);
  assert_string_equal(slurp_fd(sfd), "container-shadow");
  /* As a floor instead of a root, an absolute link is refused. */
  assert_int_equal(cb_sr_open(f->rootfd, "evil", O_RDONLY, CB_SR_BENEATH), -1);
  assert_int_equal(errno, EXDEV);
}

static void test_dotdot(void **state) {
  struct fix *f = *state;
  const char *paths[] = {"../../../etc/shadow", "/../../../../etc/shadow", "a/b/c/up",
                         "a/../../a/b/../../../etc/shadow", "a/b/c/../../../../../etc/./shadow"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    cleanup_close int fd = cb_sr_open(f->rootfd, paths[i], O_RDONLY, 0);
    if (fd < 0)
      fail_msg("%s: %s", paths[i], strerror(errno));
    assert_string_equal(slurp_fd(fd), "container-shadow");
  }
  assert_int_equal(cb_sr_open(f->rootfd, "../etc/shadow", O_RDONLY, CB_SR_BENEATH), -1);
  assert_int_equal(errno, EXDEV);
  /* The root's parent is the root. */
  struct stat a, b;
  assert_int_equal(cb_sr_stat(f->rootfd, "../..", 0, &a), 0);
  assert_int_equal(fstat(f->rootfd, &b), 0);
  assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
}

static void test_loops_and_dangling(void **state) {
  struct fix *f = *state;
  assert_int_equal(cb_sr_open(f->rootfd, "loop1", O_RDONLY, 0), -1);
  assert_int_equal(errno, ELOOP);
  assert_int_equal(cb_sr_open(f->rootfd, "loop1/x", O_RDONLY, 0), -1);
  assert_int_equal(errno, ELOOP);
  assert_int_equal(cb_sr_open(f->rootfd, "dangling", O_RDONLY, 0), -1);
  assert_int_equal(errno, ENOENT);
  /* Creating through a dangling link is refused rather than following it anywhere. */
  assert_int_equal(cb_sr_create(f->rootfd, "dangling", O_WRONLY, 0644), -1);
  assert_int_equal(errno, ELOOP);
  assert_int_equal(access("/nonexistent/dangling", F_OK), -1);
  /* With no symlinks allowed at all, a plain folder opens and a link is refused. */
  cleanup_close int dfd = cb_sr_open(f->rootfd, "a/b", O_RDONLY, CB_SR_NO_SYMLINKS);
  assert_true(dfd >= 0);
  assert_int_equal(cb_sr_open(f->rootfd, "a/rootlink/etc", O_RDONLY, CB_SR_NO_SYMLINKS), -1);
  assert_int_equal(errno, ELOOP);
}

static void test_magic_links(void **state) {
  (void)state;
  /* With "/" as the root, /proc/self/root and /proc/self/fd/N are reachable: both are
   * magic links and are refused, even though they would lead "inside". */
  cleanup_close int rfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_int_equal(cb_sr_open(rfd, "/proc/self/root/etc/hostname", O_RDONLY, 0), -1);
  assert_int_equal(errno, ELOOP);
  char p[64];
  snprintf(p, sizeof p, "/proc/self/fd/%d", rfd);
  assert_int_equal(cb_sr_open(rfd, p, O_PATH, 0), -1);
  assert_int_equal(errno, ELOOP);
  /* /proc itself is another mount: refused with CB_SR_NO_XDEV. */
  assert_int_equal(cb_sr_open(rfd, "/proc/self/status", O_RDONLY, CB_SR_NO_XDEV), -1);
  assert_int_equal(errno, EXDEV);
  cleanup_close int ok = cb_sr_open(rfd, "/proc/self/status", O_RDONLY, 0);
  assert_true(ok >= 0);
}

/* Nothing written through the container's links may appear in the host folder. */
static void assert_host_untouched(struct fix *f) {
  cleanup_dir DIR *d = opendir(f->host);
  assert_non_null(d);
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "secret"))
      fail_msg("written on the host: %s/%s", f->host, de->d_name);
  char p[256];
  snprintf(p, sizeof p, "%s/secret", f->host);
  cleanup_close int fd = open(p, O_RDONLY);
  assert_string_equal(slurp_fd(fd), "HOST-SECRET");
}

static void test_writes_through_links(void **state) {
  struct fix *f = *state;
  /* A file created through a folder link lands in the container's copy of that path. */
  cleanup_close int fd = cb_sr_create(f->rootfd, "out/new", O_WRONLY | O_EXCL, 0644);
  assert_true(fd >= 0);
  char p[256];
  snprintf(p, sizeof p, "%s%s/new", f->root, f->host);
  assert_int_equal(access(p, F_OK), 0);
  /* An existing link as the last component is never written through. */
  assert_int_equal(cb_sr_create(f->rootfd, "evil", O_WRONLY | O_TRUNC, 0644), -1);
  assert_int_equal(errno, ELOOP);
  assert_int_equal(cb_sr_mkdir(f->rootfd, "out/newdir", 0755), 0);
  cleanup_close int dfd = cb_sr_mkdir_all(f->rootfd, "/out/x/y/../z", 0755);
  assert_true(dfd >= 0);
  snprintf(p, sizeof p, "%s%s/x/z", f->root, f->host);
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  /* mkdir_all through a dangling link's folder part cannot create on the host. */
  cleanup_close int d2 = cb_sr_mkdir_all(f->rootfd, "a/rootlink/tmp/made", 0755);
  assert_true(d2 >= 0);
  snprintf(p, sizeof p, "%s/tmp/made", f->root);
  assert_int_equal(stat(p, &st), 0);
  /* rename_into over a link replaces the link itself. */
  cleanup_close int tmp = cb_sr_create(f->rootfd, "tmpfile", O_WRONLY | O_EXCL, 0644);
  assert_int_equal(write(tmp, "new", 3), 3);
  assert_int_equal(cb_sr_rename_into(f->rootfd, "tmpfile", f->rootfd, "a/b/c/up", 0), 0);
  assert_int_equal(cb_sr_stat(f->rootfd, "a/b/c/up", CB_SR_NOFOLLOW, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  cleanup_close int sh = cb_sr_open(f->rootfd, "etc/shadow", O_RDONLY, 0);
  assert_string_equal(slurp_fd(sh), "container-shadow");
  assert_int_equal(cb_sr_unlink(f->rootfd, "out/new", 0), 0);
  assert_host_untouched(f);
}

static void test_parent(void **state) {
  struct fix *f = *state;
  char *base = NULL;
  const char *bad[] = {"", "/", ".", "a/..", "a/.", "//"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(cb_sr_open_parent(f->rootfd, bad[i], 0, &base), -1);
    assert_int_equal(errno, EINVAL);
  }
  cleanup_close int p = cb_sr_open_parent(f->rootfd, "/a/rootlink/etc/shadow/", 0, &base);
  assert_true(p >= 0);
  assert_string_equal(base, "shadow");
  free(base);
  cleanup_close int q = cb_sr_open_parent(f->rootfd, "evil", 0, &base);
  assert_string_equal(base, "evil");
  free(base);
  assert_int_equal(cb_sr_open_parent(f->rootfd, "nope/x", 0, &base), -1);
  assert_int_equal(errno, ENOENT);
  assert_int_equal(cb_sr_open_parent(f->rootfd, "etc/shadow/x", 0, &base), -1);
  assert_int_equal(errno, ENOTDIR);
}

static void test_openat_names(void **state) {
  struct fix *f = *state;
  const char *bad[] = {"", ".", "..", "a/b", "/etc"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(cb_sr_openat_dir(f->rootfd, bad[i]), -1);
    assert_int_equal(errno, EINVAL);
  }
  assert_int_equal(cb_sr_openat_dir(f->rootfd, "out"), -1);
  assert_true(errno == ELOOP || errno == ENOTDIR);
  assert_int_equal(cb_sr_openat(f->rootfd, "evil", O_RDONLY, 0), -1);
  assert_int_equal(errno, ELOOP);
  cleanup_close int a = cb_sr_openat_dir(f->rootfd, "a");
  assert_true(a >= 0);
  cleanup_free char *t = NULL;
  assert_int_equal(cb_sr_readlinkat(a, "rootlink", &t), 0);
  assert_string_equal(t, "/");
}

struct seen {
  char buf[4096];
};
static int record(const struct cb_sr_entry *e, enum cb_sr_visit v, void *data, cb_error_t *err) {
  struct seen *s = data;
  char line[300];
  snprintf(line, sizeof line, "%c%s%s;",
           v == CB_SR_VISIT_PRE    ? '>'
           : v == CB_SR_VISIT_POST ? '<'
                                   : '=',
           e->path, S_ISLNK(e->st.st_mode) ? "@" : "");
  strcat(s->buf, line);
  if (v != CB_SR_VISIT_LEAF)
    assert_true(e->fd >= 0);
  return 0;
}

static void test_walk(void **state) {
  struct fix *f = *state;
  struct seen s = {{0}};
  cb_error_t err = NULL;
  assert_int_equal(cb_sr_walk(f->rootfd, "a", CB_SR_WALK_SORTED, record, &s, &err), 0);
  /* Folder links are reported as links, never walked into. */
  assert_string_equal(s.buf, ">;>b;>b/c;=b/c/up@;<b/c;<b;=rootlink@;<;");
  memset(&s, 0, sizeof s);
  assert_int_equal(cb_sr_walk(f->rootfd, "evil", 0, record, &s, &err), 0);
  assert_string_equal(s.buf, "=@;");
  assert_int_equal(cb_sr_walk(f->rootfd, "nope", 0, record, &s, &err), -1);
  assert_int_equal(err->errno_, ENOENT);
  cb_error_release(&err);
}

/* The race of CVE-2018-15664: while files are created through "sw/", another thread keeps
 * exchanging "sw" between a real folder and a symlink to the host folder. */
struct racer {
  struct fix *f;
  volatile int stop;
};
static void *swap_loop(void *arg) {
  struct racer *r = arg;
  char dir[256], link[256], sw[256];
  snprintf(dir, sizeof dir, "%s/swdir", r->f->root);
  snprintf(link, sizeof link, "%s/swlink", r->f->root);
  snprintf(sw, sizeof sw, "%s/sw", r->f->root);
  while (!r->stop) {
    renameat2(AT_FDCWD, dir, AT_FDCWD, sw, RENAME_EXCHANGE);
    renameat2(AT_FDCWD, link, AT_FDCWD, sw, RENAME_EXCHANGE);
    renameat2(AT_FDCWD, sw, AT_FDCWD, link, RENAME_EXCHANGE);
    renameat2(AT_FDCWD, sw, AT_FDCWD, dir, RENAME_EXCHANGE);
  }
  return NULL;
}

static void test_swap_race(void **state) {
  struct fix *f = *state;
  mk(f, "swdir");
  mk(f, "sw");
  ln(f, f->host, "swlink");
  struct racer r = {.f = f};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, swap_loop, &r), 0);
  int created = 0;
  for (int i = 0; i < 3000; i++) {
    char name[64];
    snprintf(name, sizeof name, "/sw/f%d", i);
    int fd = cb_sr_create(f->rootfd, name, O_WRONLY | O_EXCL, 0644);
    if (fd >= 0) {
      created++;
      close(fd);
    }
    cleanup_close int d = cb_sr_mkdir_all(f->rootfd, "sw/deep/er", 0755);
  }
  r.stop = 1;
  pthread_join(t, NULL);
  assert_true(created > 0);
  assert_host_untouched(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_absolute_symlink, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dotdot, setup, teardown),
      cmocka_unit_test_setup_teardown(test_loops_and_dangling, setup, teardown),
      cmocka_unit_test_setup_teardown(test_magic_links, setup, teardown),
      cmocka_unit_test_setup_teardown(test_writes_through_links, setup, teardown),
      cmocka_unit_test_setup_teardown(test_parent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_openat_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_walk, setup, teardown),
      cmocka_unit_test_setup_teardown(test_swap_race, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
