/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Records read back (container.c's cb_container_parse, record.c's shape): a whole record
 * loads as written; every kind of damage (not JSON, cut short, the wrong type anywhere,
 * another container's Id, a missing file) gives a Dead container whose Error says what is
 * wrong, with no PID anyone could signal; and no mutation of a record's bytes crashes the
 * parser or gets past it with a wrong type. Needs no privileges. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/container.h"
#include "crowbar/json.h"

static const char *ID = "cccc1111cccc1111cccc1111cccc1111cccc1111cccc1111cccc1111cccc1111";

/* container.json and state.json much as create and the shim write them. */
static const char *REC =
    "{\"Id\":\"cccc1111cccc1111cccc1111cccc1111cccc1111cccc1111cccc1111cccc1111\","
    "\"Created\":\"2026-01-02T03:04:05.5Z\",\"Path\":\"sh\",\"Args\":[\"-c\",\"true\"],"
    "\"State\":{},\"Image\":\"sha256:abab\",\"LogPath\":\"/x/log\",\"Name\":\"/web\","
    "\"RestartCount\":0,\"Driver\":\"overlay2\",\"HostConfig\":{\"Binds\":null,"
    "\"NetworkMode\":\"none\",\"AutoRemove\":false,\"CapAdd\":null,\"Memory\":0,"
    "\"PidsLimit\":null,\"Init\":null,\"RestartPolicy\":{\"Name\":\"no\","
    "\"MaximumRetryCount\":0}},\"GraphDriver\":{\"Name\":\"overlay2\",\"Data\":{"
    "\"LowerDir\":\"/l\",\"MergedDir\":\"/m\",\"UpperDir\":\"/u\",\"WorkDir\":\"/w\"}},"
    "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/s\",\"Destination\":\"/d\",\"Mode\":\"\","
    "\"RW\":true,\"Propagation\":\"rprivate\"}],\"Config\":{\"Hostname\":\"cccc1111cccc\","
    "\"Tty\":false,\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"sh\"],\"Image\":\"busybox\","
    "\"Volumes\":null,\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{\"a\":\"b\"}},"
    "\"Crowbar\":{\"CreatedNs\":1000,\"ImageRef\":\"busybox\"}}\n";
static const char *STATE =
    "{\"Id\":\"cccc1111cccc1111cccc1111cccc1111cccc1111cccc1111cccc1111cccc1111\","
    "\"Name\":\"/web\",\"State\":{\"Status\":\"running\",\"Running\":true,\"Paused\":false,"
    "\"Pid\":4242,\"ExitCode\":0,\"Error\":\"\",\"StartedAt\":\"x\",\"FinishedAt\":\"y\"},"
    "\"Crowbar\":{\"CreatedNs\":1000,\"PidStart\":777,\"ShimPid\":4241,\"ShimStart\":776,"
    "\"BootId\":\"b\",\"StartedNs\":5,\"FinishedNs\":0},\"Config\":{\"Labels\":{\"a\":\"c\"}},"
    "\"HostConfig\":{\"NetworkMode\":\"none\"}}\n";

static struct cb_container *parse(const char *rec, const char *st) {
  return cb_container_parse(ID, rec, rec ? strlen(rec) : 0, st, st ? strlen(st) : 0, 0);
}

static void test_whole(void **state) {
  (void)state;
  struct cb_container *c = parse(REC, STATE);
  assert_int_equal(c->damaged, CB_RECORD_OK);
  assert_string_equal(c->id, ID);
  assert_string_equal(c->name, "web");
  assert_int_equal(c->state.status, CB_STATUS_RUNNING);
  assert_int_equal(c->state.pid, 4242);
  assert_int_equal((int)c->state.pid_start, 777);
  assert_null(c->state.error);
  /* state.json lies over the record: Config merges, the rest replaces. */
  assert_string_equal(cb_json_get_str(c->json, "Config.Labels.a", ""), "c");
  assert_string_equal(cb_json_get_str(c->json, "Config.Image", ""), "busybox");
  assert_string_equal(cb_json_get_str(c->json, "GraphDriver.Data.UpperDir", ""), "/u");
  cb_container_free(c);
  /* No state.json yet (a record made by hand): the record alone. */
  c = parse(REC, NULL);
  assert_int_equal(c->damaged, CB_RECORD_OK);
  assert_int_equal(c->state.status, CB_STATUS_CREATED);
  cb_container_free(c);
  /* A listing reads state.json alone. */
  c = cb_container_parse(ID, NULL, 0, STATE, strlen(STATE), CB_PARSE_LISTING);
  assert_int_equal(c->damaged, CB_RECORD_OK);
  assert_string_equal(c->name, "web");
  assert_int_equal(c->state.status, CB_STATUS_RUNNING);
  cb_container_free(c);
}

/* text with `from` replaced by `to` once (from NULL: all of it). */
static char *edit(const char *text, const char *from, const char *to) {
  if (!from)
    return xstrdup(to);
  const char *at = strstr(text, from);
  assert_non_null(at);
  return xasprintf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

struct damage {
  const char *file; /* "rec" or "state" */
  const char *from, *to;
  const char *says;
};

static const struct damage damages[] = {
    {"state", "{\"Id\"", "[{\"Id\"", "state.json"},
    {"state", NULL, "", "state.json is empty"},
    {"state", NULL, "[]", "state.json: it is an array, not an object"},
    {"state", NULL, "5", "state.json: it is a number, not an object"},
    {"state", NULL, "\"x\"", "state.json: it is a string, not an object"},
    {"state", NULL, "{\"State\":", "state.json is cut short"},
    {"state", NULL, "garbage", "state.json is not valid JSON"},
    {"state", NULL, "{}{}", "state.json holds more than one JSON value"},
    {"state", "\"Pid\":4242", "\"Pid\":\"4242\"", "\"State.Pid\" is a string, not a PID"},
    {"state", "\"Pid\":4242", "\"Pid\":-1", "\"State.Pid\" is out of range (-1)"},
    {"state", "\"Pid\":4242", "\"Pid\":4294967296", "\"State.Pid\" is out of range"},
    {"state", "\"Pid\":4242", "\"Pid\":99999999999999999999", "\"State.Pid\" is out of range"},
    {"state", "\"Pid\":4242", "\"Pid\":1.5", "\"State.Pid\" is a fraction, not a PID"},
    {"state", "\"PidStart\":777", "\"PidStart\":null", "\"Crowbar.PidStart\" is null"},
    {"state", "\"Status\":\"running\"", "\"Status\":7", "\"State.Status\" is a number"},
    {"state", "\"Status\":\"running\"", "\"Status\":\"zombie\"", "unknown status \"zombie\""},
    {"state", "\"State\":{", "\"State\":[{", "state.json"},
    {"state", "\"Crowbar\":{", "\"Crowbar\":5,\"x\":{", "\"Crowbar\" is a number, not an object"},
    {"state", "\"Name\":\"/web\"", "\"Name\":5", "\"Name\" is a number, not a container name"},
    {"state", "\"Name\":\"/web\"", "\"Name\":\"/../x\"", "\"Name\" is not a valid container name"},
    {"state", "\"Id\":\"cccc", "\"Id\":\"../../x\",\"J\":\"cccc",
     "\"Id\" is \"../../x\", not the ID of its folder"},
    {"state", "{\"a\":\"c\"}", "{\"a\":1}", "\"Config.Labels.a\" is a number, not a string"},
    {"state", "\"HostConfig\":{", "\"HostConfig\":[],\"y\":{", "\"HostConfig\" is an array"},
    {"rec", "\"Env\":[\"PATH=/bin\"]", "\"Env\":\"PATH\"", "\"Config.Env\" is a string"},
    {"rec", "\"Env\":[\"PATH=/bin\"]", "\"Env\":[1]", "\"Config.Env[0]\" is a number"},
    {"rec", "\"Mounts\":[{", "\"Mounts\":[1,{", "\"Mounts[0]\" is a number, not an object"},
    {"rec", "\"Source\":\"/s\"", "\"Source\":[]", "\"Mounts[0].Source\" is an array"},
    {"rec", "\"Data\":{", "\"Data\":5,\"z\":{", "\"GraphDriver.Data\" is a number"},
    {"rec", "\"Args\":[\"-c\",\"true\"]", "\"Args\":{\"a\":1}", "\"Args\" is an object"},
    {"rec", NULL, "", "container.json is empty"},
};

static void test_damaged(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof damages / sizeof damages[0]; i++) {
    const struct damage *d = &damages[i];
    bool rec = !strcmp(d->file, "rec");
    char *text = edit(rec ? REC : STATE, d->from, d->to);
    struct cb_container *c = rec ? parse(text, STATE) : parse(REC, text);
    print_message("# %s\n", c->state.error ? c->state.error : "(whole)");
    if (!d->says) {
      assert_int_equal(c->damaged, CB_RECORD_OK);
    } else {
      assert_int_equal(c->damaged, rec ? CB_RECORD_DAMAGED : CB_RECORD_STATE_DAMAGED);
      assert_int_equal(c->state.status, CB_STATUS_DEAD);
      assert_non_null(c->state.error);
      assert_non_null(strstr(c->state.error, "the container's record is damaged: "));
      assert_non_null(strstr(c->state.error, d->says));
      /* Nothing to signal, and the JSON says what the state says. */
      assert_int_equal(c->state.pid, 0);
      assert_int_equal(c->state.shim_pid, 0);
      assert_int_equal((int)c->state.pid_start, 0);
      assert_string_equal(cb_json_get_str(c->json, "State.Status", ""), "dead");
      assert_string_equal(cb_json_get_str(c->json, "State.Error", ""), c->state.error);
      /* The ID is the folder's, whatever the record says. */
      assert_string_equal(c->id, ID);
      assert_true(json_object_is_type(c->json, json_type_object));
    }
    cb_container_free(c);
    free(text);
  }
  /* Files missing, or not there at all. */
  struct cb_container *c = parse(NULL, STATE);
  assert_int_equal(c->damaged, CB_RECORD_DAMAGED);
  assert_non_null(strstr(c->state.error, "container.json is missing"));
  /* A listing still has what state.json says. */
  assert_string_equal(cb_json_get_str(c->json, "Path", "x"), "x");
  cb_container_free(c);
  c = parse(NULL, NULL);
  assert_int_equal(c->damaged, CB_RECORD_DAMAGED);
  assert_string_equal(c->name, "");
  cb_container_free(c);
  /* NUL bytes (a file cut by a crash often ends in them). */
  char nul[] = "{\"State\":{}}\0\0\0";
  c = cb_container_parse(ID, REC, strlen(REC), nul, sizeof nul - 1, 0);
  assert_non_null(strstr(c->state.error, "state.json holds NUL bytes"));
  cb_container_free(c);
  /* A save never writes a damaged record over. */
  c = parse(REC, "[]");
  cb_error_t err = NULL;
  assert_int_equal(cb_container_save(NULL, c, &err), -1);
  assert_non_null(strstr(cb_error_text(err), "is not written over"));
  cb_error_release(&err);
  cb_container_free(c);
}

/* Random damage: no input crashes the parser, and whatever it takes for whole passes the
 * shape check (every typed getter then meets the type it expects). */
static void test_mutations(void **state) {
  (void)state;
  srandom(7);
  const char *bases[] = {REC, STATE};
  int whole = 0, damaged = 0;
  for (int round = 0; round < 4000; round++) {
    const char *base = bases[round & 1];
    size_t len = strlen(base);
    char *t = xmalloc(len + 1);
    memcpy(t, base, len + 1);
    int edits = 1 + (int)(random() % 3);
    for (int k = 0; k < edits; k++) {
      size_t at = (size_t)random() % len;
      static const char bytes[] = "{}[]\":,0123456789-.etrufalsn \\x\x01\xff";
      switch (random() % 3) {
      case 0: t[at] = bytes[random() % (sizeof bytes - 1)]; break;
      case 1: len = at; break; /* cut */
      default: memmove(t + at, t + at + 1, len - at), len--; break;
      }
      t[len] = '\0';
      if (!len)
        break;
    }
    struct cb_container *c = (round & 1) ? cb_container_parse(ID, REC, strlen(REC), t, len, 0)
                                         : cb_container_parse(ID, t, len, STATE, strlen(STATE), 0);
    if (c->damaged) {
      damaged++;
      assert_int_equal(c->state.status, CB_STATUS_DEAD);
      assert_int_equal(c->state.pid, 0);
    } else {
      whole++;
      cb_error_t err = NULL;
      if (cb_container_record_check(c->json, &err) < 0)
        fail_msg("took for whole: %s (%s)", t, cb_error_text(err));
    }
    assert_string_equal(c->id, ID);
    cb_container_free(c);
    free(t);
  }
  print_message("# %d whole, %d damaged\n", whole, damaged);
  assert_true(whole > 0 && damaged > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_whole),
      cmocka_unit_test(test_damaged),
      cmocka_unit_test(test_mutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
