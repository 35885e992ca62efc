/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rootfs.c on a stopped container's record made by hand: the private overlay shows the
 * container's view (whiteouts, opaque dirs), writes land in the upper dir, and no mount
 * ever appears in this process's mount table, during or after (with the new mount API
 * and with the unshare fallback). Needs root; skipped otherwise. */
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
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/json.h"
#include "crowbar/rootfs.h"
#include "crowbar/util.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct fixture {
  char root[64];
  struct cb_ctx ctx;
  char *cdir;
};

static void put(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void mkdirs(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *p = NULL;
  assert_true(vasprintf(&p, fmt, ap) > 0);
  va_end(ap);
  cb_error_t err = NULL;
  assert_int_equal(cb_mkdir_p(p, 0755, &err), 0);
  free(p);
}

static int setup(void **state) {
  if (geteuid() != 0)
    return 0;
  struct fixture *f = xcalloc(1, sizeof *f);
  strcpy(f->root, "/tmp/cb-test-rootfs.XXXXXX");
  assert_non_null(mkdtemp(f->root));
  f->ctx.root = xstrdup(f->root);
  f->ctx.runroot = xasprintf("%s/run", f->root);
  f->cdir = xasprintf("%s/containers/%s", f->root, ID);
  mkdirs("%s/upper/d", f->cdir);
  mkdirs("%s/work", f->cdir);
  mkdirs("%s/init/etc", f->cdir);
  mkdirs("%s/layer/d", f->root);
  mkdirs("%s", f->ctx.runroot);
  char p[512];
  snprintf(p, sizeof p, "%s/layer/a", f->root);
  put(p, "lower a\n");
  snprintf(p, sizeof p, "%s/layer/keep", f->root);
  put(p, "kept\n");
  snprintf(p, sizeof p, "%s/layer/d/x", f->root);
  put(p, "hidden by the opaque dir\n");
  snprintf(p, sizeof p, "%s/init/etc/hosts", f->cdir);
  put(p, "");
  snprintf(p, sizeof p, "%s/upper/a", f->cdir);
  assert_int_equal(mknod(p, S_IFCHR, makedev(0, 0)), 0); /* deleted */
  snprintf(p, sizeof p, "%s/upper/n", f->cdir);
  put(p, "new\n");
  snprintf(p, sizeof p, "%s/upper/d", f->cdir);
  assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
  snprintf(p, sizeof p, "%s/upper/d/z", f->cdir);
  put(p, "z\n");

  json_object *j = json_object_new_object();
  cb_json_set_str(j, "Id", ID);
  cb_json_set_str(j, "Name", "/fixture");
  json_object *st = cb_json_obj(j, "State");
  cb_json_set_str(st, "Status", "exited");
  json_object *d = cb_json_obj(cb_json_obj(j, "GraphDriver"), "Data");
  char *lower = xasprintf("%s/init:%s/layer", f->cdir, f->root);
  char *upper = xasprintf("%s/upper", f->cdir);
  char *work = xasprintf("%s/work", f->cdir);
  cb_json_set_str(d, "LowerDir", lower);
  cb_json_set_str(d, "UpperDir", upper);
  cb_json_set_str(d, "WorkDir", work);
  free(lower);
  free(upper);
  free(work);
  snprintf(p, sizeof p, "%s/container.json", f->cdir);
  cb_error_t err = NULL;
  assert_int_equal(cb_json_write_file(p, j, &err), 0);
  json_object_put(j);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  if (!f)
    return 0;
  cb_error_t err = NULL;
  if (cb_rm_rf(f->root, &err) < 0)
    cb_error_release(&err);
  free(f->ctx.root);
  free(f->ctx.runroot);
  free(f->cdir);
  free(f);
  return 0;
}

static char *mountinfo(void) {
  char *text = NULL;
  cb_error_t err = NULL;
  if (cb_read_file("/proc/self/mountinfo", &text, NULL, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  return text;
}

static bool exists(int fd, const char *name) {
  struct stat st;
  return fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void read_only_view(struct fixture *f) {
  cleanup_free char *before = mountinfo();
  struct cb_container *c = NULL;
  cb_error_t err = NULL;
  if (cb_container_load(&f->ctx, ID, &c, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  struct cb_rootfs r = CB_ROOTFS_INIT;
  if (cb_rootfs_open(&f->ctx, c, 0, &r, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  assert_int_equal(r.kind, CB_ROOTFS_PRIVATE);
  assert_true(r.lock_fd >= 0);
  assert_false(exists(r.fd, "a"));
  assert_true(exists(r.fd, "keep"));
  assert_true(exists(r.fd, "n"));
  assert_true(exists(r.fd, "d/z"));
  assert_false(exists(r.fd, "d/x"));
  assert_true(exists(r.fd, "etc/hosts"));
  /* Read-only: nothing can be written. */
  int w = openat(r.fd, "w", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  assert_true(w < 0 && errno == EROFS);
  {
    cleanup_free char *during = mountinfo();
    assert_string_equal(before, during);
  }
  cb_rootfs_close(&r);
  assert_int_equal(r.fd, -1);
  cleanup_free char *after = mountinfo();
  assert_string_equal(before, after);
  cb_container_free(c);
}

static void writable_view(struct fixture *f) {
  cleanup_free char *before = mountinfo();
  struct cb_container *c = NULL;
  cb_error_t err = NULL;
  if (cb_container_load(&f->ctx, ID, &c, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  struct cb_rootfs r = CB_ROOTFS_INIT;
  if (cb_rootfs_open(&f->ctx, c, CB_ROOTFS_WRITABLE, &r, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  int w = openat(r.fd, "written", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  assert_true(w >= 0);
  close(w);
  assert_int_equal(unlinkat(r.fd, "keep", 0), 0);
  cleanup_free char *during = mountinfo();
  assert_string_equal(before, during);
  cb_rootfs_close(&r);
  cleanup_free char *after = mountinfo();
  assert_string_equal(before, after);
  /* The writes are in the upper dir: a file and a whiteout. */
  char p[512];
  struct stat st;
  snprintf(p, sizeof p, "%s/upper/written", f->cdir);
  assert_int_equal(stat(p, &st), 0);
  snprintf(p, sizeof p, "%s/upper/keep", f->cdir);
  assert_int_equal(lstat(p, &st), 0);
  assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
  /* Put the fixture back. */
  unlink(p);
  snprintf(p, sizeof p, "%s/upper/written", f->cdir);
  unlink(p);
  cb_container_free(c);
}

/* CB_ROOTFS_LAYERS: the layers themselves, nothing mounted, the lock held. */
static void layers_view(struct fixture *f) {
  cleanup_free char *before = mountinfo();
  struct cb_container *c = NULL;
  cb_error_t err = NULL;
  if (cb_container_load(&f->ctx, ID, &c, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  struct cb_rootfs r = CB_ROOTFS_INIT;
  if (cb_rootfs_open(&f->ctx, c, CB_ROOTFS_LAYERS, &r, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  assert_int_equal(r.kind, CB_ROOTFS_UNION);
  assert_int_equal(r.nlayers, 3); /* upper, init, layer */
  assert_int_equal(r.fd, -1);
  assert_true(r.lock_fd >= 0);
  assert_true(exists(r.layers[0], "n"));
  assert_true(exists(r.layers[1], "etc/hosts"));
  assert_true(exists(r.layers[2], "keep"));
  cleanup_free char *during = mountinfo();
  assert_string_equal(before, during);
  cb_rootfs_close(&r);
  assert_null(r.layers);
  cb_container_free(c);
}

static void test_private_overlay(void **state) {
  if (!*state)
    skip();
  read_only_view(*state);
  writable_view(*state);
  layers_view(*state);
}

/* The same through the unshare fallback, in a child (the namespace is for good). */
static void test_private_overlay_legacy(void **state) {
  if (!*state)
    skip();
  cleanup_free char *host = mountinfo();
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setenv("CROWBAR_ROOTFS_LEGACY_MOUNT", "1", 1);
    struct fixture *f = *state;
    struct cb_container *c = NULL;
    cb_error_t err = NULL;
    if (cb_container_load(&f->ctx, ID, &c, &err) < 0)
      _exit(2);
    struct cb_rootfs r = CB_ROOTFS_INIT;
    if (cb_rootfs_open(&f->ctx, c, 0, &r, &err) < 0) {
      fprintf(stderr, "%s\n", cb_error_text(err));
      _exit(3);
    }
    if (exists(r.fd, "a") || !exists(r.fd, "n") || exists(r.fd, "d/x") || !exists(r.fd, "d/z"))
      _exit(4);
    /* The host (our parent's namespace) sees nothing while it is open. */
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/mountinfo", (int)getppid());
    char *text = NULL;
    if (cb_read_file(p, &text, NULL, &err) < 0 || strcmp(text, host))
      _exit(5);
    free(text);
    /* Nor do we: the mount is detached. */
    if (cb_read_file("/proc/self/mountinfo", &text, NULL, &err) < 0 || strstr(text, "rootfs-tool"))
      _exit(6);
    free(text);
    cb_rootfs_close(&r);
    _exit(0);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  cleanup_free char *after = mountinfo();
  assert_string_equal(host, after);
  /* The temporary mount point is gone too. */
  struct fixture *f = *state;
  cleanup_free char *rundir = xasprintf("%s/run/%s", f->root, ID);
  cleanup_dir DIR *d = opendir(rundir);
  assert_non_null(d);
  struct dirent *de;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.')
      fail_msg("left behind: %s/%s", rundir, de->d_name);
}

static void test_layer_paths(void **state) {
  struct cb_container c = {0};
  c.json = json_object_new_object();
  json_object *d = cb_json_obj(cb_json_obj(c.json, "GraphDriver"), "Data");
  cb_json_set_str(d, "LowerDir", "/c/init:/l/2:/l/1");
  cb_json_set_str(d, "UpperDir", "/c/upper");
  cb_json_set_str(d, "WorkDir", "/c/work");
  struct cb_layer_paths lp;
  cb_error_t err = NULL;
  assert_int_equal(cb_container_layer_paths(&c, &lp, &err), 0);
  assert_string_equal(lp.upper, "/c/upper");
  assert_string_equal(lp.work, "/c/work");
  assert_int_equal(cb_strv_len(lp.lowers), 3);
  assert_string_equal(lp.lowers[0], "/c/init");
  assert_string_equal(lp.lowers[2], "/l/1");
  cb_layer_paths_release(&lp);
  json_object_object_del(d, "UpperDir");
  assert_int_equal(cb_container_layer_paths(&c, &lp, &err), -1);
  cb_error_release(&err);
  json_object_put(c.json);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layer_paths),
      cmocka_unit_test_setup_teardown(test_private_overlay, setup, teardown),
      cmocka_unit_test_setup_teardown(test_private_overlay_legacy, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
