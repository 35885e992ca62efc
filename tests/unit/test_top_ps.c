/* SPDX-License-Identifier: GPL-2.0-or-later */
/* docker top's form: the ps arguments as Docker's daemon makes them (joined, split at
 * every space, -ef by default), its refusal of a column renamed PID, its detection of
 * custom columns (then -opid first), and the parse of ps's output filtered to the
 * container's PIDs (overhanging words joined into the last column, thread lines kept
 * after their process). The tool's source is included to test its static parts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../../tools/top/dockertop.c"

static void check_args(char *const *words, size_t n, bool want_custom, const char *const *want) {
  bool custom = !want_custom;
  char **v = top_ps_args(words, n, &custom);
  assert_int_equal(custom, want_custom);
  size_t i = 0;
  for (; want[i]; i++) {
    assert_non_null(v[i]);
    assert_string_equal(v[i], want[i]);
  }
  assert_null(v[i]);
  cb_strv_free(v);
}

static void test_args(void **state) {
  check_args(NULL, 0, false, (const char *const[]){"-ef", NULL});
  char *empty[] = {""};
  check_args(empty, 1, false, (const char *const[]){"-ef", NULL});
  char *o[] = {"-o", "pid,comm"};
  check_args(o, 2, true, (const char *const[]){"-o", "pid,comm", NULL});
  /* Docker joins the words with spaces and splits at every space again. */
  char *spaced[] = {"-o", "pid comm"};
  check_args(spaced, 2, true, (const char *const[]){"-o", "pid", "comm", NULL});
  char *two[] = {"a", "", "x"};
  check_args(two, 3, true, (const char *const[]){"a", "", "x", NULL});
}

static void check_valid(const char *const *words, const char *error) {
  size_t n = 0;
  while (words[n])
    n++;
  cb_error_t err = NULL;
  int r = top_ps_args_validate((char *const *)words, n, &err);
  if (!error) {
    assert_int_equal(r, 0);
    return;
  }
  assert_int_equal(r, -1);
  assert_string_equal(cb_error_text(err), error);
  cb_error_release(&err);
}

static void test_validate(void **state) {
  check_valid((const char *const[]){"aux", NULL}, NULL);
  check_valid((const char *const[]){"-o", "pid,comm", NULL}, NULL);
  check_valid((const char *const[]){"-o", "pid=PID", NULL}, NULL);
  check_valid((const char *const[]){"-o", "user=PID", NULL},
              "specifying \"user=PID\" is not allowed");
  check_valid((const char *const[]){"-o", "user=PIDX,comm", NULL},
              "specifying \"user=PIDX,comm\" is not allowed");
  check_valid((const char *const[]){"-o", "user=", "PID", NULL},
              "specifying \"user=PID\" is not allowed");
  check_valid((const char *const[]){"-o", "a=b=PID", NULL},
              "specifying \"a=b=PID\" is not allowed");
  /* The expression needs a blank before the key. */
  check_valid((const char *const[]){"user=PID", NULL}, NULL);
  check_valid((const char *const[]){"-o", "user=pid", NULL}, NULL);
}

static void test_custom_fields(void **state) {
  struct {
    const char *const args[4];
    bool custom;
  } cases[] = {
      {{"-o", "pid", NULL}, true},
      {{"-opid", NULL}, true},
      {{"o", "pid", NULL}, true},
      {{"ocmd", NULL}, true},
      {{"--format", "cmd", NULL}, true},
      {{"--format=cmd", NULL}, true},
      {{"efocmd", NULL}, true},
      {{"aux", NULL}, false},
      {{"-ef", NULL}, false},
      {{"-C", "ocmd", NULL}, false},
      {{"eUocmd", NULL}, false},
      {{"--sort", "ocmd", NULL}, false},
      {{"--sort=-pcpu", NULL}, false},
      {{"-u", "root", "-o", NULL}, true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bool got = top_ps_custom_fields((char *const *)cases[i].args);
    if (got != cases[i].custom)
      fail_msg("case %zu (%s %s): %d", i, cases[i].args[0],
               cases[i].args[1] ? cases[i].args[1] : "", got);
  }
}

static void test_parse(void **state) {
  const char *out = "UID          PID    PPID  C STIME TTY          TIME CMD\n"
                    "root           1       0  0 10:00 ?        00:00:01 /sbin/init splash\n"
                    "root         500       1  0 10:01 ?        00:00:00 sh -c sleep 1000 & wait\n"
                    "root         501     500  0 10:01 ?        00:00:00 sleep 1000\n"
                    "app          777       1  0 10:02 pts/0    00:00:00 bash\n";
  pid_t pids[] = {500, 501};
  struct top_pslist l;
  cb_error_t err = NULL;
  assert_int_equal(top_ps_parse(out, pids, 2, false, &l, &err), 0);
  assert_int_equal(l.ntitles, 8);
  assert_string_equal(l.titles[1], "PID");
  assert_int_equal(l.nrows, 2);
  assert_string_equal(l.rows[0][1], "500");
  assert_string_equal(l.rows[0][7], "sh -c sleep 1000 & wait");
  assert_string_equal(l.rows[1][7], "sleep 1000");
  top_pslist_free(&l);

  /* -opid first (Docker's, for custom columns): the column is dropped again. */
  const char *custom = "  PID COMMAND\n    1 init\n  500 sh\n  501 sleep\n";
  assert_int_equal(top_ps_parse(custom, pids, 2, true, &l, &err), 0);
  assert_int_equal(l.ntitles, 1);
  assert_string_equal(l.titles[0], "COMMAND");
  assert_int_equal(l.nrows, 2);
  assert_string_equal(l.rows[0][0], "sh");
  top_pslist_free(&l);

  /* Thread lines ("-") follow the process they belong to. */
  const char *threads = "  PID   TID CMD\n"
                        "    1     - init\n"
                        "    -     1 -\n"
                        "  500     - app\n"
                        "    -   500 -\n"
                        "    -   502 -\n";
  assert_int_equal(top_ps_parse(threads, pids, 2, false, &l, &err), 0);
  assert_int_equal(l.nrows, 3);
  assert_string_equal(l.rows[2][1], "502");
  top_pslist_free(&l);

  assert_int_equal(top_ps_parse("USER COMMAND\nroot init\n", pids, 2, false, &l, &err), -1);
  assert_string_equal(cb_error_text(err), "Couldn't find PID field in ps output");
  cb_error_release(&err);
  assert_int_equal(top_ps_parse("COMMAND PID\ninit 1\n", pids, 2, true, &l, &err), -1);
  cb_error_release(&err);
  assert_int_equal(top_ps_parse("PID CMD\nx1 init\n", pids, 2, false, &l, &err), -1);
  assert_string_equal(cb_error_text(err),
                      "Unexpected pid 'x1': strconv.Atoi: parsing \"x1\": invalid syntax");
  cb_error_release(&err);
  /* A short line: padded, never read past. */
  assert_int_equal(top_ps_parse("A B PID CMD\n1 2 500\n", pids, 2, false, &l, &err), 0);
  assert_int_equal(l.nrows, 1);
  assert_string_equal(l.rows[0][3], "");
  top_pslist_free(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_args),
      cmocka_unit_test(test_validate),
      cmocka_unit_test(test_custom_fields),
      cmocka_unit_test(test_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
