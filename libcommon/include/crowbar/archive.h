/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tar streams in (libarchive), extracted securely into a folder.
 *
 * Extraction reads any compression libarchive knows (gzip, xz, zstd, bzip2, lz4, or
 * none) and only the tar formats (ustar, pax, GNU). Member names are confined to the
 * destination, as Docker's archive.Unpack does:
 *   - a leading "/" is stripped ("/etc/passwd" is written as DEST/etc/passwd);
 *   - names are cleaned lexically ("a/./b/../c" -> "a/c") and a name that climbs out of
 *     the destination ("../../x", "a/../../x") makes the whole extraction fail;
 *   - hard-link targets get the same treatment, so a link can only point at a file of
 *     the same archive (a target such as "/etc/passwd" means DEST/etc/passwd);
 *   - nothing is written through a symlink: an entry whose parent path crosses a
 *     symlink (made earlier by the same archive) makes the extraction fail
 *     (libarchive's ARCHIVE_EXTRACT_SECURE_SYMLINKS);
 *   - symlinks themselves are kept as they are, absolute or not (they resolve inside the
 *     container), and so are device nodes, FIFOs, permissions, set-id bits, numeric
 *     owners (never mapped through the host's user names), times and xattrs, except
 *     "trusted.overlay.*" xattrs, which are dropped (only whiteout conversion sets them).
 * The entry for the root itself ("./") sets the destination's mode and owner.
 *
 * The destination must be a folder nobody else writes to during the extraction (a fresh
 * folder under $ROOT/tmp): the checks are path-based, not race-free against a concurrent
 * writer. The call changes the working directory while it runs (and restores it), so it
 * is not for threaded programs. */
#ifndef CROWBAR_ARCHIVE_H
#define CROWBAR_ARCHIVE_H

#include <stdint.h>

#include "crowbar/digest.h"
#include "crowbar/error.h"

enum {
  /* OCI whiteouts become overlayfs ones, as Docker's overlay2 driver applies a layer:
   * ".wh.NAME" -> a 0/0 character device NAME, ".wh..wh..opq" -> the xattr
   * trusted.overlay.opaque=y on its folder; other ".wh..wh.*" entries are skipped. */
  CB_EXTRACT_WHITEOUTS = 1u << 0,
  /* Do not restore owners: files belong to the caller (cp without -a). */
  CB_EXTRACT_NO_OWNER = 1u << 1,
};

struct cb_extract {
  unsigned flags; /* CB_EXTRACT_* */
  int tee_fd;     /* >= 0: the uncompressed tar stream is also written there, whole */
  /* Results. */
  char digest[CB_DIGEST_LEN + 1]; /* sha256 of the uncompressed stream (a layer's diff_id) */
  int64_t stream_size;            /* bytes of the uncompressed stream */
  int64_t unpacked_size;          /* regular files (hard links once) plus symlink targets, in bytes:
                                     the size Docker reports for a layer */
  uint64_t entries;               /* members read */
};

/* Extract the (possibly compressed) tar stream readable from fd into the existing folder
 * dest. On failure the folder holds a partial tree: the caller removes it. */
int cb_archive_extract_fd(int fd, const char *dest, struct cb_extract *x, cb_error_t *err);

/* The confined form of a member name as extraction writes it: "/a//b/./c/" -> "a/b/c",
 * "" or "./" -> "."; NULL when the name climbs out ("../x", "a/../../x"). Malloc'd. */
char *cb_archive_clean_path(const char *name);

#endif
