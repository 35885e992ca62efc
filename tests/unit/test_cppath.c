/* SPDX-License-Identifier: GPL-2.0-or-later */
/* docker cp's path rules: Go's filepath.Clean/Base/Dir and moby's copy.go helpers, checked
 * against the values Go gives for the same inputs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/cppath.h"

static void eq(char *got, const char *want, const char *what, const char *in) {
  if (strcmp(got, want))
    fail_msg("%s(\"%s\") = \"%s\", want \"%s\"", what, in, got, want);
  free(got);
}

static void test_go_clean(void **state) {
  static const char *const cases[][2] = {
      {"", "."},
      {"abc", "abc"},
      {"abc/def", "abc/def"},
      {"a/b/c", "a/b/c"},
      {".", "."},
      {"..", ".."},
      {"../..", "../.."},
      {"../../abc", "../../abc"},
      {"/abc", "/abc"},
      {"/", "/"},
      {"abc/", "abc"},
      {"abc/def/", "abc/def"},
      {"/abc/", "/abc"},
      {"abc//def//ghi", "abc/def/ghi"},
      {"//abc", "/abc"},
      {"///abc", "/abc"},
      {"abc/./def", "abc/def"},
      {"/./abc/def", "/abc/def"},
      {"abc/.", "abc"},
      {"abc/def/ghi/../jkl", "abc/def/jkl"},
      {"abc/def/../ghi/../jkl", "abc/jkl"},
      {"abc/def/..", "abc"},
      {"abc/def/../..", "."},
      {"/abc/def/../..", "/"},
      {"abc/def/../../..", ".."},
      {"/abc/def/../../..", "/"},
      {"abc/def/../../../ghi/jkl/../../../mno", "../../mno"},
      {"/../abc", "/abc"},
      {"abc/./../def", "def"},
      {"abc//./../def", "def"},
      {"abc/../../././../def", "../../def"},
      {"/../../../etc/hostname", "/etc/hostname"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    eq(cb_go_clean(cases[i][0]), cases[i][1], "Clean", cases[i][0]);
}

static void test_go_base_dir(void **state) {
  static const char *const base[][2] = {
      {"", "."},   {".", "."},     {"/.", "."},        {"/", "/"},       {"////", "/"},
      {"x/", "x"}, {"abc", "abc"}, {"abc/def", "def"}, {"a/b/.x", ".x"}, {"a/b/c.", "c."}};
  for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
    eq(cb_go_base(base[i][0]), base[i][1], "Base", base[i][0]);
  static const char *const dir[][2] = {{"", "."},         {".", "."},       {"/.", "/"},
                                       {"/", "/"},        {"////", "/"},    {"/foo", "/"},
                                       {"x/", "x"},       {"abc", "."},     {"abc/def", "abc"},
                                       {"a/b/.x", "a/b"}, {"/a/b/", "/a/b"}};
  for (size_t i = 0; i < sizeof dir / sizeof dir[0]; i++)
    eq(cb_go_dir(dir[i][0]), dir[i][1], "Dir", dir[i][0]);
}

static void test_cp_paths(void **state) {
  static const char *const cpath[][2] = {
      {"etc", "/etc"},    {"/etc/", "/etc/"},    {"d/.", "/d/."},  {"/", "/"},
      {".", "/."},        {"/../../../x", "/x"}, {"a/b/..", "/a"}, {"a/b/../", "/a/"},
      {"/d/./", "/d/./"}, {"//d//.", "/d/."},
  };
  for (size_t i = 0; i < sizeof cpath / sizeof cpath[0]; i++)
    eq(cb_cp_container_path(cpath[i][0]), cpath[i][1], "container_path", cpath[i][0]);
  eq(cb_cp_local_path("x/", "/w"), "/w/x/", "local_path", "x/");
  eq(cb_cp_local_path(".", "/w"), "/w/.", "local_path", ".");
  eq(cb_cp_local_path("/abs/../y", "/w"), "/y", "local_path", "/abs/../y");
  assert_true(cb_cp_asserts_dir("/a/"));
  assert_true(cb_cp_asserts_dir("/a/."));
  assert_true(cb_cp_asserts_dir("."));
  assert_false(cb_cp_asserts_dir("/a"));
  static const char *const split[][3] = {
      {"/a/b/.", "/a/b", "."}, {"/a/b/", "/a", "b"}, {"/a/b", "/a", "b"},
      {"b", ".", "b"},         {"/", "/", "/"},      {"/.", "/", "."},
  };
  for (size_t i = 0; i < sizeof split / sizeof split[0]; i++) {
    char *d, *b;
    cb_cp_split(split[i][0], &d, &b);
    eq(d, split[i][1], "split.dir", split[i][0]);
    eq(b, split[i][2], "split.base", split[i][0]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_go_clean),
      cmocka_unit_test(test_go_base_dir),
      cmocka_unit_test(test_cp_paths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
