/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Copy a tree from one folder descriptor to another, as `docker cp` extracts its tar
 * (moby's archive.Untar with NoOverwriteDirNonDir), without the tar in between.
 *
 * Both sides are walked by descriptor (saferoot.h): the source with cb_sr_walk, the
 * destination one name at a time under a folder already resolved, with O_NOFOLLOW,
 * O_EXCL, AT_SYMLINK_NOFOLLOW and renameat. Either side may be a container: a symlink
 * there is copied as a symlink and never followed, a folder swapped for a symlink mid-copy
 * makes the copy fail, never write elsewhere. Regular files are opened O_PATH first and
 * reopened only once fstat says they are regular (a FIFO or device node swapped in is
 * never opened).
 *
 * The rules, per entry of the source:
 *   - a folder onto a folder merges: the entries are copied in, then the folder's mode,
 *     owner and times are set from the source's;
 *   - a folder onto anything else, or anything else onto a folder, is an error
 *     ("cannot overwrite directory ... with non-directory ...");
 *   - anything else replaces what is there atomically (a temporary name in the same
 *     folder, then rename); the top entry, when it is not a folder, always goes that way;
 *   - regular files (data streamed with copy_file_range or read/write), symlinks, hard
 *     links within the copied tree, device nodes and FIFOs are recreated; sockets are
 *     skipped, as in Docker's tar; mode bits (set-id included), times and extended
 *     attributes (but trusted.overlay.*) are kept; owners as the flags say. */
#ifndef CROWBAR_COPY_H
#define CROWBAR_COPY_H

#include <stdint.h>
#include <sys/types.h>

#include "crowbar/error.h"

enum {
  CB_COPY_KEEP_OWNER = 1u << 0, /* owners from the source (cp -a) */
  CB_COPY_CHOWN = 1u << 1,      /* owners set to uid:gid (into a container without -a) */
  /* The walk does not enter kernel pseudo file systems (a running container's /proc). */
  CB_COPY_SKIP_PSEUDO = 1u << 2,
};

struct cb_copy {
  unsigned flags;
  uid_t uid;
  gid_t gid;
  /* For messages: how the user names the destination folder dstdirfd (e.g. "/tmp" in the
   * container) and the source's top. */
  const char *dst_dir_display;
  /* Results. */
  uint64_t entries, bytes;
};

/* Copy srcdirfd/srcname (srcname "." for the folder srcdirfd itself) to dstdirfd/dstname.
 * dstname "." copies the entries of a source folder into the existing folder dstdirfd and
 * leaves that folder's own mode, owner and times alone (docker cp's "SRC/." onto an
 * existing folder). */
int cb_copy_tree(int srcdirfd, const char *srcname, int dstdirfd, const char *dstname,
                 struct cb_copy *c, cb_error_t *err);

/* Extract the tar stream readable from in (any compression libarchive reads, decompressed
 * in this process) into the folder dstdirfd with the same rules: what `docker cp -
 * CTR:DIR` does, without a chrooted child, since nothing is ever looked up by a path
 * string below dstdirfd (copytar.c). Owners come from the archive with
 * CB_COPY_KEEP_OWNER, else the files are the caller's; c->dst_dir_display names dstdirfd
 * in messages; c->entries and c->bytes count what was extracted. */
int cb_copy_untar(int in, int dstdirfd, struct cb_copy *c, cb_error_t *err);

/* chmod through any descriptor, O_PATH ones included (a symlink's is refused: EOPNOTSUPP):
 * the node the descriptor holds, never a name looked up again. */
int cb_copy_chmod_fd(int fd, mode_t mode);

/* Copy the data of one open regular file to another, streaming (copy_file_range, else
 * read/write). Returns the bytes copied, or -1 with errno. */
int64_t cb_copy_data(int in, int out);

#endif
