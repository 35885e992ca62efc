/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tar streams in (libarchive), extracted securely into a folder; and out, written from a
 * folder tree (see "Writing" below).
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
#include "crowbar/util.h"

enum {
  /* OCI whiteouts become overlayfs ones, as Docker's overlay2 driver applies a layer:
   * ".wh.NAME" -> a 0/0 character device NAME, ".wh..wh..opq" -> the xattr
   * trusted.overlay.opaque=y on its folder; other ".wh..wh.*" entries are skipped. */
  CB_EXTRACT_WHITEOUTS = 1u << 0,
  /* Do not restore owners: files belong to the caller (cp without -a). */
  CB_EXTRACT_NO_OWNER = 1u << 1,
  /* Write no file: read and check every member (names confined as above), count the
   * sizes, hash and tee the stream, and leave the destination as it is. For a layer whose
   * files are already in place (commit by rename, commit.h). */
  CB_EXTRACT_NO_FILES = 1u << 2,
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

/* The confined form of a member name as extraction writes it: cb_path_clean (util.h). */
#define cb_archive_clean_path cb_path_clean

/* ---- Writing --------------------------------------------------------------------------
 *
 * cb_archive_write_tree() streams the tree at dirfd/path as a tar to a descriptor:
 *   - pax format, "restricted" as libarchive calls it: plain ustar headers, with a pax
 *     extended header only for what ustar cannot hold (long names, big numbers, xattrs);
 *     GNU tar, bsdtar, Go's archive/tar (Docker) read it;
 *   - numeric owners only (no user or group names: the host's names mean nothing in a
 *     container), modes with set-id bits, mtimes (sub-second in pax headers), symlinks as
 *     they are, hard links (by inode, the first path in walk order carries the data, as
 *     Docker's archives do), character and block devices, FIFOs; sockets are skipped, as
 *     tar does;
 *   - xattrs (SCHILY.xattr / LIBARCHIVE.xattr pax records), except "trusted.overlay.*";
 *   - no symlink is ever followed, the top one included; entries on another mount than
 *     the top folder are left out (and not descended into), unless CB_TAR_CROSS_MOUNTS;
 *   - entries sorted by name within each folder (Docker's walk order), folders before
 *     their contents, folder names ending in "/";
 *   - names: without a top name, the top folder itself is not archived and its contents
 *     are named "bin", "etc/passwd"... (`docker export`); with one ("etc"), the top is
 *     that entry and the rest follows ("etc/", "etc/passwd"), whatever the top is called
 *     on disk (`cp CTR:/etc -`). A top that is not a folder needs a top name.
 * File data is read with large reads (O_NOATIME when allowed) and the stream is written in
 * large blocks, not padded to tar's 10 KiB records (readers do not need it). A file that
 * shrinks while it is read is padded with zeros to the size in its header, one that
 * grows is cut there, as GNU tar does; an entry that disappears during the walk is left
 * out. A failed write (a closed pipe, a full disk) fails the call. */

enum {
  CB_TAR_CROSS_MOUNTS = 1u << 0, /* descend into (and archive) other mounts */
  /* The tree is an overlay upper dir, written as an OCI layer (Docker's overlay2 Diff):
   * a 0/0 character device NAME becomes an empty file ".wh.NAME" (mode 0600, its owner
   * and mtime kept), a folder with trusted.overlay.opaque=y is followed by an empty
   * ".wh..wh..opq" in it. Whiteouts are never hard links. */
  CB_TAR_WHITEOUTS = 1u << 1,
  /* With CB_TAR_CROSS_MOUNTS: kernel pseudo file systems (proc, sysfs, cgroup, devpts,
   * mqueue... see saferoot.h) mounted below the top are archived as empty folders, not
   * walked: what `docker cp` shows of a running container's /proc, /sys, /dev/pts. */
  CB_TAR_SKIP_PSEUDO = 1u << 2,
  /* With CB_TAR_WHITEOUTS, for an upper dir about to become a store layer as it is
   * (commit by rename, commit.h): the xattrs overlayfs keeps only in an upper dir
   * (trusted.overlay.origin, impure, uuid, nlink, upper: inode identity and readdir
   * bookkeeping) are removed from the tree as it is read. The others, which a lower layer
   * would not show the same (redirect, metacopy, protattr, anything unknown; opaque
   * markers on folders excepted), are left in place and counted in stats.overlay_kept. */
  CB_TAR_STRIP_UPPER = 1u << 3,
};

struct cb_tar_stats {
  uint64_t entries;      /* members written */
  uint64_t data;         /* bytes of file data */
  uint64_t written;      /* bytes of the stream */
  uint64_t overlay_kept; /* CB_TAR_STRIP_UPPER: entries with overlay xattrs left in place */
};

struct cb_tar_write {
  unsigned flags;   /* CB_TAR_* */
  const char *name; /* the top entry's name in the archive, or NULL (see above) */
  /* Called about every 4 MiB or 1000 entries with the counts so far; may be NULL. */
  void (*progress)(const struct cb_tar_stats *s, void *arg);
  void *progress_arg;
  struct cb_tar_stats stats; /* results */
};

/* Write the tree at dirfd/path ("" or NULL: dirfd itself) as a tar stream to out. */
int cb_archive_write_tree(int dirfd, const char *path, int out, struct cb_tar_write *w,
                          cb_error_t *err);
/* Write the union of overlay layers (folders, top first: an upper dir, then lower dirs) as
 * overlayfs shows it, without mounting it: in each folder the topmost entry of a name wins,
 * a whiteout (0/0 character device) hides the name below it and is not archived, a folder
 * with trusted.overlay.opaque=y hides the folders below it, and a folder's metadata is its
 * topmost one's. Exact for overlays without redirect_dir and metacopy (their defaults).
 * Each layer is walked on its own mount (see above). */
int cb_archive_write_union(const int *layers, size_t n, int out, struct cb_tar_write *w,
                           cb_error_t *err);

#endif
