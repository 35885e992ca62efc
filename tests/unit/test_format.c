/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Times, durations and sizes against Docker's go-units and Go's time package. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/format.h"

#define S 1000000000LL
#define MIN (60 * S)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static void dur(int64_t ns, const char *want) {
  char *got = cb_human_duration(ns);
  if (strcmp(got, want))
    fail_msg("HumanDuration(%lld): got [%s], want [%s]", (long long)ns, got, want);
  free(got);
}

static void test_human_duration(void **state) {
  dur(-5 * S, "Less than a second");
  dur(0, "Less than a second");
  dur(999999999, "Less than a second");
  dur(1 * S, "1 second");
  dur(1999999999, "1 second");
  dur(2 * S, "2 seconds");
  dur(59 * S + 999999999, "59 seconds");
  dur(60 * S, "About a minute");
  dur(119 * S, "About a minute");
  dur(120 * S, "2 minutes");
  dur(59 * MIN + 59 * S, "59 minutes");
  dur(60 * MIN, "About an hour");
  dur(89 * MIN + 59 * S, "About an hour"); /* math.Round(1.4997) */
  dur(90 * MIN, "2 hours");                /* math.Round(1.5) rounds half away from zero */
  dur(47 * HOUR + 29 * MIN, "47 hours");
  dur(47 * HOUR + 30 * MIN, "2 days"); /* rounds to 48 hours */
  dur(13 * DAY + 11 * HOUR, "13 days");
  dur(14 * DAY, "2 weeks");
  dur(59 * DAY, "8 weeks");
  dur(60 * DAY, "2 months");
  dur(729 * DAY, "24 months");
  dur(730 * DAY, "2 years");
  dur(3 * 365 * DAY, "3 years");
  /* Years take the hours truncated, not rounded: 17519.6 h is "1 years" in go-units. */
  dur(17519 * HOUR + 36 * MIN, "1 years");
}

static void test_time_ago(void **state) {
  char *s = cb_time_ago(100 * S, 100 * S + 5 * MIN);
  assert_string_equal(s, "5 minutes ago");
  free(s);
  s = cb_time_ago(100 * S, 50 * S); /* a clock in the future */
  assert_string_equal(s, "Less than a second ago");
  free(s);
}

static void size(double b, const char *want) {
  char *got = cb_human_size(b);
  if (strcmp(got, want))
    fail_msg("HumanSize(%.0f): got [%s], want [%s]", b, got, want);
  free(got);
}

static void test_human_size(void **state) {
  size(0, "0B");
  size(1, "1B");
  size(999, "999B");
  size(1000, "1kB");
  size(1024, "1.024kB");
  size(2140160, "2.14MB");
  size(1234567, "1.235MB");
  size(5583000, "5.583MB");
  size(999999, "1000kB"); /* %.4g of 999.999 */
  size(1e9, "1GB");
  size(1e24, "1YB");
  size(1e27, "1000YB");
  /* docker images and ps --size use precision 3 */
  char *s = cb_human_size_precision(5583000, 3);
  assert_string_equal(s, "5.58MB");
  free(s);
  s = cb_human_size_precision(4261555, 3);
  assert_string_equal(s, "4.26MB");
  free(s);
}

static void rfc(int64_t ns, const char *want, const char *want_fixed) {
  char buf[CB_RFC3339_LEN];
  cb_format_rfc3339nano(ns, buf);
  assert_string_equal(buf, want);
  if (want_fixed) {
    cb_format_rfc3339nano_fixed(ns, buf);
    assert_string_equal(buf, want_fixed);
  }
}

static void test_format_rfc3339(void **state) {
  rfc(0, "0001-01-01T00:00:00Z", "1970-01-01T00:00:00.000000000Z");
  rfc(1700000000123456789LL, "2023-11-14T22:13:20.123456789Z", "2023-11-14T22:13:20.123456789Z");
  rfc(1700000000120000000LL, "2023-11-14T22:13:20.12Z", "2023-11-14T22:13:20.120000000Z");
  rfc(1700000000000000001LL, "2023-11-14T22:13:20.000000001Z", NULL);
  rfc(1700000000LL * S, "2023-11-14T22:13:20Z", "2023-11-14T22:13:20.000000000Z");
  rfc(-1, "1969-12-31T23:59:59.999999999Z", NULL);
}

static void parse_ok(const char *s, int64_t want) {
  int64_t got = 0;
  if (cb_parse_rfc3339(s, &got) < 0)
    fail_msg("parse_rfc3339(%s) failed", s);
  if (got != want)
    fail_msg("parse_rfc3339(%s): got %lld, want %lld", s, (long long)got, (long long)want);
}

static void test_parse_rfc3339(void **state) {
  parse_ok("2023-11-14T22:13:20.123456789Z", 1700000000123456789LL);
  parse_ok("2023-11-14T22:13:20Z", 1700000000LL * S);
  parse_ok("2023-11-14T23:13:20+01:00", 1700000000LL * S);
  parse_ok("2023-11-14T21:13:20.5-01:00", 1700000000LL * S + 500000000);
  parse_ok("2023-11-14", 1699920000LL * S);
  parse_ok("2023-11-14T22:13", 1699999980LL * S);
  /* Go's zero time, which cb_format_rfc3339nano prints for 0, reads back as 0. */
  parse_ok("0001-01-01T00:00:00Z", 0);
  int64_t x;
  const char *bad[] = {"",
                       "2023",
                       "2023-13-01",
                       "2023-11-14T25:00:00Z",
                       "2023-11-14T22:13:20X",
                       "2023-11-14T22:13:20.Z",
                       "yesterday",
                       "2023-11-14T22:13:20Zjunk",
                       "1500-01-01T00:00:00Z" /* out of the int64 nanosecond range */};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (cb_parse_rfc3339(bad[i], &x) == 0)
      fail_msg("parse_rfc3339(%s) should fail", bad[i]);
}

static void test_parse_duration(void **state) {
  struct {
    const char *s;
    int64_t ns;
  } ok[] = {{"0", 0},
            {"10s", 10 * S},
            {"10m", 10 * MIN},
            {"1h30m", 90 * MIN},
            {"2.5s", 2500000000LL},
            {"250ms", 250000000},
            {"1us", 1000},
            {"1\xc2\xb5s", 1000},
            {"7ns", 7},
            {"-5m", -5 * MIN},
            {"1h1m1s", HOUR + MIN + S},
            {".5s", 500000000}};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    int64_t got = -42;
    if (cb_parse_duration(ok[i].s, &got) < 0 || got != ok[i].ns)
      fail_msg("parse_duration(%s): got %lld, want %lld", ok[i].s, (long long)got,
               (long long)ok[i].ns);
  }
  /* Past the int64 range, and number forms Go does not take (this used to cast an infinite
   * double to int64, undefined behaviour). */
  const char *bad[] = {"",       "10",   "1x",     "h",        "-",
                       "1h 30m", "m5",   "1e300h", "3000000h", "9223372036854775808ns",
                       "0x10s",  "infs", "1e3s",   ".s",       "1..5s"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t got;
    if (cb_parse_duration(bad[i], &got) == 0)
      fail_msg("parse_duration(%s) should fail", bad[i]);
  }
}

static void test_parse_time_arg(void **state) {
  const int64_t now = 1700000000LL * S;
  int64_t got;
  cb_error_t err = NULL;
  assert_int_equal(cb_parse_time_arg("10m", now, &got, &err), 0);
  assert_int_equal(got, now - 10 * MIN);
  assert_int_equal(cb_parse_time_arg("1h30m", now, &got, &err), 0);
  assert_int_equal(got, now - 90 * MIN);
  assert_int_equal(cb_parse_time_arg("1600000000", now, &got, &err), 0);
  assert_int_equal(got, 1600000000LL * S);
  assert_int_equal(cb_parse_time_arg("1600000000.5", now, &got, &err), 0);
  assert_int_equal(got, 1600000000LL * S + 500000000);
  assert_int_equal(cb_parse_time_arg("1600000000.000000001", now, &got, &err), 0);
  assert_int_equal(got, 1600000000LL * S + 1);
  assert_int_equal(cb_parse_time_arg("2023-11-14T22:13:20.123456789Z", now, &got, &err), 0);
  assert_int_equal(got, 1700000000123456789LL);
  assert_int_equal(cb_parse_time_arg("2023-11-14", now, &got, &err), 0);
  assert_int_equal(got, 1699920000LL * S);
  assert_null(err);
  assert_int_equal(cb_parse_time_arg("yesterday", now, &got, &err), -1);
  assert_non_null(err);
  assert_non_null(strstr(cb_error_text(err), "yesterday"));
  cb_error_release(&err);
  assert_int_equal(cb_parse_time_arg("", now, &got, &err), -1);
  cb_error_release(&err);
  assert_int_equal(cb_parse_time_arg("1.2.3", now, &got, &err), -1);
  cb_error_release(&err);
  /* Unix seconds and durations past the int64 range of nanoseconds are errors (they used to
   * overflow: undefined behaviour). */
  assert_int_equal(cb_parse_time_arg("99999999999999999999", now, &got, &err), -1);
  cb_error_release(&err);
  assert_int_equal(cb_parse_time_arg("9300000000", now, &got, &err), -1);
  cb_error_release(&err);
  assert_int_equal(cb_parse_time_arg("-2562047h", INT64_MAX - 1, &got, &err), -1);
  cb_error_release(&err);
}

/* Times read from records may be anything: differences saturate. */
static void test_ns_between(void **state) {
  assert_int_equal(cb_ns_between(10, 25), 15);
  assert_true(cb_ns_between(INT64_MIN, 1700000000LL * S) == INT64_MAX);
  assert_true(cb_ns_between(INT64_MAX, -5) == INT64_MIN);
  char *s = cb_time_ago(INT64_MIN, 1700000000LL * S);
  assert_string_equal(s, "292 years ago");
  free(s);
  s = cb_time_ago(INT64_MAX, 0);
  assert_string_equal(s, "Less than a second ago");
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_human_duration), cmocka_unit_test(test_time_ago),
      cmocka_unit_test(test_human_size),     cmocka_unit_test(test_format_rfc3339),
      cmocka_unit_test(test_parse_rfc3339),  cmocka_unit_test(test_parse_duration),
      cmocka_unit_test(test_parse_time_arg), cmocka_unit_test(test_ns_between),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
