/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The container's root filesystem as its processes see it, whatever its state.
 *
 * cb_rootfs_open() gives a directory descriptor on the container's root, for walking
 * (export, cp from) or writing (cp into). Nothing is ever mounted where the host, or any
 * other process, could see it, and nothing needs unmounting afterwards: every mount made
 * here is detached (it belongs to no mount namespace) and lives exactly as long as the
 * descriptor does.
 *
 * Running or paused container (its PID 1 alive, checked against its start time through a
 * pidfd, so a recycled PID is never entered), from the root of its mount namespace (setns
 * on the pidfd), never PID 1's own root (/proc/PID/root), which PID 1 may have moved into
 * a jail with chroot(2):
 *   - by default, a non-recursive clone of the container's root mount
 *     (open_tree(OPEN_TREE_CLONE) done inside its mount namespace, then back to ours):
 *     the very overlay superblock the container uses, so reads see its writes at once and
 *     writes land in it, with no second overlay over the same upper dir (the kernel calls
 *     that undefined behaviour). None of the container's other mounts (/proc, /sys, /dev,
 *     /etc/hosts, volumes) are in it: under them one sees what the overlay holds, i.e. the
 *     init layer's stubs (empty /proc, /sys, /etc/hosts...), exactly what `docker export`
 *     archives. A read-only container (--read-only) gives a read-only tree.
 *   - with CB_ROOTFS_MOUNTS, the namespace's root as a path in that namespace: the
 *     container's whole mount tree (volumes, /proc, /dev...). Walkers must then stay on
 *     one mount (see archive.h) unless they mean to cross; paths must be resolved with
 *     RESOLVE_IN_ROOT.
 * Stopped or created container: a private overlay of its layers, made with the new mount
 * API (fsopen/fsmount: a detached mount, never attached to any tree); read-only it is
 * lowerdir=UPPER:LOWER... (the upper dir read as the top lower layer: whiteouts and opaque
 * dirs apply as in the container), writable (CB_ROOTFS_WRITABLE) it is the container's own
 * upperdir/workdir over its lower dirs, so writes land in the container's upper dir. On
 * kernels without fsopen or "lowerdir+" (before 6.8) and a layer list too long for one
 * fsconfig string, the calling process moves to a private mount namespace
 * (unshare(CLONE_NEWNS), / made MS_REC|MS_PRIVATE), mounts the overlay on a temporary
 * folder under the runroot, opens it and detaches the mount at once (MNT_DETACH): the
 * host's mount table never holds it, and it dies with the descriptor.
 * With CB_ROOTFS_LAYERS (read-only), a stopped container's layers are given instead, to be
 * walked as a union in user space (archive.h's cb_archive_write_union): nothing is mounted
 * at all, and a fresh overlay's slow first lookups are saved (export is about twice as
 * fast). Only when that union is exact: the overlay module's redirect_dir and metacopy
 * are off (/sys/module/overlay/parameters), as the engine mounts with the defaults;
 * otherwise the private overlay is made as above.
 * While the root of a stopped container is open, the container's lock is held (shared when
 * read-only, exclusive when writable), so `start` and `rm` wait: the upper dir is never
 * used by the container's own overlay and ours at once.
 *
 * The calling process must be single-threaded (setns, unshare) and root. */
#ifndef CROWBAR_ROOTFS_H
#define CROWBAR_ROOTFS_H

#include <stdbool.h>

#include "crowbar/container.h"
#include "crowbar/context.h"
#include "crowbar/error.h"

enum {
  CB_ROOTFS_WRITABLE = 1u << 0, /* writes land in the container's upper dir */
  CB_ROOTFS_MOUNTS = 1u << 1,   /* running: the whole mount tree of its namespace */
  CB_ROOTFS_LAYERS = 1u << 2,   /* stopped, read-only: the layers, for a union walk */
};

enum cb_rootfs_kind {
  CB_ROOTFS_CLOSED,
  CB_ROOTFS_LIVE,    /* a clone of the running container's root mount */
  CB_ROOTFS_TREE,    /* the running container's whole mount tree (CB_ROOTFS_MOUNTS) */
  CB_ROOTFS_PRIVATE, /* a private overlay of a stopped container's layers */
  CB_ROOTFS_UNION,   /* a stopped container's layers, not mounted (layers, nlayers) */
};

struct cb_rootfs {
  int fd;      /* O_RDONLY | O_DIRECTORY on the root; -1 when closed (or CB_ROOTFS_UNION) */
  int lock_fd; /* the container's lock, held while a stopped container's root is open */
  enum cb_rootfs_kind kind;
  int *layers; /* CB_ROOTFS_UNION: the layer folders, top first (upper, init, image) */
  size_t nlayers;
};

#define CB_ROOTFS_INIT                                                                             \
  { .fd = -1, .lock_fd = -1, .kind = CB_ROOTFS_CLOSED, .layers = NULL, .nlayers = 0 }

/* Open c's root as described above. The record and state in c are reloaded under the
 * container's lock (they say what was opened: c->state.status). */
int cb_rootfs_open(const struct cb_ctx *ctx, struct cb_container *c, unsigned flags,
                   struct cb_rootfs *r, cb_error_t *err);
/* Close the root (the private mount goes with it) and release the lock. */
void cb_rootfs_close(struct cb_rootfs *r);
static inline void cb_rootfs_closep(struct cb_rootfs *r) {
  cb_rootfs_close(r);
}
#define cleanup_rootfs __attribute__((cleanup(cb_rootfs_closep)))

/* The layers of a container as recorded (GraphDriver.Data): upper, work and lower dirs,
 * lowers top first (the container's own layers, the init layer, then the image's layers:
 * stack.h). */
struct cb_layer_paths {
  char *upper, *work, *merged;
  char **lowers; /* NULL-terminated */
  size_t nown;   /* the first nown lowers are the container's own layers (commits by rename) */
};
int cb_container_layer_paths(const struct cb_container *c, struct cb_layer_paths *out,
                             cb_error_t *err);
void cb_layer_paths_release(struct cb_layer_paths *p);

/* A detached overlay mount (fsopen/fsmount) of these layers: read-only when upper is NULL
 * (then lowers needs at least two entries). Returns 1 when the kernel cannot do it this
 * way (no new mount API, or a lower list longer than one fsconfig string on kernels
 * without "lowerdir+"), 0 with *fd on success, -1 on error. */
int cb_overlay_fsmount(char *const *lowers, const char *upper, const char *work, int *fd,
                       cb_error_t *err);

#endif
