/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every fuzz harness shares. A harness is one file tests/fuzz/fuzz_NAME.c that defines
 * LLVMFuzzerTestOneInput; it is linked twice:
 *   - by `make fuzz`, with clang's libFuzzer (-fsanitize=fuzzer,address,undefined), and run
 *     for FUZZ_SECONDS over its corpus tests/fuzz/corpus/NAME/;
 *   - by `make unit` (any compiler, sanitizers as the build has them), with replay.c, as the
 *     unit test build/tests/test_fuzz_NAME, which feeds it every file of
 *     tests/fuzz/corpus/NAME/: the seeds and each input that once crashed or hung it.
 * A harness must not leak, must not exit, and must clean up what it writes on disk. */
#ifndef CROWBAR_FUZZ_H
#define CROWBAR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Split the input at its first NUL byte: the part before goes to *a (NUL-terminated, into
 * buf of size+1 bytes), the rest (if any) to *b / *blen. Returns whether there was a NUL. */
static inline int fuzz_split(const uint8_t *data, size_t size, char *buf, const char **a,
                             const char **b, size_t *blen) {
  const uint8_t *nul = memchr(data, 0, size);
  size_t alen = nul ? (size_t)(nul - data) : size;
  memcpy(buf, data, size);
  buf[size] = '\0';
  buf[alen] = '\0';
  *a = buf;
  *b = nul ? buf + alen + 1 : NULL;
  *blen = nul ? size - alen - 1 : 0;
  return nul != NULL;
}

#endif
