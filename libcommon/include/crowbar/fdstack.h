/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The folders of a depth-first walk, from its top down to where it is, with a bounded
 * number of descriptors open, for trees of any depth: a walk that keeps one descriptor
 * per level runs out of them at about a thousand levels (RLIMIT_NOFILE), and one that
 * recurses overflows its stack long before a path string could name the bottom (a
 * container makes a 100,000-level chain with mkdir and chdir alone).
 *
 * Walkers keep their own frames on the heap and their folders here, one frame per level:
 * the folder's descriptor, or one per layer for a union of layers, each with a tag (the
 * layer's number; 0 for a plain walk). When more than max descriptors are open, those of
 * the oldest frames are closed (never frame 0, never the top two frames, never a pinned
 * one), each after an fstat that records which folder it was. A closed descriptor is
 * opened again when its frame is one of the top two once more, as ".." of the descriptor
 * with the same tag in the frame just below it (the walk came down through it), and checked
 * to be the very folder it was (device and inode): a folder that was moved meanwhile (a
 * running container renaming its own files) fails the walk with ESTALE, never sends it
 * elsewhere. Nothing is ever resolved from a path string. A descriptor whose tag the frame
 * below does not hold stays open: the layers of a union folder only thin out going down,
 * so there are at most as many of those as there are layers.
 *
 * Nothing here costs anything until a walk is deeper than about max descriptors: no
 * fstat, no reopen. */
#ifndef CROWBAR_FDSTACK_H
#define CROWBAR_FDSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "crowbar/error.h"

/* The most descriptors a walk keeps open by default (each walker has its own stack). */
#define CB_FDSTACK_MAX_OPEN 128

struct cb_fdstack {
  int *fds;   /* per slot: the descriptor, -1 while closed */
  int *tags;  /* per slot */
  dev_t *dev; /* per slot: the folder, recorded when its descriptor was closed */
  ino_t *ino;
  size_t nslots, scap;
  struct cb_fdframe {
    size_t first, n;
    bool pinned;
  } * frames;
  size_t depth, fcap;
  size_t open, max_open;
  size_t next_close; /* frames below this index have had their descriptors closed */
};

/* An empty stack that keeps about max_open descriptors (0: CB_FDSTACK_MAX_OPEN, or an
 * eighth of RLIMIT_NOFILE when that is less, 8 at least). */
void cb_fdstack_init(struct cb_fdstack *s, size_t max_open);
/* Close every descriptor left and free the stack. */
void cb_fdstack_release(struct cb_fdstack *s);
/* A new top frame of n descriptors, taken over (closed by pop or release); tags NULL
 * means all 0. May close descriptors of older frames. */
void cb_fdstack_push(struct cb_fdstack *s, const int *fds, const int *tags, size_t n);
/* Drop the top frame (closing its descriptors), after opening again the closed ones of
 * the two frames below it, which become the top two. -1 with err set (ESTALE) when one of
 * them is no longer the folder it was; the frame is dropped all the same. */
int cb_fdstack_pop(struct cb_fdstack *s, cb_error_t *err);
/* Keep the top frame's descriptors open while it is on the stack (a thread uses them). */
void cb_fdstack_pin(struct cb_fdstack *s);
/* The descriptors of frame i (0 is the first pushed) and their number; the top two
 * frames' are always open. The pointer is good until the next push or pop. */
int *cb_fdstack_frame(struct cb_fdstack *s, size_t i, size_t *n);
/* The first descriptor of the top frame (-1 when the stack is empty). */
static inline int cb_fdstack_top(const struct cb_fdstack *s) {
  return s->depth ? s->fds[s->frames[s->depth - 1].first] : -1;
}

#endif
