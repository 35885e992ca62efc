/* SPDX-License-Identifier: GPL-2.0-or-later */
/* container.c: records written and read back, the state split, how a reference resolves
 * (full ID, name, unique prefix), name reservations, truthful state, the sweep. Works in a
 * temporary root; needs no privileges. */
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

#include "crowbar/cleanup.h"
#include "crowbar/container.h"
#include "crowbar/json.h"
#include "crowbar/lock.h"

static char root[256];

static int setup(void **state) {
  snprintf(root, sizeof root, "/tmp/crowbar-unit.XXXXXX");
  if (!mkdtemp(root))
    return -1;
  char rr[300];
  snprintf(rr, sizeof rr, "%s/run", root);
  setenv("CROWBAR_ROOT", root, 1);
  setenv("CROWBAR_RUNROOT", rr, 1);
  struct cb_ctx *ctx = malloc(sizeof *ctx);
  cb_error_t err = NULL;
  if (cb_ctx_init(ctx, "test", 1, &err) < 0)
    return -1;
  *state = ctx;
  return 0;
}

static int teardown(void **state) {
  struct cb_ctx *ctx = *state;
  cb_error_t err = NULL;
  cb_rm_rf(root, &err);
  cb_error_release(&err);
  cb_ctx_release(ctx);
  free(ctx);
  return 0;
}

/* A container record as create writes it, with the given ID and name. */
static void make_container(struct cb_ctx *ctx, const char *id, const char *name) {
  cb_error_t err = NULL;
  assert_int_equal(cb_name_reserve(ctx, name, id, &err), 0);
  struct cb_container *c = xcalloc(1, sizeof *c);
  snprintf(c->id, sizeof c->id, "%s", id);
  c->name = xstrdup(name);
  c->created_ns = cb_now_ns();
  c->json = json_object_new_object();
  cb_json_set_str(c->json, "Id", id);
  char slashed[128];
  snprintf(slashed, sizeof slashed, "/%s", name);
  cb_json_set_str(c->json, "Name", slashed);
  cb_json_set_str(c->json, "Path", "sh");
  cb_json_set_str(cb_json_obj(c->json, "Config"), "Image", "busybox");
  cb_json_set_int(cb_json_obj(c->json, "Crowbar"), "CreatedNs", c->created_ns);
  c->state.status = CB_STATUS_CREATED;
  cleanup_free char *dir = cb_container_dir(ctx, id);
  assert_int_equal(mkdir(dir, 0700), 0);
  assert_int_equal(cb_container_write_new(c, dir, &err), 0);
  cb_container_free(c);
}

static const char *ID_A = "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111";
static const char *ID_B = "aaaa2222aaaa2222aaaa2222aaaa2222aaaa2222aaaa2222aaaa2222aaaa2222";

static void test_resolve(void **state) {
  struct cb_ctx *ctx = *state;
  make_container(ctx, ID_A, "web");
  make_container(ctx, ID_B, "db");
  char id[CB_ID_LEN + 1];
  cb_error_t err = NULL;
  assert_int_equal(cb_container_resolve(ctx, ID_A, id, &err), 0);
  assert_string_equal(id, ID_A);
  assert_int_equal(cb_container_resolve(ctx, "db", id, &err), 0);
  assert_string_equal(id, ID_B);
  assert_int_equal(cb_container_resolve(ctx, "/db", id, &err), 0);
  assert_string_equal(id, ID_B);
  assert_int_equal(cb_container_resolve(ctx, "aaaa1", id, &err), 0);
  assert_string_equal(id, ID_A);
  assert_int_equal(cb_container_resolve(ctx, "aaaa", id, &err), -1);
  assert_string_equal(cb_error_text(err), "multiple containers match prefix aaaa");
  cb_error_release(&err);
  assert_int_equal(cb_container_resolve(ctx, "nope", id, &err), -1);
  assert_string_equal(cb_error_text(err), "No such container: nope");
  cb_error_release(&err);
  /* A name wins over an ID prefix that reads the same (Docker's order). */
  make_container(ctx, "bbbb3333bbbb3333bbbb3333bbbb3333bbbb3333bbbb3333bbbb3333bbbb3333", "aaaa2");
  assert_int_equal(cb_container_resolve(ctx, "aaaa2", id, &err), 0);
  assert_string_equal(id, "bbbb3333bbbb3333bbbb3333bbbb3333bbbb3333bbbb3333bbbb3333bbbb3333");
}

/* A container removed between its resolution and its load (racing rm): Docker's words, and
 * ENOENT for the callers that take that for "already gone". */
static void test_load_missing(void **state) {
  struct cb_ctx *ctx = *state;
  cb_error_t err = NULL;
  struct cb_container *c = NULL;
  assert_int_equal(cb_container_load(ctx, ID_A, &c, &err), -1);
  assert_int_equal(err->errno_, ENOENT);
  char want[128];
  snprintf(want, sizeof want, "No such container: %s", ID_A);
  assert_string_equal(cb_error_text(err), want);
  cb_error_release(&err);
  /* Not an ID: never a path. */
  assert_int_equal(cb_container_load(ctx, "../../etc", &c, &err), -1);
  assert_string_equal(cb_error_text(err), "No such container: ../../etc");
  cb_error_release(&err);
  /* A folder whose record is missing is a container, damaged: Dead, and named by its
   * reservation. */
  make_container(ctx, ID_A, "norecord");
  cleanup_free char *rec = cb_ctx_path(ctx, "containers/%s/container.json", ID_A);
  assert_int_equal(unlink(rec), 0);
  assert_int_equal(cb_container_load(ctx, ID_A, &c, &err), 0);
  assert_int_equal(c->damaged, CB_RECORD_DAMAGED);
  assert_int_equal(c->state.status, CB_STATUS_DEAD);
  assert_string_equal(c->name, "norecord");
  assert_non_null(strstr(c->state.error, "container.json is missing"));
  cb_container_free(c);
  char id[CB_ID_LEN + 1];
  assert_int_equal(cb_container_resolve(ctx, "norecord", id, &err), 0);
  assert_int_equal(cb_container_resolve(ctx, ID_A, id, &err), 0);
}

static void test_names(void **state) {
  struct cb_ctx *ctx = *state;
  cb_error_t err = NULL;
  make_container(ctx, ID_A, "taken");
  assert_int_equal(cb_name_reserve(ctx, "taken", ID_B, &err), -1);
  assert_non_null(strstr(cb_error_text(err), "Conflict. The container name \"/taken\" is "
                                             "already in use by container"));
  cb_error_release(&err);
  assert_int_equal(cb_name_reserve(ctx, "bad name", ID_B, &err), -1);
  cb_error_release(&err);
  assert_false(cb_name_valid("a"));
  assert_false(cb_name_valid("-x"));
  assert_true(cb_name_valid("web_1.a-b"));
  /* A reservation whose container never appeared (a killed create) is taken over. */
  cleanup_free char *np = cb_ctx_path(ctx, "names/stale");
  assert_int_equal(symlink(ID_B, np), 0);
  assert_int_equal(cb_name_reserve(ctx, "stale", ID_A, &err), 0);
  char target[CB_ID_LEN + 1] = {0};
  assert_int_equal(readlink(np, target, CB_ID_LEN), CB_ID_LEN);
  assert_string_equal(target, ID_A);
  /* But not while its owner holds its ID's lock: a create between its reservation and its
   * folder (the folder's absence says nothing then). */
  cleanup_free char *np2 = cb_ctx_path(ctx, "names/busy");
  assert_int_equal(symlink(ID_B, np2), 0);
  int lk = cb_lock(ctx, ID_B, 1, &err);
  assert_true(lk >= 0);
  assert_int_equal(cb_name_reserve(ctx, "busy", ID_A, &err), -1);
  assert_non_null(strstr(cb_error_text(err), "is already in use by container \""));
  cb_error_release(&err);
  assert_int_equal(readlink(np2, target, CB_ID_LEN), CB_ID_LEN);
  assert_string_equal(target, ID_B);
  close(lk);
  assert_int_equal(cb_name_reserve(ctx, "busy", ID_A, &err), 0);
  assert_int_equal(readlink(np2, target, CB_ID_LEN), CB_ID_LEN);
  assert_string_equal(target, ID_A);
  /* Generated names are free ones. */
  for (int i = 0; i < 20; i++) {
    cleanup_free char *n = cb_name_generate(ctx);
    assert_true(cb_name_valid(n));
    assert_non_null(strchr(n, '_'));
  }
}

static void test_state_split(void **state) {
  struct cb_ctx *ctx = *state;
  cb_error_t err = NULL;
  make_container(ctx, ID_A, "split");
  struct cb_container *c = NULL;
  assert_int_equal(cb_container_load(ctx, ID_A, &c, &err), 0);
  c->state.status = CB_STATUS_EXITED;
  c->state.exit_code = 3;
  c->state.started_ns = 1000000000;
  c->state.finished_ns = 2000000000;
  assert_int_equal(cb_container_save(ctx, c, &err), 0);
  cb_container_free(c);
  /* container.json is untouched by a save: only state.json changes. */
  cleanup_free char *rec = cb_ctx_path(ctx, "containers/%s/container.json", ID_A);
  json_object *j = NULL;
  assert_int_equal(cb_json_read_file(rec, &j, &err), 0);
  assert_string_equal(cb_json_get_str(j, "State.Status", ""), "created");
  json_object_put(j);
  assert_int_equal(cb_container_load(ctx, ID_A, &c, &err), 0);
  assert_int_equal(c->state.status, CB_STATUS_EXITED);
  assert_int_equal(c->state.exit_code, 3);
  assert_string_equal(cb_json_get_str(c->json, "State.FinishedAt", ""), "1970-01-01T00:00:02Z");
  assert_string_equal(cb_json_get_str(c->json, "Config.Image", ""), "busybox");
  cleanup_free char *st = cb_container_status_string(c, 62000000000LL);
  assert_string_equal(st, "Exited (3) About a minute ago");
  cb_container_free(c);
}

static void test_vanished_is_exited(void **state) {
  struct cb_ctx *ctx = *state;
  cb_error_t err = NULL;
  make_container(ctx, ID_A, "ghost");
  struct cb_container *c = NULL;
  assert_int_equal(cb_container_load(ctx, ID_A, &c, &err), 0);
  /* "Running", with a PID that is ours but a start time that is not. */
  c->state.status = CB_STATUS_RUNNING;
  c->state.pid = getpid();
  c->state.pid_start = 12345;
  c->state.shim_pid = getpid();
  c->state.shim_start = 12345;
  c->state.started_ns = cb_now_ns();
  assert_int_equal(cb_container_save(ctx, c, &err), 0);
  cb_container_free(c);
  assert_int_equal(cb_container_locate(ctx, "ghost", &c, &err), 0);
  assert_int_equal(c->state.status, CB_STATUS_EXITED);
  assert_int_equal(c->state.exit_code, 255);
  assert_non_null(c->state.error);
  cb_container_free(c);
  /* And it stays so on disk. */
  assert_int_equal(cb_container_load(ctx, ID_A, &c, &err), 0);
  assert_int_equal(c->state.status, CB_STATUS_EXITED);
  cb_container_free(c);
}

static void test_list_and_cache(void **state) {
  struct cb_ctx *ctx = *state;
  cb_error_t err = NULL;
  make_container(ctx, ID_A, "one");
  make_container(ctx, ID_B, "two");
  for (int pass = 0; pass < 2; pass++) { /* the second pass reads the cache */
    struct cb_container **v;
    size_t n;
    assert_int_equal(cb_container_list(ctx, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(v[0]->name, "two"); /* newest first */
    assert_string_equal(cb_json_get_str(v[1]->json, "Path", ""), "sh");
    cb_container_list_free(v, n);
  }
  /* A change after the cache was written shows. */
  struct cb_container *c = NULL;
  assert_int_equal(cb_container_load(ctx, ID_A, &c, &err), 0);
  c->state.status = CB_STATUS_EXITED;
  c->state.exit_code = 9;
  c->state.finished_ns = cb_now_ns();
  assert_int_equal(cb_container_save(ctx, c, &err), 0);
  cb_container_free(c);
  struct cb_container **v;
  size_t n;
  assert_int_equal(cb_container_list(ctx, &v, &n, &err), 0);
  assert_int_equal(v[1]->state.exit_code, 9);
  cb_container_list_free(v, n);
}

static void test_sweep(void **state) {
  struct cb_ctx *ctx = *state;
  cb_error_t err = NULL;
  /* A create killed midway: its folder and name stay behind, its lock is free. */
  cleanup_free char *tmp = cb_ctx_path(ctx, "containers/.tmp-%s", ID_A);
  assert_int_equal(mkdir(tmp, 0700), 0);
  cleanup_free char *np = cb_ctx_path(ctx, "names/halfmade");
  assert_int_equal(symlink(ID_A, np), 0);
  /* A create still running: its lock is held. */
  cleanup_free char *tmp2 = cb_ctx_path(ctx, "containers/.tmp-%s", ID_B);
  assert_int_equal(mkdir(tmp2, 0700), 0);
  int lk = cb_lock(ctx, ID_B, 1, &err);
  assert_true(lk >= 0);
  pid_t pid = fork();
  if (pid == 0) { /* the sweeper is another process, as it would be */
    cb_container_sweep(ctx);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  close(lk);
  assert_int_equal(access(tmp, F_OK), -1);
  assert_int_equal(access(tmp2, F_OK), 0);
  struct stat st;
  assert_int_equal(lstat(np, &st), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
      cmocka_unit_test_setup_teardown(test_load_missing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_state_split, setup, teardown),
      cmocka_unit_test_setup_teardown(test_vanished_is_exited, setup, teardown),
      cmocka_unit_test_setup_teardown(test_list_and_cache, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
