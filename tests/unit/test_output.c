/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Listing output as the docker CLI prints it: tables, custom templates, json. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/output.h"

#define DEFAULT "table {{.ID}}\\t{{.Image}}\\t{{.Names}}"

static json_object *header(void) {
  return json_tokener_parse("{\"ID\":\"CONTAINER ID\",\"Image\":\"IMAGE\",\"Names\":\"NAMES\"}");
}

static char *print(const char *format, int nrows, char **errmsg) {
  json_object *rows[2] = {
      json_tokener_parse("{\"ID\":\"3f2a1b4c5d6e\",\"Image\":\"busybox\",\"Names\":\"web\"}"),
      json_tokener_parse("{\"ID\":\"0123456789ab\",\"Image\":\"alpine:3.19\",\"Names\":\"db\"}")};
  json_object *h = header();
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cb_error_t err = NULL;
  int r = cb_output_print(f, format, DEFAULT, h, rows, (size_t)nrows, &err);
  fclose(f);
  if (errmsg)
    *errmsg = r < 0 ? strdup(cb_error_text(err)) : NULL;
  else if (r < 0)
    fail_msg("%s: %s", format ? format : "(null)", cb_error_text(err));
  cb_error_release(&err);
  json_object_put(h);
  json_object_put(rows[0]);
  json_object_put(rows[1]);
  return buf;
}

#define CHECK(format, n, want)                                                                     \
  do {                                                                                             \
    char *got_ = print(format, n, NULL);                                                           \
    assert_string_equal(got_, want);                                                               \
    free(got_);                                                                                    \
  } while (0)

static void test_default_table(void **state) {
  const char *want = "CONTAINER ID   IMAGE         NAMES\n"
                     "3f2a1b4c5d6e   busybox       web\n"
                     "0123456789ab   alpine:3.19   db\n";
  CHECK(NULL, 2, want);
  CHECK("", 2, want);
  CHECK("table", 2, want);
  /* No rows: the header alone. */
  CHECK(NULL, 0, "CONTAINER ID   IMAGE     NAMES\n");
}

static void test_custom_table(void **state) {
  CHECK("table {{.Names}}\\t{{.ID}}", 2,
        "NAMES     CONTAINER ID\n"
        "web       3f2a1b4c5d6e\n"
        "db        0123456789ab\n");
  CHECK("table {{upper .Names}}: {{.Image}}", 1, "NAMES: IMAGE\nWEB: busybox\n");
}

static void test_plain_template(void **state) {
  CHECK("{{.Names}}\\t{{.ID}}", 2, "web\t3f2a1b4c5d6e\ndb\t0123456789ab\n");
  CHECK("{{.Names}}", 0, "");
  CHECK("  {{.Names}}  ", 1, "web\n");
}

static void test_json(void **state) {
  CHECK("json", 1, "{\"ID\":\"3f2a1b4c5d6e\",\"Image\":\"busybox\",\"Names\":\"web\"}\n");
  CHECK("{{json .}}", 1, "{\"ID\":\"3f2a1b4c5d6e\",\"Image\":\"busybox\",\"Names\":\"web\"}\n");
}

static void test_errors_print_nothing(void **state) {
  char *msg = NULL;
  char *out = print("table {{.ID}}\\t{{.Nope}}", 2, &msg);
  assert_string_equal(out, "");
  assert_string_equal(msg, "template: no field \"Nope\"");
  free(out);
  free(msg);
  out = print("{{.ID", 2, &msg);
  assert_string_equal(out, "");
  assert_non_null(strstr(msg, "unclosed action"));
  free(out);
  free(msg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default_table),        cmocka_unit_test(test_custom_table),
      cmocka_unit_test(test_plain_template),       cmocka_unit_test(test_json),
      cmocka_unit_test(test_errors_print_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
