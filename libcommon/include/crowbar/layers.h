/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A container's changes to its image, read from its overlay layers (what `diff` prints).
 *
 * The answer is the one `docker diff` gives: Docker 20.10 on overlay2 compares the
 * container's filesystem with its parent layer's (the image plus the init layer) entry by
 * entry (archive.ChangesDirs, the "naive" diff), and so does this, without mounting
 * anything: only paths present in the upper dir can differ, so the walk goes over the
 * upper dir and looks each path up in the merged view of the lower dirs (top first,
 * honouring their whiteouts and opaque dirs). For each path:
 *   - A: in the container, not in the parent (every entry below a new folder is A too);
 *   - C: in both, but the type, mode, owner, device number or security.capability xattr
 *     differ, or (not for folders) the size or mtime (to the second when either side has
 *     no sub-second part); an entry only copied up (chown to the same owner, a hard link
 *     made to it, a folder's mtime) is no change;
 *   - D: in the parent, not in the container: a whiteout (0/0 character device) over a
 *     parent's entry, or a parent's entry missing from an opaque folder (so `rm -rf /etc
 *     && mkdir /etc` gives C /etc and a D for each old entry of /etc, and A or C for what
 *     is in it now); a deleted folder is one D, not one per entry below it;
 *   - a folder with a change below it is C (unless it is A or C itself), except "/".
 * What the engine mounts over the container (/proc, /dev, /etc/hosts...) sits in the init
 * layer, a lower layer, and never shows. The mount points of volumes and bind mounts that
 * the engine had to create are in the upper dir: they show as A (and their parents as C),
 * as in Docker. The list is sorted by path (byte order), which Docker leaves unspecified.
 *
 * Cost: one getdents pass per folder of the upper dir; stat calls only for entries that
 * also exist below (copied up) and for character devices; nothing at all for the
 * contents of new folders; a lower folder is listed once instead of probed per name when
 * the upper folder holds many entries. */
#ifndef CROWBAR_LAYERS_H
#define CROWBAR_LAYERS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "crowbar/container.h"
#include "crowbar/error.h"

enum cb_change_kind {
  CB_CHANGE_MODIFY = 'C',
  CB_CHANGE_ADD = 'A',
  CB_CHANGE_DELETE = 'D',
};

struct cb_change {
  char kind;        /* enum cb_change_kind */
  const char *path; /* "/etc/passwd" */
};

struct cb_changes {
  struct cb_change *v;
  size_t n;
  /* private */
  char *buf;
  size_t len, cap, vcap;
};

/* The changes of the upper dir over the lower dirs (top first), sorted by path. */
int cb_layers_changes(int upperfd, const int *lowerfds, size_t nlowers, struct cb_changes *out,
                      cb_error_t *err);
/* The same for a container, from its recorded layers (any state). */
int cb_container_changes(const struct cb_container *c, struct cb_changes *out, cb_error_t *err);
void cb_changes_release(struct cb_changes *ch);

/* Docker's statDifferent: type and mode, owner, rdev, and for non-folders the size and the
 * mtime (archive.sameFsTimeSpec: equal, or the same second with either side at .0). */
bool cb_stat_differs(const struct stat *old, const struct stat *new_);
/* Order of two entries of one folder in a path-sorted listing: an entry "name", or its
 * contents ("name/..." when sub is set). Sorting siblings by this yields the byte order of
 * the full paths without sorting them. */
int cb_change_order(const char *a, bool a_sub, const char *b, bool b_sub);

#endif
