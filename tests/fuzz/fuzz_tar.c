/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tar reader: cb_archive_extract_fd, as import, load and cp into a container run it,
 * extracting the input (any compression) into a fresh scratch folder, which is removed
 * afterwards. The input's first byte picks the flags (whiteouts as for image layers, no
 * owners as for cp, no files as for commit by rename); the rest is the stream. When the
 * extraction succeeds (and its files are small), the tree is written back as a tar (to
 * /dev/null). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crowbar/archive.h"
#include "crowbar/util.h"
#include "fuzz.h"

static char *scratch;
static int devnull = -1;

static void cleanup(void) {
  cb_error_t err = NULL;
  cb_rm_rf(scratch, &err);
  cb_error_release(&err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  if (scratch)
    return 0;
  /* tmpfs when there is one: many small files, made and removed at every run. */
  char tmpl[] = "/dev/shm/cb-fuzz-tar-XXXXXX", tmpl2[] = "/tmp/cb-fuzz-tar-XXXXXX";
  scratch = mkdtemp(tmpl) ? xstrdup(tmpl) : mkdtemp(tmpl2) ? xstrdup(tmpl2) : NULL;
  if (!scratch)
    abort();
  devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  atexit(cleanup);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > 1024 * 1024)
    return 0;
  unsigned flags = data[0] & (CB_EXTRACT_WHITEOUTS | CB_EXTRACT_NO_OWNER | CB_EXTRACT_NO_FILES);
  int fd = memfd_create("fuzz-tar", MFD_CLOEXEC);
  if (fd < 0 || cb_write_all(fd, data + 1, size - 1) < 0 || lseek(fd, 0, SEEK_SET) < 0)
    abort();
  char *dest = xasprintf("%s/dest", scratch);
  if (mkdir(dest, 0755) < 0)
    abort();
  struct cb_extract x = {.flags = flags, .tee_fd = (data[0] & 0x80) ? devnull : -1};
  cb_error_t err = NULL;
  /* The write-back reads every byte of the tree: not for sparse giants (a member may
   * declare any size; exporting a file of 4 EiB takes as long as it takes). */
  if (cb_archive_extract_fd(fd, dest, &x, &err) == 0 && !(flags & CB_EXTRACT_NO_FILES) &&
      x.unpacked_size < 16 * 1024 * 1024) {
    struct cb_tar_write w = {.flags = (data[0] & 0x40) ? CB_TAR_WHITEOUTS : 0};
    if (cb_archive_write_tree(AT_FDCWD, dest, devnull, &w, &err) < 0)
      cb_error_release(&err);
  }
  cb_error_release(&err);
  close(fd);
  /* The extraction may have left folders without write or search permission: root
   * removes them anyway; anyone else gets them back first. */
  if (cb_rm_rf(dest, &err) < 0) {
    fprintf(stderr, "cannot clean %s: %s\n", dest, cb_error_text(err));
    abort();
  }
  free(dest);
  return 0;
}
