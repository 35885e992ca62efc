/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crowbar/error.h"
#include "order.h"

int top_sort_parse(const char *s) {
  static const struct {
    const char *name;
    enum top_sort sort;
  } names[] = {
      {"cpu", TOP_SORT_CPU}, {"%cpu", TOP_SORT_CPU},  {"mem", TOP_SORT_MEM},
      {"rss", TOP_SORT_MEM}, {"res", TOP_SORT_MEM},   {"%mem", TOP_SORT_MEM},
      {"pid", TOP_SORT_PID}, {"time", TOP_SORT_TIME}, {"time+", TOP_SORT_TIME},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcasecmp(s, names[i].name))
      return (int)names[i].sort;
  return -1;
}

const char *top_sort_name(enum top_sort s) {
  switch (s) {
  case TOP_SORT_CPU: return "cpu";
  case TOP_SORT_MEM: return "mem";
  case TOP_SORT_PID: return "pid";
  case TOP_SORT_TIME: return "time";
  }
  return "cpu";
}

bool top_ctr_matches(const struct top_ctr *c, const char *filter) {
  if (!filter || !*filter)
    return true;
  return strstr(c->name, filter) || !strncmp(c->id, filter, strlen(filter));
}

/* What a comparison needs, passed down the merge sort (qsort has no context argument). */
struct cmp_ctx {
  const struct top_snapshot *snap;
  const struct top_order *o;
};

static int cmp_procs(const struct cmp_ctx *c, size_t a, size_t b) {
  const struct top_proc *x = &c->snap->procs[a], *y = &c->snap->procs[b];
  int r = 0;
  switch (c->o->sort) {
  case TOP_SORT_CPU: r = (y->cpu > x->cpu) - (y->cpu < x->cpu); break;
  case TOP_SORT_MEM: r = (y->rss_kb > x->rss_kb) - (y->rss_kb < x->rss_kb); break;
  case TOP_SORT_TIME: r = (y->ticks > x->ticks) - (y->ticks < x->ticks); break;
  case TOP_SORT_PID: break;
  }
  if (!r)
    r = (x->pid > y->pid) - (x->pid < y->pid);
  return c->o->reverse ? -r : r;
}

/* A merge sort of indices with the context passed down (no global state). */
static void sort_idx(size_t *v, size_t n, size_t *tmp, const struct cmp_ctx *c) {
  if (n < 2)
    return;
  size_t h = n / 2;
  sort_idx(v, h, tmp, c);
  sort_idx(v + h, n - h, tmp, c);
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n)
    tmp[k++] = cmp_procs(c, v[i], v[j]) <= 0 ? v[i++] : v[j++];
  while (i < h)
    tmp[k++] = v[i++];
  while (j < n)
    tmp[k++] = v[j++];
  memcpy(v, tmp, n * sizeof *v);
}

struct rows {
  struct top_row *v;
  size_t n, cap;
};

static void push(struct rows *r, enum top_row_kind kind, size_t idx, int depth) {
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 64;
    r->v = xrealloc(r->v, r->cap * sizeof *r->v);
  }
  r->v[r->n++] = (struct top_row){kind, idx, depth};
}

struct pidpos {
  pid_t pid;
  size_t pos;
};

static int pidpos_cmp(const void *a, const void *b) {
  const struct pidpos *x = a, *y = b;
  return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Procs v[0..n) (sorted) as trees: a process whose parent is among them goes under it. */
static void add_tree(struct rows *r, const struct top_snapshot *snap, const size_t *v, size_t n) {
  /* parent[i]: the position in v of v[i]'s parent, or n for a root; found by binary
   * search in the positions sorted by PID. */
  size_t *parent = xmalloc((n ? n : 1) * sizeof *parent);
  struct pidpos *byp = xmalloc((n ? n : 1) * sizeof *byp);
  for (size_t i = 0; i < n; i++)
    byp[i] = (struct pidpos){snap->procs[v[i]].pid, i};
  qsort(byp, n, sizeof *byp, pidpos_cmp);
  for (size_t i = 0; i < n; i++) {
    parent[i] = n;
    pid_t pp = snap->procs[v[i]].ppid;
    size_t lo = 0, hi = n;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (byp[mid].pid < pp)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo < n && byp[lo].pid == pp && byp[lo].pos != i)
      parent[i] = byp[lo].pos;
  }
  free(byp);
  /* Children of each position, in sorted order (a CSR table: kids[first[i]..first[i+1])). */
  size_t *first = xcalloc(n + 2, sizeof *first);
  size_t *kids = xmalloc((n ? n : 1) * sizeof *kids);
  for (size_t i = 0; i < n; i++)
    if (parent[i] != n)
      first[parent[i] + 2]++;
  for (size_t i = 2; i < n + 2; i++)
    first[i] += first[i - 1];
  for (size_t i = 0; i < n; i++)
    if (parent[i] != n)
      kids[first[parent[i] + 1]++] = i;
  /* Depth-first from each root, children in sorted order, with an explicit stack. A
   * cycle (impossible between live processes, but a sample is not atomic) is cut by
   * `done`, and what it leaves out goes flat at the end. */
  bool *done = xcalloc(n ? n : 1, sizeof *done);
  size_t *stack = xmalloc((n ? n : 1) * sizeof *stack);
  int *depth = xmalloc((n ? n : 1) * sizeof *depth);
  for (size_t root = 0; root < n; root++) {
    if (parent[root] != n || done[root])
      continue;
    size_t sp = 0;
    stack[sp] = root;
    depth[sp++] = 0;
    while (sp) {
      sp--;
      size_t cur = stack[sp];
      int d = depth[sp];
      if (done[cur])
        continue;
      done[cur] = true;
      push(r, TOP_ROW_PROC, v[cur], d);
      /* Pushed in reverse, so that the first sorted child comes out first. */
      for (size_t k = first[cur + 1]; k-- > first[cur];) {
        if (!done[kids[k]]) {
          stack[sp] = kids[k];
          depth[sp++] = d + 1;
        }
      }
    }
  }
  for (size_t i = 0; i < n; i++)
    if (!done[i])
      push(r, TOP_ROW_PROC, v[i], 0);
  free(parent);
  free(first);
  free(kids);
  free(done);
  free(stack);
  free(depth);
}

struct top_row *top_order_rows(const struct top_snapshot *snap, const struct top_order *o,
                               size_t *n) {
  struct rows r = {0};
  struct cmp_ctx c = {snap, o};
  size_t np = snap->nprocs;
  size_t *idx = xmalloc((np ? np : 1) * sizeof *idx);
  size_t *tmp = xmalloc((np ? np : 1) * sizeof *tmp);
  if (o->flat) {
    size_t k = 0;
    for (size_t i = 0; i < np; i++)
      if (top_ctr_matches(&snap->ctrs[snap->procs[i].ctr], o->filter))
        idx[k++] = i;
    if (o->tree) {
      /* Trees live within a container: one forest per container, in container order. */
      size_t start = 0;
      while (start < k) {
        size_t end = start;
        while (end < k && snap->procs[idx[end]].ctr == snap->procs[idx[start]].ctr)
          end++;
        sort_idx(idx + start, end - start, tmp, &c);
        add_tree(&r, snap, idx + start, end - start);
        start = end;
      }
    } else {
      sort_idx(idx, k, tmp, &c);
      for (size_t i = 0; i < k; i++)
        push(&r, TOP_ROW_PROC, idx[i], 0);
    }
  } else {
    /* Processes are grouped by container in the snapshot already. */
    size_t pos = 0;
    for (size_t ci = 0; ci < snap->nctrs; ci++) {
      size_t k = 0;
      while (pos < np && snap->procs[pos].ctr == ci)
        idx[k++] = pos++;
      if (!top_ctr_matches(&snap->ctrs[ci], o->filter))
        continue;
      push(&r, TOP_ROW_CTR, ci, 0);
      sort_idx(idx, k, tmp, &c);
      if (o->tree)
        add_tree(&r, snap, idx, k);
      else
        for (size_t i = 0; i < k; i++)
          push(&r, TOP_ROW_PROC, idx[i], 0);
    }
  }
  free(idx);
  free(tmp);
  *n = r.n;
  return r.v;
}
