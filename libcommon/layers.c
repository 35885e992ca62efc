/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A container's changes from its overlay layers (see layers.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/dirlist.h"
#include "crowbar/fdstack.h"
#include "crowbar/json.h"
#include "crowbar/layers.h"
#include "crowbar/rootfs.h"
#include "crowbar/util.h"

#define OPAQUE_XATTR "trusted.overlay.opaque"
#define CAP_XATTR "security.capability"
/* Probe lower folders name by name below this many upper entries; list them above. */
#define LIST_LOWER_MIN 16

/* ---- pure parts ------------------------------------------------------------------------ */

static bool same_fs_time(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec == b->tv_sec && (a->tv_nsec == b->tv_nsec || a->tv_nsec == 0 || b->tv_nsec == 0);
}

bool cb_stat_differs(const struct stat *o, const struct stat *n) {
  if (o->st_mode != n->st_mode || o->st_uid != n->st_uid || o->st_gid != n->st_gid ||
      o->st_rdev != n->st_rdev)
    return true;
  if (!S_ISDIR(o->st_mode) && (!same_fs_time(&o->st_mtim, &n->st_mtim) || o->st_size != n->st_size))
    return true;
  return false;
}

int cb_change_order(const char *a, bool a_sub, const char *b, bool b_sub) {
  /* a + (a_sub ? "/" : "") against b + (b_sub ? "/" : ""), byte by byte. */
  for (;;) {
    int ca = *a ? (unsigned char)*a : a_sub ? '/' : -1;
    int cb = *b ? (unsigned char)*b : b_sub ? '/' : -1;
    if (ca != cb)
      return ca < cb ? -1 : 1;
    if (ca == -1)
      return 0;
    if (*a)
      a++;
    else
      a_sub = false;
    if (*b)
      b++;
    else
      b_sub = false;
  }
}

/* ---- the change list --------------------------------------------------------------------- */

struct rawchange {
  char kind; /* 0: a placeholder that stayed empty */
  size_t off;
};

struct walker {
  struct cb_changes *out;
  struct rawchange *raw;
  size_t nraw, rawcap;
  size_t live; /* changes made so far (placeholders once they become C) */
  char *path;  /* the folder being walked, "" for the root */
  size_t plen, pcap;
  char *const *hide;     /* paths hidden with everything below them (mount points) */
  size_t hidden;         /* entries hidden so far */
  struct cb_fdstack fds; /* the folders on the way down */
};

static size_t add_change(struct walker *w, char kind, const char *name) {
  struct cb_changes *o = w->out;
  size_t nl = strlen(name);
  size_t need = w->plen + 1 + nl + 1;
  if (o->len + need > o->cap) {
    o->cap = (o->len + need) * 2 + 4096;
    o->buf = xrealloc(o->buf, o->cap);
  }
  size_t off = o->len;
  memcpy(o->buf + off, w->path, w->plen);
  o->buf[off + w->plen] = '/';
  memcpy(o->buf + off + w->plen + 1, name, nl + 1);
  o->len += need;
  if (w->nraw == w->rawcap) {
    w->rawcap = w->rawcap ? w->rawcap * 2 : 256;
    w->raw = xrealloc(w->raw, w->rawcap * sizeof *w->raw);
  }
  w->raw[w->nraw].kind = kind;
  w->raw[w->nraw].off = off;
  if (kind)
    w->live++;
  return w->nraw++;
}

static void path_push(struct walker *w, const char *name, size_t *saved) {
  size_t nl = strlen(name);
  *saved = w->plen;
  if (w->plen + nl + 2 > w->pcap) {
    w->pcap = (w->plen + nl + 2) * 2;
    w->path = xrealloc(w->path, w->pcap);
  }
  w->path[w->plen++] = '/';
  memcpy(w->path + w->plen, name, nl + 1);
  w->plen += nl;
}

static void path_pop(struct walker *w, size_t saved) {
  w->plen = saved;
  w->path[saved] = '\0';
}

void cb_changes_release(struct cb_changes *ch) {
  free(ch->v);
  free(ch->buf);
  memset(ch, 0, sizeof *ch);
}

/* ---- folder listings ---------------------------------------------------------------------- */

struct listing {
  struct cb_dirent *v;
  size_t n;
  char *names;
};

static void listing_free(struct listing *l) {
  free(l->v);
  free(l->names);
  memset(l, 0, sizeof *l);
}

static int read_listing(int fd, struct listing *l, cb_error_t *err) {
  memset(l, 0, sizeof *l);
  return cb_dir_read(fd, false, &l->v, &l->n, &l->names, err);
}

/* A name -> (layer, type) index of the merged lower folder: the first layer wins. */
struct lindex {
  struct {
    const char *name;
    int layer;
    unsigned char type;
  } * slot;
  size_t cap;
  struct listing *lists; /* one per layer, owning the names */
  size_t nlists;
};

static uint64_t hash_name(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static void lindex_free(struct lindex *x) {
  for (size_t i = 0; i < x->nlists; i++)
    listing_free(&x->lists[i]);
  free(x->lists);
  free(x->slot);
  memset(x, 0, sizeof *x);
}

static int lindex_build(struct lindex *x, const int *L, size_t nl, cb_error_t *err) {
  memset(x, 0, sizeof *x);
  x->lists = xcalloc(nl, sizeof *x->lists);
  x->nlists = nl;
  size_t total = 0;
  for (size_t i = 0; i < nl; i++) {
    if (lseek(L[i], 0, SEEK_SET) < 0 || read_listing(L[i], &x->lists[i], err) < 0) {
      if (!*err)
        cb_error_sys(err, "read a lower folder");
      lindex_free(x);
      return -1;
    }
    total += x->lists[i].n;
  }
  x->cap = 16;
  while (x->cap < total * 2)
    x->cap *= 2;
  x->slot = xcalloc(x->cap, sizeof *x->slot);
  for (size_t i = 0; i < nl; i++)
    for (size_t k = 0; k < x->lists[i].n; k++) {
      const struct cb_dirent *d = &x->lists[i].v[k];
      size_t h = hash_name(d->name) & (x->cap - 1);
      while (x->slot[h].name && strcmp(x->slot[h].name, d->name))
        h = (h + 1) & (x->cap - 1);
      if (x->slot[h].name)
        continue; /* an upper layer has it */
      x->slot[h].name = d->name;
      x->slot[h].layer = (int)i;
      x->slot[h].type = d->type;
    }
  return 0;
}

static int lindex_find(const struct lindex *x, const char *name, unsigned char *type) {
  size_t h = hash_name(name) & (x->cap - 1);
  while (x->slot[h].name) {
    if (!strcmp(x->slot[h].name, name)) {
      *type = x->slot[h].type;
      return x->slot[h].layer;
    }
    h = (h + 1) & (x->cap - 1);
  }
  return -1;
}

/* ---- the walk ----------------------------------------------------------------------------- */

static bool is_whiteout(const struct stat *st) {
  return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
}

static bool is_opaque(int fd) {
  char v[2];
  ssize_t n = fgetxattr(fd, OPAQUE_XATTR, v, sizeof v);
  return n == 1 && v[0] == 'y';
}

/* Where name is in the merged lower folder L: the layer (and its stat in *st), or -1. */
static int lower_lookup(const int *L, size_t nl, const struct lindex *x, const char *name,
                        struct stat *st, cb_error_t *err) {
  if (x && x->slot) {
    unsigned char type;
    int k = lindex_find(x, name, &type);
    if (k < 0)
      return -1;
    if (fstatat(L[k], name, st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT)
        return -1;
      return cb_error_sys(err, "stat a lower `%s`", name), -2;
    }
    return is_whiteout(st) ? -1 : k;
  }
  for (size_t i = 0; i < nl; i++) {
    if (fstatat(L[i], name, st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT)
        continue;
      return cb_error_sys(err, "stat a lower `%s`", name), -2;
    }
    return is_whiteout(st) ? -1 : (int)i;
  }
  return -1;
}

static bool cap_differs(int lowerdir, int upperdir, const char *name) {
  char p1[64 + 256], p2[64 + 256];
  snprintf(p1, sizeof p1, "/proc/self/fd/%d/%s", lowerdir, name);
  snprintf(p2, sizeof p2, "/proc/self/fd/%d/%s", upperdir, name);
  char v1[64], v2[64];
  ssize_t n1 = lgetxattr(p1, CAP_XATTR, v1, sizeof v1);
  ssize_t n2 = lgetxattr(p2, CAP_XATTR, v2, sizeof v2);
  if (n1 < 0)
    n1 = 0;
  if (n2 < 0)
    n2 = 0;
  return n1 != n2 || memcmp(v1, v2, (size_t)n1);
}

/* "what `PATH/name`: error" (a long path shortened), errno kept for the message. */
static int walk_fail(const struct walker *w, cb_error_t *err, const char *what, const char *name) {
  int e = errno;
  cleanup_free char *full = xasprintf("%s/%s", w->path, name);
  cleanup_free char *p = cb_path_abbrev(full, 200);
  errno = e;
  return cb_error_sys(err, "%s `%s`", what, p);
}

/* The folders of the merged lower folder name, found first in layer k of L (as a folder):
 * that one, then the same name in the layers below while they are folders, stopping after
 * an opaque one. Their descriptors go to fds[*n] and their indices in L to idx. A name
 * that is not (or no longer) a folder in layer k gives none. */
static int child_lowers(const struct walker *w, const int *L, size_t nl, int k, const char *name,
                        int *fds, size_t *idx, size_t *n, cb_error_t *err) {
  *n = 0;
  for (size_t i = (size_t)k; i < nl; i++) {
    int fd = openat(L[i], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT && i != (size_t)k)
        continue;
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
        break; /* a file, a whiteout: nothing below shows through */
      return walk_fail(w, err, "open a lower", name);
    }
    fds[*n] = fd;
    idx[(*n)++] = i;
    if (is_opaque(fd))
      break;
  }
  return 0;
}

/* The folders of the container's side of a folder name, found first in layer k of U (as a
 * folder): as child_lowers, and *hides tells whether the parent's folder is hidden from the
 * container (an opaque folder, or a file or whiteout below a folder of the container's).
 * None when it is no longer a folder in layer k (changed meanwhile). */
static int child_tops(const struct walker *w, const int *U, size_t nu, int k, const char *name,
                      int *fds, size_t *idx, size_t *n, bool *hides, cb_error_t *err) {
  *n = 0;
  *hides = false;
  for (size_t i = (size_t)k; i < nu; i++) {
    int fd = openat(U[i], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT && i != (size_t)k)
        continue;
      if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
        return walk_fail(w, err, "open", name);
      *hides = i != (size_t)k;
      break;
    }
    fds[*n] = fd;
    idx[(*n)++] = i;
    if (is_opaque(fd)) {
      *hides = true;
      break;
    }
  }
  return 0;
}

struct item {
  const char *name;
  unsigned char type;
  char kind;    /* 'A', 'C', 'D', 'P' (a folder in both: C if something changed below) */
  bool descend; /* walk its contents */
  bool all_new; /* ... where everything is A */
  int layer;    /* the lower layer it was found in, for child_lowers */
  int top;      /* the container's layer it was found in (0: the upper dir) */
  size_t ph;    /* its change (placeholder) index */
};

struct ord {
  struct item *it;
  bool sub;
};

static int cmp_ord(const void *a, const void *b) {
  const struct ord *x = a, *y = b;
  return cb_change_order(x->it->name, x->sub, y->it->name, y->sub);
}

static int cmp_item_name(const void *a, const void *b) {
  return strcmp(((const struct item *)a)->name, ((const struct item *)b)->name);
}

static int classify(struct walker *w, int U, const int *L, size_t nl, const struct lindex *x,
                    struct item *it, cb_error_t *err) {
  struct stat ust, lst;
  bool have_ust = false;
  if (it->type == DT_CHR || it->type == DT_UNKNOWN) {
    if (fstatat(U, it->name, &ust, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT)
        return 0; /* gone meanwhile */
      return walk_fail(w, err, "stat", it->name);
    }
    have_ust = true;
    it->type = IFTODT(ust.st_mode);
    if (is_whiteout(&ust)) {
      if (nl) {
        int k = lower_lookup(L, nl, x, it->name, &lst, err);
        if (k == -2)
          return -1;
        if (k >= 0)
          it->kind = CB_CHANGE_DELETE;
      }
      return 0;
    }
  }
  int k = -1;
  if (nl) {
    k = lower_lookup(L, nl, x, it->name, &lst, err);
    if (k == -2)
      return -1;
  }
  if (k < 0) {
    it->kind = CB_CHANGE_ADD;
    if (it->type == DT_DIR)
      it->descend = it->all_new = true;
    return 0;
  }
  if (!have_ust && fstatat(U, it->name, &ust, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno == ENOENT)
      return 0;
    return walk_fail(w, err, "stat", it->name);
  }
  it->type = IFTODT(ust.st_mode);
  bool differs = cb_stat_differs(&lst, &ust) || cap_differs(L[k], U, it->name);
  bool both_dirs = S_ISDIR(ust.st_mode) && S_ISDIR(lst.st_mode);
  it->kind = differs ? CB_CHANGE_MODIFY : both_dirs ? 'P' : 0;
  if (S_ISDIR(ust.st_mode)) {
    it->descend = true;
    it->all_new = !S_ISDIR(lst.st_mode);
    it->layer = k;
  }
  return 0;
}

/* The names of this folder's entries that are hidden (mount points), into *names. */
static size_t hidden_here(const struct walker *w, const char **names, size_t max) {
  size_t n = 0;
  for (char *const *h = w->hide; h && *h && n < max; h++) {
    const char *slash = strrchr(*h, '/');
    if (!slash || (size_t)(slash - *h) != w->plen || strncmp(*h, w->path, w->plen) || !slash[1])
      continue;
    names[n++] = slash + 1;
  }
  return n;
}

/* ---- the walk: iterative, one frame per folder on the way down --------------------------
 *
 * A frame is a folder of the union: its container's side (nu folders, the upper dir's and
 * the container's own layers') and its parent's side (nl folders, top first), whose
 * descriptors are one frame of w->fds (the nu, then the nl), tagged with their layer
 * numbers (lowers offset by LOWER_TAG), so that however deep the walk goes, at most
 * CB_FDSTACK_MAX_OPEN of them are open. */

#define LOWER_TAG (1 << 20)

struct dframe {
  struct listing up;
  struct lindex ux, x;
  struct item *items;
  size_t nitems;
  struct ord *ord;
  size_t nord, next;
  size_t nu, nl;
  int *tags; /* nu + nl */
  /* The parent's item this folder is, and the counts before it, for its own change. */
  struct item *it;
  size_t before, hidden, saved;
};

static void dframe_free(struct dframe *f) {
  free(f->ord);
  lindex_free(&f->x);
  lindex_free(&f->ux);
  free(f->items);
  listing_free(&f->up);
  free(f->tags);
  free(f);
}

/* The entries of the folder on top, classified and put in path order (f->ord). */
static int dframe_read(struct walker *w, struct dframe *f, bool hides, cb_error_t *err) {
  size_t nfd;
  const int *fds = cb_fdstack_frame(&w->fds, w->fds.depth - 1, &nfd);
  const int *U = fds, *L = fds + f->nu;
  size_t nu = f->nu, nl = f->nl;
  /* The container's side of the folder: one listing, or the union of its layers' (the
   * topmost entry of each name, whiteouts included: they are deletions to report). */
  struct item *items = NULL;
  size_t nitems = 0;
  if (nu == 1) {
    if (read_listing(U[0], &f->up, err) < 0)
      goto fail;
    nitems = f->up.n;
    items = xcalloc(nitems ? nitems : 1, sizeof *items);
    for (size_t i = 0; i < f->up.n; i++) {
      items[i].name = f->up.v[i].name;
      items[i].type = f->up.v[i].type;
    }
  } else {
    if (lindex_build(&f->ux, U, nu, err) < 0)
      goto fail;
    size_t cap = 16;
    items = xcalloc(cap, sizeof *items);
    for (size_t s = 0; s < f->ux.cap; s++) {
      if (!f->ux.slot[s].name)
        continue;
      if (nitems == cap)
        items = xrealloc(items, (cap *= 2) * sizeof *items);
      items[nitems++] = (struct item){
          .name = f->ux.slot[s].name, .type = f->ux.slot[s].type, .top = f->ux.slot[s].layer};
    }
  }
  f->items = items;
  size_t nup = nitems;
  bool opaque = nl && hides;
  if (nl && (nitems >= LIST_LOWER_MIN || opaque) && lindex_build(&f->x, L, nl, err) < 0)
    goto fail;
  for (size_t i = 0; i < nup; i++)
    if (classify(w, U[items[i].top], L, nl, &f->x, &items[i], err) < 0)
      return -1;
  if (opaque) {
    /* The old entries missing from an opaque folder are deleted. */
    qsort(items, nup, sizeof *items, cmp_item_name);
    size_t cap = nitems;
    for (size_t s = 0; s < f->x.cap; s++) {
      if (!f->x.slot[s].name)
        continue;
      struct item key = {.name = f->x.slot[s].name};
      if (bsearch(&key, items, nup, sizeof *items, cmp_item_name))
        continue;
      struct stat lst;
      if (f->x.slot[s].type == DT_CHR || f->x.slot[s].type == DT_UNKNOWN) {
        if (fstatat(L[f->x.slot[s].layer], f->x.slot[s].name, &lst, AT_SYMLINK_NOFOLLOW) < 0) {
          if (errno == ENOENT)
            continue;
          return walk_fail(w, err, "stat a lower", f->x.slot[s].name);
        }
        if (is_whiteout(&lst))
          continue;
      }
      if (nitems == cap)
        items = xrealloc(items, (cap = cap * 2 + 8) * sizeof *items);
      items[nitems++] = (struct item){.name = f->x.slot[s].name, .kind = CB_CHANGE_DELETE};
    }
    f->items = items;
  }
  f->nitems = nitems;
  /* Mount points (and all below them) never show. */
  const char *hid[16];
  size_t nhid = w->hide ? hidden_here(w, hid, 16) : 0;
  for (size_t i = 0; nhid && i < nitems; i++)
    for (size_t k = 0; k < nhid; k++)
      if (!strcmp(items[i].name, hid[k])) {
        items[i].kind = 0;
        items[i].descend = false;
        w->hidden++;
      }
  /* Each entry, and the contents of the folders to walk, in path order. */
  f->ord = xmalloc((2 * nitems + 1) * sizeof *f->ord);
  for (size_t i = 0; i < nitems; i++) {
    if (items[i].kind)
      f->ord[f->nord++] = (struct ord){&items[i], false};
    if (items[i].descend)
      f->ord[f->nord++] = (struct ord){&items[i], true};
  }
  qsort(f->ord, f->nord, sizeof *f->ord, cmp_ord);
  return 0;
fail:;
  cleanup_free char *p = cb_path_abbrev(*w->path ? w->path : "/", 200);
  return cb_error_wrap(err, "`%s`", p);
}

/* Open the folders of it (an item of the frame on top) and make them the new top frame;
 * NULL with *gone when it is no longer a folder. */
static struct dframe *dframe_enter(struct walker *w, struct dframe *f, struct item *it, bool *gone,
                                   cb_error_t *err) {
  size_t nfd;
  const int *fds = cb_fdstack_frame(&w->fds, w->fds.depth - 1, &nfd);
  int cfds[f->nu + f->nl + 1];
  size_t idx[f->nu + f->nl + 1];
  size_t nct = 0, ncl = 0;
  bool hides = false;
  *gone = false;
  if (child_tops(w, fds, f->nu, it->top, it->name, cfds, idx, &nct, &hides, err) < 0)
    return NULL;
  if (nct == 0) {
    *gone = true; /* gone meanwhile */
    return NULL;
  }
  if (!it->all_new && child_lowers(w, fds + f->nu, f->nl, it->layer, it->name, cfds + nct,
                                   idx + nct, &ncl, err) < 0) {
    for (size_t i = 0; i < nct; i++)
      close(cfds[i]);
    return NULL;
  }
  struct dframe *c = xcalloc(1, sizeof *c);
  c->nu = nct;
  c->nl = ncl;
  c->tags = xmalloc((nct + ncl + 1) * sizeof *c->tags);
  for (size_t i = 0; i < nct; i++)
    c->tags[i] = f->tags[idx[i]];
  for (size_t i = 0; i < ncl; i++)
    c->tags[nct + i] = f->tags[f->nu + idx[nct + i]];
  cb_fdstack_push(&w->fds, cfds, c->tags, nct + ncl);
  c->it = it;
  path_push(w, it->name, &c->saved);
  c->before = w->live;
  c->hidden = w->hidden;
  if (dframe_read(w, c, hides, err) < 0) {
    path_pop(w, c->saved);
    dframe_free(c);
    cb_error_t e2 = NULL;
    if (cb_fdstack_pop(&w->fds, &e2) < 0)
      cb_error_release(&e2);
    return NULL;
  }
  return c;
}

/* The folder f is done: out of it, and settle its own change in its parent. */
static int dframe_leave(struct walker *w, struct dframe *f, cb_error_t *err) {
  struct item *it = f->it;
  path_pop(w, f->saved);
  int rc = cb_fdstack_pop(&w->fds, err);
  if (rc < 0) {
    cleanup_free char *p = cb_path_abbrev(*w->path ? w->path : "/", 200);
    cb_error_wrap(err, "`%s`", p);
  }
  if (rc == 0 && it) {
    if (it->kind == 'P' && w->live > f->before) {
      w->raw[it->ph].kind = CB_CHANGE_MODIFY;
      w->live++;
    }
    /* A new folder whose only content was hidden held a mount point: the engine made it. */
    if (it->kind == CB_CHANGE_ADD && w->live == f->before && w->hidden > f->hidden &&
        w->raw[it->ph].kind) {
      w->raw[it->ph].kind = 0;
      w->live--;
    }
  }
  dframe_free(f);
  return rc;
}

static int walk_all(struct walker *w, struct dframe *root, bool hides, cb_error_t *err) {
  struct dframe **st = xmalloc(64 * sizeof *st);
  size_t depth = 0, cap = 64;
  int rc = dframe_read(w, root, hides, err);
  st[depth++] = root;
  while (rc == 0 && depth > 0) {
    struct dframe *f = st[depth - 1];
    if (f->next < f->nord) {
      struct ord o = f->ord[f->next++];
      struct item *it = o.it;
      if (!o.sub) {
        it->ph = add_change(w, it->kind == 'P' ? 0 : it->kind, it->name);
        continue;
      }
      bool gone;
      struct dframe *c = dframe_enter(w, f, it, &gone, err);
      if (!c) {
        if (!gone)
          rc = -1;
        continue;
      }
      if (depth == cap)
        st = xrealloc(st, (cap *= 2) * sizeof *st);
      st[depth++] = c;
      continue;
    }
    depth--;
    if (depth == 0)
      break; /* the root: its descriptors are released by the caller */
    rc = dframe_leave(w, f, err);
  }
  /* After a failure: the frames left (the root's freed with the stack by the caller). */
  while (depth > 1) {
    struct dframe *f = st[--depth];
    path_pop(w, f->saved);
    dframe_free(f);
    cb_error_t e2 = NULL;
    if (cb_fdstack_pop(&w->fds, &e2) < 0)
      cb_error_release(&e2);
  }
  dframe_free(root);
  free(st);
  return rc;
}

int cb_layers_changes_opts(const struct cb_changes_opts *o, struct cb_changes *out,
                           cb_error_t *err) {
  memset(out, 0, sizeof *out);
  if (o->ntop == 0)
    return cb_error_make(err, EINVAL, "no layers");
  struct walker w = {.out = out, .hide = o->hide};
  w.pcap = 4096;
  w.path = xcalloc(w.pcap, 1);
  cb_fdstack_init(&w.fds, 0);
  /* The container's root folders, down to an opaque one, and the parent's (our own
   * descriptors: the stack closes them). */
  struct dframe *root = xcalloc(1, sizeof *root);
  int *fds = xcalloc(o->ntop + o->nlower + 1, sizeof *fds);
  root->tags = xcalloc(o->ntop + o->nlower + 1, sizeof *root->tags);
  bool hides = false;
  int rc = 0;
  for (size_t i = 0; i < o->ntop && !hides; i++) {
    fds[root->nu] = openat(o->top[i], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fds[root->nu] < 0) {
      rc = cb_error_sys(err, "open a layer of the container");
      break;
    }
    root->tags[root->nu] = (int)i;
    hides = is_opaque(fds[root->nu++]);
  }
  for (size_t i = 0; rc == 0 && i < o->nlower; i++) {
    fds[root->nu + root->nl] = fcntl(o->lower[i], F_DUPFD_CLOEXEC, 3);
    if (fds[root->nu + root->nl] < 0) {
      rc = cb_error_sys(err, "open a layer of the image");
      break;
    }
    root->tags[root->nu + root->nl++] = LOWER_TAG + (int)i;
  }
  cb_fdstack_push(&w.fds, fds, root->tags, root->nu + root->nl);
  free(fds);
  if (rc == 0)
    rc = walk_all(&w, root, hides, err);
  else
    dframe_free(root);
  cb_fdstack_release(&w.fds);
  free(w.path);
  if (rc < 0) {
    free(w.raw);
    cb_changes_release(out);
    return -1;
  }
  /* Offsets become pointers (the buffer moves no more); empty placeholders go. */
  out->v = xmalloc((w.nraw ? w.nraw : 1) * sizeof *out->v);
  for (size_t i = 0; i < w.nraw; i++)
    if (w.raw[i].kind)
      out->v[out->n++] = (struct cb_change){w.raw[i].kind, out->buf + w.raw[i].off};
  out->vcap = w.nraw;
  free(w.raw);
  return 0;
}

int cb_layers_changes(int upperfd, const int *lowerfds, size_t nlowers, struct cb_changes *out,
                      cb_error_t *err) {
  struct cb_changes_opts o = {.top = &upperfd, .ntop = 1, .lower = lowerfds, .nlower = nlowers};
  return cb_layers_changes_opts(&o, out, err);
}

/* The container's mount destinations, cleaned ("/srv/data"), NULL-terminated. */
static char **mount_points(const struct cb_container *c) {
  char **v = xcalloc(1, sizeof *v);
  json_object *mounts = cb_json_get(c->json, "Mounts");
  size_t n =
      mounts && json_object_is_type(mounts, json_type_array) ? json_object_array_length(mounts) : 0;
  for (size_t i = 0; i < n; i++) {
    const char *d = cb_json_get_str(json_object_array_get_idx(mounts, i), "Destination", "");
    cleanup_free char *clean = *d ? cb_path_clean(d) : NULL;
    if (!clean || !strcmp(clean, "."))
      continue;
    cleanup_free char *abs = xasprintf("/%s", clean);
    cb_strv_append(&v, abs);
  }
  return v;
}

int cb_container_changes(const struct cb_container *c, struct cb_changes *out, cb_error_t *err) {
  struct cb_layer_paths lp;
  if (cb_container_layer_paths(c, &lp, err) < 0)
    return -1;
  /* The container's side: its upper dir and its own layers; the parent's: the rest. */
  size_t nl = cb_strv_len(lp.lowers);
  size_t ntop = 1 + lp.nown;
  int *fds = xcalloc(1 + nl, sizeof *fds);
  size_t opened = 0;
  int rc = -1;
  char **hide = mount_points(c);
  for (; opened < 1 + nl; opened++) {
    const char *p = opened == 0 ? lp.upper : lp.lowers[opened - 1];
    fds[opened] = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fds[opened] < 0) {
      cb_error_sys(err, "open the %s `%s`", opened == 0 ? "upper dir" : "layer", p);
      goto out;
    }
  }
  struct cb_changes_opts o = {.top = fds,
                              .ntop = ntop,
                              .lower = fds + ntop,
                              .nlower = ntop <= nl + 1 ? nl + 1 - ntop : 0,
                              .hide = hide};
  rc = cb_layers_changes_opts(&o, out, err);
out:
  for (size_t i = 0; i < opened; i++)
    close(fds[i]);
  free(fds);
  cb_strv_free(hide);
  cb_layer_paths_release(&lp);
  return rc;
}
