/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A container's json-file log as `crowbar logs` reads it: the verb's own reader
 * (engine/cmd_logs.c, included here for its static functions) over the input as the log
 * file. The first two bytes are the options: byte 0 bit 0 --timestamps, bit 1 --since,
 * bit 2 --until (fixed times), bit 3 a --tail; byte 1 the --tail count. What the verb
 * prints goes to /dev/null. */
#include <stdio.h>
#include <sys/mman.h>

#include "fuzz.h"

static FILE *fuzz_null;
/* The verb writes to stdout and stderr: here both are /dev/null. */
#undef stdout
#undef stderr
#define stdout fuzz_null
#define stderr fuzz_null
#pragma GCC diagnostic ignored "-Wunused-function"
#include "../../engine/cmd_logs.c"
#undef stdout
#undef stderr

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  if (!fuzz_null)
    fuzz_null = fopen("/dev/null", "we");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || size > 1024 * 1024)
    return 0;
  struct logs_opts o = {.tail = -1};
  o.timestamps = data[0] & 1;
  o.has_since = data[0] & 2;
  o.since = 1700000000000000000LL;
  o.has_until = data[0] & 4;
  o.until = 1800000000000000000LL;
  if (data[0] & 8)
    o.tail = data[1];
  int fd = memfd_create("fuzz-log", MFD_CLOEXEC);
  if (fd < 0 || cb_write_all(fd, data + 2, size - 2) < 0)
    abort();
  struct printer p = {.o = &o, .tok = json_tokener_new()};
  off_t end = complete_end(fd, (off_t)(size - 2));
  off_t pos = tail_offset(fd, end, o.tail);
  cb_error_t err = NULL;
  if (print_range(&p, fd, pos, end, &pos, &err) < 0)
    cb_error_release(&err);
  json_tokener_free(p.tok);
  close(fd);
  return 0;
}
