/* SPDX-License-Identifier: GPL-2.0-or-later */
/* copy.h against a container that swaps the node a copy has just made, in the moment
 * between the system call that made it and the ones that set its owner, mode and times
 * (issue 7, item 3). A container does it with inotify and a rename; here this program's
 * own mknodat and symlinkat, which the copy code links to instead of libc's, do it at
 * once, every time: the new name becomes a symlink to a file outside the destination (as
 * the host resolves it) or a hard link to another file of the destination (one of the
 * container's own). Whatever the copy then does, the victim's mode, owner and times must
 * stay as they were. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crowbar/copy.h"
#include "crowbar/util.h"

/* ---- the hostile side: what replaces every node the copy makes ------------------------- */

enum swap { SWAP_OFF, SWAP_SYMLINK, SWAP_HARDLINK };
static enum swap swap_mode;
static char swap_target[256];
static int swaps;

static void swap_node(int dirfd, const char *name) {
  if (swap_mode == SWAP_OFF)
    return;
  if (unlinkat(dirfd, name, 0) < 0)
    return;
  if (swap_mode == SWAP_SYMLINK)
    syscall(SYS_symlinkat, swap_target, dirfd, name);
  else
    linkat(AT_FDCWD, swap_target, dirfd, name, 0);
  swaps++;
}

int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev) {
  long r = syscall(SYS_mknodat, dirfd, path, mode, dev);
  if (r == 0)
    swap_node(dirfd, path);
  return (int)r;
}

int symlinkat(const char *target, int dirfd, const char *path) {
  long r = syscall(SYS_symlinkat, target, dirfd, path);
  if (r == 0)
    swap_node(dirfd, path);
  return (int)r;
}

/* ---- fixture ------------------------------------------------------------------------ */

struct fix {
  char src[64], dst[64], out[64];
  int srcfd, dstfd;
  char victim[128]; /* outside the destination */
  char inner[128];  /* one of the destination's own files */
};

static const struct timespec OLD[2] = {{1000000000, 0}, {1000000000, 0}};

static void make_victim(const char *p) {
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "victim", 6), 6);
  close(fd);
  chmod(p, 0644);
  assert_int_equal(chown(p, 0, 0), 0);
  utimensat(AT_FDCWD, p, OLD, 0);
}

static void untouched(const char *p) {
  struct stat st;
  assert_int_equal(lstat(p, &st), 0);
  if ((st.st_mode & 07777) != 0644 || st.st_uid != 0 || st.st_gid != 0 ||
      st.st_mtim.tv_sec != OLD[1].tv_sec)
    fail_msg("%s changed: mode %o, owner %d:%d, mtime %ld", p, st.st_mode & 07777, (int)st.st_uid,
             (int)st.st_gid, (long)st.st_mtim.tv_sec);
}

static int setup(void **state) {
  struct fix *f = calloc(1, sizeof *f);
  strcpy(f->src, "/tmp/cb-race-src.XXXXXX");
  strcpy(f->dst, "/tmp/cb-race-dst.XXXXXX");
  strcpy(f->out, "/tmp/cb-race-out.XXXXXX");
  if (!mkdtemp(f->src) || !mkdtemp(f->dst) || !mkdtemp(f->out))
    return -1;
  snprintf(f->victim, sizeof f->victim, "%s/victim", f->out);
  snprintf(f->inner, sizeof f->inner, "%s/inner", f->dst);
  make_victim(f->victim);
  make_victim(f->inner);
  /* The source: a FIFO and a symlink with a mode, an owner and times of their own, alone
   * (copied as the top entry: a temporary name) and in a folder (made at their name). */
  char p[256];
  snprintf(p, sizeof p, "%s/tree", f->src);
  mkdir(p, 0755);
  for (int i = 0; i < 2; i++) {
    snprintf(p, sizeof p, i ? "%s/tree/fifo" : "%s/fifo", f->src);
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_int_equal(lchown(p, 1234, 1234), 0);
    chmod(p, 06707);
    snprintf(p, sizeof p, i ? "%s/tree/link" : "%s/link", f->src);
    assert_int_equal(symlink("somewhere", p), 0);
    assert_int_equal(lchown(p, 1234, 1234), 0);
  }
  f->srcfd = open(f->src, O_PATH | O_DIRECTORY);
  f->dstfd = open(f->dst, O_PATH | O_DIRECTORY);
  swaps = 0;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fix *f = *state;
  swap_mode = SWAP_OFF;
  close(f->srcfd);
  close(f->dstfd);
  cb_rm_rf(f->src, NULL);
  cb_rm_rf(f->dst, NULL);
  cb_rm_rf(f->out, NULL);
  free(f);
  return 0;
}

/* Copy src's name to dst (as name, or into a new folder for "tree"), swapping every node
 * made; the copy may fail (it should: what it made was replaced), the victims stay. */
static void copy_swapped(struct fix *f, const char *name, enum swap mode, const char *target) {
  swap_mode = mode;
  snprintf(swap_target, sizeof swap_target, "%s", target);
  struct cb_copy c = {.flags = CB_COPY_KEEP_OWNER, .dst_dir_display = "/dst"};
  cb_error_t err = NULL;
  int rc = cb_copy_tree(f->srcfd, name, f->dstfd, name, &c, &err);
  swap_mode = SWAP_OFF;
  cb_error_release(&err);
  (void)rc;
  assert_true(swaps > 0);
  untouched(f->victim);
  untouched(f->inner);
}

static void test_fifo_top_symlink_to_host(void **state) {
  struct fix *f = *state;
  copy_swapped(f, "fifo", SWAP_SYMLINK, f->victim);
}

static void test_fifo_in_tree_symlink_to_host(void **state) {
  struct fix *f = *state;
  copy_swapped(f, "tree", SWAP_SYMLINK, f->victim);
}

static void test_fifo_hardlink_to_own_file(void **state) {
  struct fix *f = *state;
  copy_swapped(f, "fifo", SWAP_HARDLINK, f->inner);
}

static void test_symlink_hardlink_to_own_file(void **state) {
  struct fix *f = *state;
  copy_swapped(f, "link", SWAP_HARDLINK, f->inner);
  copy_swapped(f, "tree", SWAP_HARDLINK, f->inner);
}

/* The same through a tar stream (cp - CTR:DIR). */
static void write_tar(const char *path) {
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, "fifo");
  archive_entry_set_filetype(e, AE_IFIFO);
  archive_entry_set_perm(e, 06707);
  archive_entry_set_uid(e, 1234);
  archive_entry_set_gid(e, 1234);
  archive_entry_set_mtime(e, 2000000000, 0);
  archive_write_header(a, e);
  archive_entry_clear(e);
  archive_entry_set_pathname(e, "link");
  archive_entry_set_filetype(e, AE_IFLNK);
  archive_entry_set_symlink(e, "somewhere");
  archive_entry_set_perm(e, 0777);
  archive_entry_set_uid(e, 1234);
  archive_entry_set_gid(e, 1234);
  archive_entry_set_mtime(e, 2000000000, 0);
  archive_write_header(a, e);
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
}

static void untar_swapped(struct fix *f, enum swap mode, const char *target) {
  char tar[256];
  snprintf(tar, sizeof tar, "%s/in.tar", f->src);
  write_tar(tar);
  int in = open(tar, O_RDONLY);
  assert_true(in >= 0);
  swap_mode = mode;
  snprintf(swap_target, sizeof swap_target, "%s", target);
  struct cb_copy c = {.flags = CB_COPY_KEEP_OWNER, .dst_dir_display = "/dst"};
  cb_error_t err = NULL;
  cb_copy_untar(in, f->dstfd, &c, &err);
  swap_mode = SWAP_OFF;
  cb_error_release(&err);
  close(in);
  assert_true(swaps > 0);
  untouched(f->victim);
  untouched(f->inner);
}

static void test_untar_symlink_to_host(void **state) {
  struct fix *f = *state;
  untar_swapped(f, SWAP_SYMLINK, f->victim);
}

static void test_untar_hardlink_to_own_file(void **state) {
  struct fix *f = *state;
  untar_swapped(f, SWAP_HARDLINK, f->inner);
}

/* Without a swap, the nodes come out as they were. */
static void test_plain(void **state) {
  struct fix *f = *state;
  struct cb_copy c = {.flags = CB_COPY_KEEP_OWNER};
  cb_error_t err = NULL;
  if (cb_copy_tree(f->srcfd, "tree", f->dstfd, "tree", &c, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  char p[256];
  struct stat st;
  snprintf(p, sizeof p, "%s/tree/fifo", f->dst);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISFIFO(st.st_mode) && (st.st_mode & 07777) == 06707 && st.st_uid == 1234);
  snprintf(p, sizeof p, "%s/tree/link", f->dst);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISLNK(st.st_mode) && st.st_uid == 1234);
}

int main(void) {
  if (geteuid() != 0) {
    printf("1..0 # SKIP copy races need root (chown)\n");
    return 0;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fifo_top_symlink_to_host, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fifo_in_tree_symlink_to_host, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fifo_hardlink_to_own_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_symlink_hardlink_to_own_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_untar_symlink_to_host, setup, teardown),
      cmocka_unit_test_setup_teardown(test_untar_hardlink_to_own_file, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
