/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The small parsers of util.c: byte sizes as docker's RAMInBytes, signals as ParseSignal. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/util.h"

static void test_parse_bytes(void **state) {
  struct {
    const char *s;
    int64_t v;
  } ok[] = {{"0", 0},
            {"1024", 1024},
            {"100k", 102400},
            {"512m", 536870912},
            {"512M", 536870912},
            {"1g", 1073741824},
            {"1.5g", 1610612736},
            {"1gb", 1073741824},
            {"1GiB", 1073741824},
            {"2 m", 2097152},
            {"1t", 1099511627776LL},
            {"1p", 1125899906842624LL},
            {"10b", 10}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    int64_t got = -1;
    if (cb_parse_bytes(ok[i].s, &got) < 0 || got != ok[i].v)
      fail_msg("parse_bytes(%s): got %lld, want %lld", ok[i].s, (long long)got, (long long)ok[i].v);
  }
  const char *bad[] = {"",   "-1",   "abc", "1x",  "1gg", "m",
                       " 5", "0x10", "1e3", "inf", "1.g", "1g b"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t got;
    if (cb_parse_bytes(bad[i], &got) == 0)
      fail_msg("parse_bytes(%s) should fail, gave %lld", bad[i], (long long)got);
  }
}

static void test_signal_parse(void **state) {
  assert_int_equal(cb_signal_parse("TERM"), SIGTERM);
  assert_int_equal(cb_signal_parse("SIGTERM"), SIGTERM);
  assert_int_equal(cb_signal_parse("term"), SIGTERM);
  assert_int_equal(cb_signal_parse("9"), SIGKILL);
  /* Offsets out of the real-time range (they used to overflow, or to name other signals). */
  assert_int_equal(cb_signal_parse("RTMIN+2147483647"), -1);
  assert_int_equal(cb_signal_parse("RTMAX-2147483647"), -1);
  assert_int_equal(cb_signal_parse("RTMIN+-5"), -1);
  assert_int_equal(cb_signal_parse("RTMAX--5"), -1);
  assert_int_equal(cb_signal_parse("RTMIN+1"), SIGRTMIN + 1);
  assert_int_equal(cb_signal_parse("sigkill"), SIGKILL);
  assert_int_equal(cb_signal_parse("HUP"), SIGHUP);
  assert_int_equal(cb_signal_parse("RTMIN"), SIGRTMIN);
  assert_int_equal(cb_signal_parse("RTMIN+1"), SIGRTMIN + 1);
  assert_int_equal(cb_signal_parse("SIGRTMIN+3"), SIGRTMIN + 3);
  assert_int_equal(cb_signal_parse("RTMAX-1"), SIGRTMAX - 1);
  assert_int_equal(cb_signal_parse("RTMAX"), SIGRTMAX);
  const char *bad[] = {"",          "FOO",     "SIGFOO",  "0",   "-1",    "65",
                       "RTMIN+100", "RTMIN-1", "RTMAX+1", "SIG", "TERM1", "9x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (cb_signal_parse(bad[i]) != -1)
      fail_msg("signal_parse(%s) should fail, gave %d", bad[i], cb_signal_parse(bad[i]));
  assert_string_equal(cb_signal_name(SIGTERM), "TERM");
  assert_string_equal(cb_signal_name(SIGABRT), "ABRT");
  assert_null(cb_signal_name(0));
}

static void test_parse_numbers(void **state) {
  long l;
  int i;
  assert_int_equal(cb_parse_long("42", &l), 0);
  assert_int_equal(l, 42);
  assert_int_equal(cb_parse_long("-7", &l), 0);
  assert_int_equal(l, -7);
  assert_int_equal(cb_parse_long("", &l), -1);
  assert_int_equal(cb_parse_long("4x", &l), -1);
  assert_int_equal(cb_parse_long("99999999999999999999", &l), -1);
  assert_int_equal(cb_parse_int("2147483648", &i), -1);
  assert_int_equal(cb_parse_int("2147483647", &i), 0);
}

static void test_path_clean(void **state) {
  static const struct {
    const char *in, *clean, *in_root;
  } cases[] = {
      {"/a//b/./c/", "a/b/c", "a/b/c"},
      {"", ".", ""},
      {"./", ".", ""},
      {"a/../b", "b", "b"},
      {"../x", NULL, "x"},
      {"a/../../x", NULL, "x"},
      {"/..", NULL, ""},
      {"/a/b/..", "a", "a"},
      {"..", NULL, ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *c = cb_path_clean(cases[i].in);
    if (cases[i].clean ? !c || strcmp(c, cases[i].clean) : c != NULL)
      fail_msg("clean(%s) = %s", cases[i].in, c ? c : "NULL");
    free(c);
    c = cb_path_clean_in_root(cases[i].in);
    if (!c || strcmp(c, cases[i].in_root))
      fail_msg("clean_in_root(%s) = %s", cases[i].in, c ? c : "NULL");
    free(c);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_path_clean),
      cmocka_unit_test(test_parse_bytes),
      cmocka_unit_test(test_signal_parse),
      cmocka_unit_test(test_parse_numbers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
