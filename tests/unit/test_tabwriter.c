/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Aligned columns as Go's text/tabwriter prints them for the docker CLI (10, 1, 3, ' '). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crowbar/tabwriter.h"

static char *tabulate(const char *const *chunks) {
  struct cb_tabwriter *tw = cb_tabwriter_new(10, 3);
  for (; *chunks; chunks++)
    cb_tabwriter_write(tw, *chunks);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(cb_tabwriter_flush(tw, f), 0);
  fclose(f);
  cb_tabwriter_free(tw);
  return buf;
}

#define CHECK(want, ...)                                                                           \
  do {                                                                                             \
    const char *const in_[] = {__VA_ARGS__, NULL};                                                 \
    char *got_ = tabulate(in_);                                                                    \
    assert_string_equal(got_, want);                                                               \
    free(got_);                                                                                    \
  } while (0)

static void test_docker_ps_header(void **state) {
  /* `docker ps` with no containers. */
  CHECK("CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n",
        "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n");
}

static void test_docker_ps_rows(void **state) {
  CHECK("CONTAINER ID   IMAGE     COMMAND               CREATED         STATUS                  "
        "PORTS     NAMES\n"
        "3f2a1b4c5d6e   busybox   \"sleep 1000000000…\"   5 minutes ago   Up 5 minutes           "
        "           web\n"
        "0123456789ab   alpine    \"sh\"                  2 hours ago     Exited (0) 1 hour ago  "
        "           db\n",
        "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n",
        "3f2a1b4c5d6e\tbusybox\t\"sleep 1000000000…\"\t5 minutes ago\tUp 5 minutes\t\tweb\n",
        "0123456789ab\talpine\t\"sh\"\t2 hours ago\tExited (0) 1 hour ago\t\tdb\n");
}

static void test_images(void **state) {
  CHECK("REPOSITORY   TAG       IMAGE ID       CREATED        SIZE\n"
        "busybox      latest    6fd955f66c23   2 weeks ago    4.26MB\n"
        "<none>       <none>    0123456789ab   3 months ago   1.2kB\n",
        "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n",
        "busybox\tlatest\t6fd955f66c23\t2 weeks ago\t4.26MB\n"
        "<none>\t<none>\t0123456789ab\t3 months ago\t1.2kB\n");
}

static void test_last_cell_unpadded(void **state) {
  CHECK("a         b\n", "a\tb\n");
  CHECK("a         b         \n", "a\tb\t\n");
  CHECK("abcdefghijkl   x\n", "abcdefghijkl\tx\n");
  CHECK("only\n", "only\n");
  CHECK("", "");
}

static void test_column_blocks(void **state) {
  /* A line with fewer cells ends the block of the columns it lacks. */
  CHECK("a         b         c\n"
        "aaaaaaaaaaaaaaaaaaaa\n"
        "x         y\n",
        "a\tb\tc\n", "aaaaaaaaaaaaaaaaaaaa\n", "x\ty\n");
  CHECK("aaaaaaaaaaaaaaa   b\n"
        "c                 d         e\n",
        "aaaaaaaaaaaaaaa\tb\n", "c\td\te\n");
  /* Column 1 is one block across lines 0 and 2 only when line 1 has it too. */
  CHECK("a         bbbbbbbbbbbbbbbb   c\n"
        "a         b\n"
        "a         b         c\n",
        "a\tbbbbbbbbbbbbbbbb\tc\n", "a\tb\n", "a\tb\tc\n");
}

static void test_partial_writes_and_utf8(void **state) {
  /* Cells may arrive in pieces; a last line without newline is printed as is. */
  CHECK("ab        c\nd         e", "a", "b\tc\nd", "\te");
  /* Widths count characters, not bytes. */
  CHECK("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9   x\n"
        "a          y\n",
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\tx\n", "a\ty\n");
}

static void test_reuse_after_flush(void **state) {
  struct cb_tabwriter *tw = cb_tabwriter_new(10, 3);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  cb_tabwriter_write(tw, "aaaaaaaaaaaaaaaaaaaa\tb\n");
  cb_tabwriter_flush(tw, f);
  cb_tabwriter_write(tw, "a\tb\n");
  cb_tabwriter_flush(tw, f);
  fclose(f);
  assert_string_equal(buf, "aaaaaaaaaaaaaaaaaaaa   b\na         b\n");
  free(buf);
  cb_tabwriter_free(tw);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_docker_ps_header),
      cmocka_unit_test(test_docker_ps_rows),
      cmocka_unit_test(test_images),
      cmocka_unit_test(test_last_cell_unpadded),
      cmocka_unit_test(test_column_blocks),
      cmocka_unit_test(test_partial_writes_and_utf8),
      cmocka_unit_test(test_reuse_after_flush),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
