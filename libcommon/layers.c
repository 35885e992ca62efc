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
  char *const *hide; /* paths hidden with everything below them (mount points) */
  size_t hidden;     /* entries hidden so far */
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

/* The folders of the merged lower folder name, found first in layer k of L (as a folder):
 * that one, then the same name in the layers below while they are folders, stopping after
 * an opaque one. */
static void child_lowers(const int *L, size_t nl, int k, const char *name, int **out, size_t *n) {
  int *v = xcalloc(nl, sizeof *v);
  size_t m = 0;
  for (size_t i = (size_t)k; i < nl; i++) {
    int fd = openat(L[i], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT && i != (size_t)k)
        continue;
      break; /* a file, a whiteout: nothing below shows through */
    }
    v[m++] = fd;
    if (is_opaque(fd))
      break;
  }
  *out = v;
  *n = m;
}

/* The folders of the container's side of a folder name, found first in layer k of U (as a
 * folder): as child_lowers, and *hides tells whether the parent's folder is hidden from the
 * container (an opaque folder, or a file or whiteout below a folder of the container's). */
static void child_tops(const int *U, size_t nu, int k, const char *name, int **out, size_t *n,
                       bool *hides) {
  int *v = xcalloc(nu, sizeof *v);
  size_t m = 0;
  *hides = false;
  for (size_t i = (size_t)k; i < nu; i++) {
    int fd = openat(U[i], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT && i != (size_t)k)
        continue;
      *hides = i != (size_t)k;
      break;
    }
    v[m++] = fd;
    if (is_opaque(fd)) {
      *hides = true;
      break;
    }
  }
  *out = v;
  *n = m;
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

static int walk(struct walker *w, const int *U, size_t nu, bool hides, const int *L, size_t nl,
                cb_error_t *err);

static int classify(struct walker *w, int U, const int *L, size_t nl, const struct lindex *x,
                    struct item *it, cb_error_t *err) {
  struct stat ust, lst;
  bool have_ust = false;
  if (it->type == DT_CHR || it->type == DT_UNKNOWN) {
    if (fstatat(U, it->name, &ust, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT)
        return 0; /* gone meanwhile */
      return cb_error_sys(err, "stat `%s/%s`", w->path, it->name);
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
    return cb_error_sys(err, "stat `%s/%s`", w->path, it->name);
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

static int walk_sub(struct walker *w, const int *U, size_t nu, const int *L, size_t nl,
                    struct item *it, cb_error_t *err) {
  int *ct = NULL;
  size_t nct = 0;
  bool hides = false;
  child_tops(U, nu, it->top, it->name, &ct, &nct, &hides);
  if (nct == 0) {
    free(ct);
    return 0; /* gone meanwhile */
  }
  int *cl = NULL;
  size_t ncl = 0;
  if (!it->all_new)
    child_lowers(L, nl, it->layer, it->name, &cl, &ncl);
  size_t saved;
  path_push(w, it->name, &saved);
  size_t before = w->live, hidden = w->hidden;
  int rc = walk(w, ct, nct, hides, cl, ncl, err);
  path_pop(w, saved);
  for (size_t i = 0; i < ncl; i++)
    close(cl[i]);
  free(cl);
  for (size_t i = 0; i < nct; i++)
    close(ct[i]);
  free(ct);
  if (rc == 0 && it->kind == 'P' && w->live > before) {
    w->raw[it->ph].kind = CB_CHANGE_MODIFY;
    w->live++;
  }
  /* A new folder whose only content was hidden held a mount point: the engine made it. */
  if (rc == 0 && it->kind == CB_CHANGE_ADD && w->live == before && w->hidden > hidden &&
      w->raw[it->ph].kind) {
    w->raw[it->ph].kind = 0;
    w->live--;
  }
  return rc;
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

static int walk(struct walker *w, const int *U, size_t nu, bool hides, const int *L, size_t nl,
                cb_error_t *err) {
  /* The container's side of the folder: one listing, or the union of its layers' (the
   * topmost entry of each name, whiteouts included: they are deletions to report). */
  struct listing up = {0};
  struct lindex ux = {0};
  size_t nitems = 0;
  struct item *items = NULL;
  if (nu == 1) {
    if (read_listing(U[0], &up, err) < 0)
      return cb_error_wrap(err, "`%s`", *w->path ? w->path : "/");
    nitems = up.n;
    items = xcalloc(nitems ? nitems : 1, sizeof *items);
    for (size_t i = 0; i < up.n; i++) {
      items[i].name = up.v[i].name;
      items[i].type = up.v[i].type;
    }
  } else {
    if (lindex_build(&ux, U, nu, err) < 0)
      return cb_error_wrap(err, "`%s`", *w->path ? w->path : "/");
    size_t cap = 16;
    items = xcalloc(cap, sizeof *items);
    for (size_t s = 0; s < ux.cap; s++) {
      if (!ux.slot[s].name)
        continue;
      if (nitems == cap)
        items = xrealloc(items, (cap *= 2) * sizeof *items);
      items[nitems++] =
          (struct item){.name = ux.slot[s].name, .type = ux.slot[s].type, .top = ux.slot[s].layer};
    }
  }
  size_t nup = nitems;
  int rc = 0;
  struct lindex x = {0};
  bool opaque = nl && hides;
  struct ord *ord = NULL;
  if (nl && (nitems >= LIST_LOWER_MIN || opaque)) {
    if (lindex_build(&x, L, nl, err) < 0) {
      rc = -1;
      goto out;
    }
  }
  for (size_t i = 0; i < nup && rc == 0; i++)
    rc = classify(w, U[items[i].top], L, nl, &x, &items[i], err);
  if (rc < 0)
    goto out;
  if (opaque) {
    /* The old entries missing from an opaque folder are deleted. */
    qsort(items, nup, sizeof *items, cmp_item_name);
    size_t cap = nitems;
    for (size_t s = 0; s < x.cap; s++) {
      if (!x.slot[s].name)
        continue;
      struct item key = {.name = x.slot[s].name};
      if (bsearch(&key, items, nup, sizeof *items, cmp_item_name))
        continue;
      struct stat lst;
      if (x.slot[s].type == DT_CHR || x.slot[s].type == DT_UNKNOWN) {
        if (fstatat(L[x.slot[s].layer], x.slot[s].name, &lst, AT_SYMLINK_NOFOLLOW) < 0 ||
            is_whiteout(&lst))
          continue;
      }
      if (nitems == cap)
        items = xrealloc(items, (cap = cap * 2 + 8) * sizeof *items);
      items[nitems++] = (struct item){.name = x.slot[s].name, .kind = CB_CHANGE_DELETE};
    }
  }
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
  size_t nord = 0;
  ord = xmalloc((2 * nitems + 1) * sizeof *ord);
  for (size_t i = 0; i < nitems; i++) {
    if (items[i].kind)
      ord[nord++] = (struct ord){&items[i], false};
    if (items[i].descend)
      ord[nord++] = (struct ord){&items[i], true};
  }
  qsort(ord, nord, sizeof *ord, cmp_ord);
  for (size_t i = 0; i < nord && rc == 0; i++) {
    struct item *it = ord[i].it;
    if (!ord[i].sub) {
      it->ph = add_change(w, it->kind == 'P' ? 0 : it->kind, it->name);
      continue;
    }
    rc = walk_sub(w, U, nu, L, nl, it, err);
  }
out:
  free(ord);
  lindex_free(&x);
  lindex_free(&ux);
  free(items);
  listing_free(&up);
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
  /* The container's root folders, down to an opaque one. */
  int *roots = xcalloc(o->ntop, sizeof *roots);
  size_t nroots = 0;
  bool hides = false;
  int rc = 0;
  for (size_t i = 0; i < o->ntop && !hides; i++) {
    roots[nroots] = openat(o->top[i], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (roots[nroots] < 0) {
      rc = cb_error_sys(err, "open a layer of the container");
      break;
    }
    hides = is_opaque(roots[nroots++]);
  }
  if (rc == 0)
    rc = walk(&w, roots, nroots, hides, o->lower, o->nlower, err);
  for (size_t i = 0; i < nroots; i++)
    close(roots[i]);
  free(roots);
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
