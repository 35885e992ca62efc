/* SPDX-License-Identifier: GPL-2.0-or-later */
/* swapper A B [N]: exchange the names A and B atomically (renameat2 RENAME_EXCHANGE) in a
 * tight loop, N times or until killed. Run inside a container to race a copy into A: the
 * hostile side of the CVE-2018-15664 tests (tests/integration/cp.bats). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: swapper A B [N]\n");
    return 2;
  }
  long n = argc > 3 ? atol(argv[3]) : -1;
  for (long i = 0; n < 0 || i < n; i++)
    if (renameat2(AT_FDCWD, argv[1], AT_FDCWD, argv[2], RENAME_EXCHANGE) < 0) {
      perror("renameat2");
      return 1;
    }
  return 0;
}
