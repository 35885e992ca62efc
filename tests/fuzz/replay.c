/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Replay a fuzz harness over its corpus (see fuzz.h): one cmocka test per target that feeds
 * every file of tests/fuzz/corpus/FUZZ_TARGET/ (or $CB_FUZZ_CORPUS) to the harness. A crash,
 * a sanitizer report or a hang (the suite's time-out) fails it. Built with -DFUZZ_TARGET. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crowbar/cleanup.h"
#include "crowbar/util.h"
#include "fuzz.h"

#ifndef FUZZ_TARGET
#error "build with -DFUZZ_TARGET=name"
#endif

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_replay(void **state) {
  const char *dir = getenv("CB_FUZZ_CORPUS");
  cleanup_free char *def = xasprintf("tests/fuzz/corpus/%s", FUZZ_TARGET);
  if (!dir || !*dir)
    dir = def;
  DIR *d = opendir(dir);
  if (!d)
    fail_msg("open %s (run from the top of the tree)", dir);
  char **names = NULL;
  struct dirent *de;
  while ((de = readdir(d)))
    if (de->d_name[0] != '.')
      cb_strv_append(&names, de->d_name);
  closedir(d);
  size_t n = cb_strv_len(names);
  assert_true(n > 0);
  qsort(names, n, sizeof *names, cmp_names);
  int argc = 1;
  char *args[] = {"replay", NULL}, **argv = args;
  LLVMFuzzerInitialize(&argc, &argv);
  for (size_t i = 0; i < n; i++) {
    cleanup_free char *path = xasprintf("%s/%s", dir, names[i]);
    cleanup_free char *buf = NULL;
    size_t len = 0;
    cb_error_t err = NULL;
    if (cb_read_file(path, &buf, &len, &err) < 0)
      fail_msg("%s", cb_error_text(err));
    print_message("replay %s\n", path); /* the last one named is the culprit of a crash */
    LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
  }
  cb_strv_free(names);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_replay),
  };
  return cmocka_run_group_tests_name("fuzz_" FUZZ_TARGET, tests, NULL, NULL);
}
