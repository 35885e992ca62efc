/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Seccomp profiles in Docker's format (read by seccomp_profile.c, or generated at build
 * time for the default one), compiled into classic BPF by hand (see seccomp.h).
 *
 * A profile is a list of rules (names, action, argument conditions, conditions on the
 * container: capabilities, architecture, kernel). Compiling decides the conditions, then
 * builds, for each ABI the profile covers (x86_64 always; i386 and x32 through archMap),
 * a table "call number -> decision" and emits a binary search over it: a dozen compares
 * for any call where libseccomp's program is a linear list. The verdicts are
 * libseccomp's (tests/unit/test_seccomp.c compares every call number with a program
 * libseccomp generates), with runc's additions: rules whose action is the default one are
 * left out, and calls past the newest one the profile names fail with ENOSYS.
 *
 * The program is emitted backwards (last instruction first): every jump of seccomp's BPF
 * goes forward, so its target is always emitted already and its distance known; a target
 * further than a conditional jump can reach (255) gets a "ja" trampoline. */
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/json.h"
#include "crowbar/seccomp.h"
#include "crowbar/security.h"
#include "crowbar/util.h"
#include "seccomp-internal.h"

struct sc_syscall {
  const char *name;
  int nr[SC_NABI];
};

#include "seccomp_tables.h"

const struct cb_seccomp_profile *cb_seccomp_default_profile(void) {
  return &sc_default_profile;
}

static int cmp_syscall(const void *key, const void *elem) {
  return strcmp(key, ((const struct sc_syscall *)elem)->name);
}

static const struct sc_syscall *sc_lookup(const char *name) {
  return bsearch(name, sc_syscalls, sizeof sc_syscalls / sizeof sc_syscalls[0],
                 sizeof sc_syscalls[0], cmp_syscall);
}

/* i386 multiplexes the socket calls through socketcall(2) and the System V IPC ones
 * through ipc(2), arg 0 being the call: a rule on one applies there too (libseccomp). */
static const struct {
  const char *name;
  int mux; /* 0: socketcall, 1: ipc */
  unsigned call;
} sc_mux[] = {
    {"accept", 0, 5},      {"accept4", 0, 18},    {"bind", 0, 2},        {"connect", 0, 3},
    {"getpeername", 0, 7}, {"getsockname", 0, 6}, {"getsockopt", 0, 15}, {"listen", 0, 4},
    {"msgctl", 1, 14},     {"msgget", 1, 13},     {"msgrcv", 1, 12},     {"msgsnd", 1, 11},
    {"recv", 0, 10},       {"recvfrom", 0, 12},   {"recvmmsg", 0, 19},   {"recvmsg", 0, 17},
    {"semctl", 1, 3},      {"semget", 1, 2},      {"semop", 1, 1},       {"semtimedop", 1, 4},
    {"send", 0, 9},        {"sendmmsg", 0, 20},   {"sendmsg", 0, 16},    {"sendto", 0, 11},
    {"setsockopt", 0, 14}, {"shmat", 1, 21},      {"shmctl", 1, 24},     {"shmdt", 1, 22},
    {"shmget", 1, 23},     {"shutdown", 0, 13},   {"socket", 0, 1},      {"socketpair", 0, 8},
};
#define SC_NR_SOCKETCALL_X86 102
#define SC_NR_IPC_X86 117

/* ---- deciding the rules ----------------------------------------------------------- */

void cb_seccomp_target_host(uint64_t caps, struct cb_seccomp_target *t) {
  struct utsname u;
  t->caps = caps;
  t->kernel = t->major = 0;
  if (uname(&u) == 0 && sscanf(u.release, "%u.%u", &t->kernel, &t->major) != 2)
    t->kernel = t->major = 0;
}

static bool kernel_at_least(const struct cb_seccomp_target *t, int k, int m) {
  return (int)t->kernel > k || ((int)t->kernel == k && (int)t->major >= m);
}

/* Docker's setupSeccomp: excludes first (any match drops the rule), then includes (all
 * must hold). */
static bool rule_applies(const struct sc_rule *r, const struct cb_seccomp_target *t) {
  if (r->exc.arch == 1)
    return false;
  if (r->exc.caps & t->caps)
    return false;
  if ((r->exc.kernel || r->exc.major) && kernel_at_least(t, r->exc.kernel, r->exc.major))
    return false;
  if (r->inc.arch == 0)
    return false;
  if (r->inc.unknown_cap || (r->inc.caps & t->caps) != r->inc.caps)
    return false;
  if ((r->inc.kernel || r->inc.major) && !kernel_at_least(t, r->inc.kernel, r->inc.major))
    return false;
  return true;
}

/* One rule on one call number of one ABI: its conditions are extra (the multiplexer's
 * call number), then args[0..nargs). */
struct sc_entry {
  uint32_t nr;
  uint32_t action;
  uint32_t order;   /* the rule's place in the profile */
  int8_t first_arg; /* its lowest argument index, -1 without conditions */
  uint8_t nargs;
  bool has_extra;
  const struct sc_arg *args;
  struct sc_arg extra;
};

struct sc_table {
  struct sc_entry *v;
  size_t n, cap;
  uint32_t max; /* the highest number a rule names (for the ENOSYS stub) */
  bool any;
};

static void table_add(struct sc_table *t, uint32_t nr, uint32_t action, size_t order,
                      const struct sc_arg *args, size_t nargs, const struct sc_arg *extra) {
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 512;
    t->v = xrealloc(t->v, t->cap * sizeof *t->v);
  }
  struct sc_entry *e = &t->v[t->n++];
  *e = (struct sc_entry){.nr = nr,
                         .action = action,
                         .order = (uint32_t)order,
                         .first_arg = -1,
                         .nargs = (uint8_t)nargs,
                         .args = args};
  if (extra) {
    e->has_extra = true;
    e->extra = *extra;
    e->first_arg = (int8_t)extra->index;
  }
  for (size_t i = 0; i < nargs; i++)
    if (e->first_arg < 0 || (int)args[i].index < e->first_arg)
      e->first_arg = (int8_t)args[i].index;
}

/* For one call, libseccomp's order: a rule without conditions overrides every other (the
 * first one given wins); conditional rules on a higher argument are tested before those on
 * a lower one; otherwise the profile's order. */
static int cmp_entry(const void *pa, const void *pb) {
  const struct sc_entry *a = pa, *b = pb;
  if (a->nr != b->nr)
    return a->nr < b->nr ? -1 : 1;
  if (a->first_arg != b->first_arg)
    return a->first_arg > b->first_arg ? -1 : 1;
  return a->order < b->order ? -1 : a->order > b->order;
}

/* Add a rule's conditions (runc: several conditions on one argument make one rule each,
 * any of which allows; otherwise all of them must hold). */
static void add_rule(struct sc_table *t, uint32_t nr, const struct sc_rule *r, size_t order,
                     const struct sc_arg *extra) {
  bool repeated = false;
  for (size_t i = 0; i < r->nargs; i++)
    for (size_t j = i + 1; j < r->nargs; j++)
      if (r->args[i].index == r->args[j].index)
        repeated = true;
  if (!repeated) {
    table_add(t, nr, r->action, order, r->args, r->nargs, extra);
    return;
  }
  for (size_t i = 0; i < r->nargs; i++)
    table_add(t, nr, r->action, order, &r->args[i], 1, extra);
}

/* Sort a table as cmp_entry does: a counting sort on the call number (stable: the entries
 * come in the profile's order), then the few entries of one call among themselves. */
static void sort_entries(struct sc_table *t, uint32_t base) {
  enum { SPAN = 1024 };
  for (size_t i = 0; i < t->n; i++)
    if (t->v[i].nr - base >= SPAN) {
      qsort(t->v, t->n, sizeof *t->v, cmp_entry);
      return;
    }
  uint32_t start[SPAN + 1] = {0};
  for (size_t i = 0; i < t->n; i++)
    start[t->v[i].nr - base + 1]++;
  for (size_t k = 0; k < SPAN; k++)
    start[k + 1] += start[k];
  struct sc_entry *out = xcalloc(t->n ? t->n : 1, sizeof *out);
  for (size_t i = 0; i < t->n; i++)
    out[start[t->v[i].nr - base]++] = t->v[i];
  for (size_t i = 1; i < t->n; i++) {
    struct sc_entry e = out[i];
    size_t j = i;
    while (j > 0 && cmp_entry(&out[j - 1], &e) > 0) {
      out[j] = out[j - 1];
      j--;
    }
    out[j] = e;
  }
  free(t->v);
  t->v = out;
  t->cap = t->n;
}

static int cmp_mux(const void *key, const void *elem) {
  return strcmp(key, *(const char *const *)elem);
}

static void build_tables(const struct cb_seccomp_profile *p, const struct cb_seccomp_target *tg,
                         struct sc_table tables[SC_NABI]) {
  for (size_t i = 0; i < p->nrules; i++) {
    const struct sc_rule *r = &p->rules[i];
    if (!rule_applies(r, tg))
      continue;
    for (size_t k = 0; k < r->nnames; k++) {
      const struct sc_syscall *s = sc_lookup(r->names[k]);
      for (int abi = 0; abi < SC_NABI; abi++) {
        if (!(p->abis & (1u << abi)))
          continue;
        struct sc_table *t = &tables[abi];
        int nr = s ? s->nr[abi] : -1;
        if (nr >= 0 && (!t->any || (uint32_t)nr > t->max)) {
          t->max = (uint32_t)nr;
          t->any = true;
        }
        /* runc leaves out the rules that do what the default does. */
        if (r->action == p->default_action)
          continue;
        if (nr >= 0)
          add_rule(t, (uint32_t)nr, r, i, NULL);
        if (abi != SC_X86 || r->nargs)
          continue;
        const __typeof__(sc_mux[0]) *m = bsearch(
            r->names[k], sc_mux, sizeof sc_mux / sizeof sc_mux[0], sizeof sc_mux[0], cmp_mux);
        if (m) {
          struct sc_arg call = {0, SC_OP_EQ, m->call, 0};
          add_rule(t, m->mux ? SC_NR_IPC_X86 : SC_NR_SOCKETCALL_X86, r, i, &call);
        }
      }
    }
  }
  for (int abi = 0; abi < SC_NABI; abi++)
    sort_entries(&tables[abi], abi == SC_X32 ? SC_X32_BIT : 0);
}

/* ---- emitting --------------------------------------------------------------------- */

/* Instructions in reverse: v[0] is the program's last. A label is an index in v. */
struct sc_prog {
  struct sock_filter *v;
  size_t n, cap;
  bool too_big;
};

#define SC_MAX_INSNS 4096 /* BPF_MAXINSNS */

static size_t put(struct sc_prog *p, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k) {
  if (p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 1024;
    p->v = xrealloc(p->v, p->cap * sizeof *p->v);
  }
  if (p->n >= SC_MAX_INSNS)
    p->too_big = true;
  p->v[p->n] = (struct sock_filter){code, jt, jf, k};
  return p->n++;
}

static size_t emit_ret(struct sc_prog *p, uint32_t k) {
  return put(p, BPF_RET | BPF_K, 0, 0, k);
}

static size_t emit_ld(struct sc_prog *p, uint32_t off) {
  return put(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, off);
}

static size_t emit_ja(struct sc_prog *p, size_t target) {
  return put(p, BPF_JMP | BPF_JA, 0, 0, (uint32_t)(p->n - target - 1));
}

/* A conditional jump (BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET against k) to t if true, f if
 * false; a target out of a conditional jump's reach gets a trampoline. */
static size_t emit_jmp(struct sc_prog *p, uint16_t op, uint32_t k, size_t t, size_t f) {
  if (p->n - t - 1 > 255)
    t = emit_ja(p, t);
  if (p->n - f - 1 > 255)
    f = emit_ja(p, f);
  return put(p, BPF_JMP | op | BPF_K, (uint8_t)(p->n - t - 1), (uint8_t)(p->n - f - 1), k);
}

/* The two 32-bit halves of argument i in struct seccomp_data (little-endian). */
#define ARG_LO(i) ((uint32_t)offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_HI(i) (ARG_LO(i) + 4)

/* Test a 32-bit word already in A: true -> t, false -> f. "and" with mask first for
 * MASKED_EQ (emitted before the compare, so it runs after the load). For the ordering
 * operators the caller splits high and low words. */
static size_t emit_word(struct sc_prog *p, unsigned op, uint32_t v, uint32_t mask, size_t t,
                        size_t f) {
  switch (op) {
  case SC_OP_EQ: return emit_jmp(p, BPF_JEQ, v, t, f);
  case SC_OP_NE: return emit_jmp(p, BPF_JEQ, v, f, t);
  case SC_OP_GT: return emit_jmp(p, BPF_JGT, v, t, f);
  case SC_OP_GE: return emit_jmp(p, BPF_JGE, v, t, f);
  case SC_OP_LT: return emit_jmp(p, BPF_JGE, v, f, t);
  case SC_OP_LE: return emit_jmp(p, BPF_JGT, v, f, t);
  default: /* SC_OP_MASKED_EQ: and, then compare */
    emit_jmp(p, BPF_JEQ, v, t, f);
    return put(p, BPF_ALU | BPF_AND | BPF_K, 0, 0, mask);
  }
}

/* One argument condition: true -> t, false -> f. Returns its first instruction. On a
 * 32-bit ABI (i386, and x32 too for libseccomp) only the low word is compared. */
static size_t emit_cond(struct sc_prog *p, const struct sc_arg *a, bool wide, size_t t, size_t f) {
  uint64_t v = a->op == SC_OP_MASKED_EQ ? a->value_two : a->value;
  uint32_t mask_lo = (uint32_t)a->value, mask_hi = (uint32_t)(a->value >> 32);
  uint32_t lo = (uint32_t)v, hi = (uint32_t)(v >> 32);
  if (a->op == SC_OP_MASKED_EQ) {
    lo &= mask_lo;
    hi &= mask_hi;
  }
  size_t low;
  if (!wide) {
    emit_word(p, a->op, lo, mask_lo, t, f);
    return emit_ld(p, ARG_LO(a->index));
  }
  switch (a->op) {
  case SC_OP_EQ:
  case SC_OP_MASKED_EQ:
    emit_word(p, a->op, lo, mask_lo, t, f);
    low = emit_ld(p, ARG_LO(a->index));
    emit_word(p, a->op, hi, mask_hi, low, f);
    return emit_ld(p, ARG_HI(a->index));
  case SC_OP_NE:
    /* Different if either half differs. */
    emit_jmp(p, BPF_JEQ, lo, f, t);
    low = emit_ld(p, ARG_LO(a->index));
    emit_jmp(p, BPF_JEQ, hi, low, t);
    return emit_ld(p, ARG_HI(a->index));
  default: {
    /* Ordering: the high words decide unless equal, then the low words. */
    bool greater = a->op == SC_OP_GT || a->op == SC_OP_GE;
    emit_word(p, a->op, lo, 0, t, f);
    low = emit_ld(p, ARG_LO(a->index));
    size_t eq = emit_jmp(p, BPF_JEQ, hi, low, greater ? f : t);
    emit_jmp(p, BPF_JGT, hi, greater ? t : f, eq);
    return emit_ld(p, ARG_HI(a->index));
  }
  }
}

/* The decision for one call: entries e[0..n) (sorted as cmp_entry), then def. */
static size_t emit_decision(struct sc_prog *p, const struct sc_entry *e, size_t n, uint32_t def,
                            bool wide) {
  /* A rule without conditions wins over all the others: the first one given. */
  const struct sc_entry *plain = NULL;
  for (size_t i = 0; i < n; i++)
    if (!e[i].nargs && !e[i].has_extra && (!plain || e[i].order < plain->order))
      plain = &e[i];
  if (plain)
    return emit_ret(p, plain->action);
  size_t next = emit_ret(p, def);
  for (size_t i = n; i-- > 0;) {
    size_t at = emit_ret(p, e[i].action);
    for (size_t c = e[i].nargs; c-- > 0;)
      at = emit_cond(p, &e[i].args[c], wide, at, next);
    if (e[i].has_extra)
      at = emit_cond(p, &e[i].extra, wide, at, next);
    next = at;
  }
  return next;
}

/* A range of call numbers [lo, hi] with one decision: n entries from e (none: the
 * default). */
struct sc_run {
  uint32_t lo, hi;
  const struct sc_entry *e;
  size_t n;
};

static bool same_decision(const struct sc_run *a, const struct sc_run *b) {
  if (a->n != b->n)
    return false;
  if (!a->n)
    return true;
  /* Only plain verdicts merge; a conditional call keeps its own leaf. */
  if (a->n != 1 || a->e->nargs || b->e->nargs || a->e->has_extra || b->e->has_extra)
    return false;
  return a->e->action == b->e->action;
}

/* The runs of numbers [base, end] of one table. */
static struct sc_run *make_runs(const struct sc_table *t, uint32_t base, uint32_t end,
                                size_t *count) {
  size_t cap = 2 * t->n + 2, n = 0;
  struct sc_run *r = xcalloc(cap, sizeof *r);
  uint32_t next = base;
  for (size_t i = 0; i < t->n;) {
    size_t j = i;
    while (j < t->n && t->v[j].nr == t->v[i].nr)
      j++;
    uint32_t nr = t->v[i].nr;
    if (nr < base || nr > end) {
      i = j;
      continue;
    }
    if (nr > next)
      r[n++] = (struct sc_run){next, nr - 1, NULL, 0};
    struct sc_run one = {nr, nr, &t->v[i], j - i};
    if (n && r[n - 1].hi == nr - 1 && same_decision(&r[n - 1], &one))
      r[n - 1].hi = nr;
    else
      r[n++] = one;
    next = nr + 1;
    i = j;
    if (nr == end)
      break;
  }
  if (!n || r[n - 1].hi < end) {
    if (next <= end)
      r[n++] = (struct sc_run){next, end, NULL, 0};
  }
  /* Merge default runs split by rules of the default action (left out). */
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    if (w && r[w - 1].hi + 1 == r[i].lo && same_decision(&r[w - 1], &r[i]))
      r[w - 1].hi = r[i].hi;
    else
      r[w++] = r[i];
  }
  *count = w;
  return r;
}

/* A binary search over runs[a, b) on the number in A. */
static size_t emit_tree(struct sc_prog *p, const struct sc_run *runs, size_t a, size_t b,
                        uint32_t def, bool wide) {
  if (b - a == 1) {
    const struct sc_run *r = &runs[a];
    /* A leaf that tests arguments overwrites A: it ends in returns only. */
    return r->n ? emit_decision(p, r->e, r->n, def, wide) : emit_ret(p, def);
  }
  size_t mid = a + (b - a) / 2;
  size_t right = emit_tree(p, runs, mid, b, def, wide);
  size_t left = emit_tree(p, runs, a, mid, def, wide);
  return emit_jmp(p, BPF_JGE, runs[mid].lo, right, left);
}

static bool allow_like(uint32_t action) {
  uint32_t a = action & SECCOMP_RET_ACTION_FULL;
  return a == SECCOMP_RET_ALLOW || a == SECCOMP_RET_LOG || a == SECCOMP_RET_TRACE;
}

/* The section of one ABI, the call number in A: [ENOSYS past the newest,] the tree. */
static size_t emit_abi(struct sc_prog *p, const struct sc_table *t, uint32_t base, uint32_t end,
                       uint32_t def, bool stub, size_t enosys, bool wide) {
  /* runc's stub: ENOSYS past the newest call the profile names for this ABI. */
  size_t nruns;
  cleanup_free struct sc_run *runs = make_runs(t, base, end, &nruns);
  size_t at = emit_tree(p, runs, 0, nruns, def, wide);
  if (stub && t->any)
    at = emit_jmp(p, BPF_JGT, t->max, enosys, at);
  return at;
}

int cb_seccomp_compile(const struct cb_seccomp_profile *prof, const struct cb_seccomp_target *tg,
                       struct cb_seccomp_filter *out, cb_error_t *err) {
  out->insns = NULL;
  out->len = 0;
  if (!prof)
    return 0;
  struct sc_table tables[SC_NABI];
  memset(tables, 0, sizeof tables);
  build_tables(prof, tg, tables);
  uint32_t def = prof->default_action;
  /* runc's ENOSYS stub, for a default action that denies, on the ABIs the profile names. */
  bool stub = !allow_like(def);
  unsigned st = stub ? prof->listed : 0;
  struct sc_prog p = {0};
  const uint32_t nr_off = offsetof(struct seccomp_data, nr);

  /* Emitted from the end: shared returns, then each ABI's section, then the dispatch on
   * the architecture. */
  size_t enosys = emit_ret(&p, SECCOMP_RET_ERRNO | ENOSYS);
  size_t bad_arch = emit_ret(&p, SECCOMP_RET_KILL_THREAD);
  size_t x86 = bad_arch, x32 = bad_arch;
  if (prof->abis & SC_ABI_X86) {
    emit_abi(&p, &tables[SC_X86], 0, UINT32_MAX, def, st & SC_ABI_X86, enosys, false);
    x86 = emit_ld(&p, nr_off);
  }
  if (prof->abis & SC_ABI_X32)
    x32 =
        emit_abi(&p, &tables[SC_X32], SC_X32_BIT, UINT32_MAX, def, st & SC_ABI_X32, enosys, false);
  /* x86_64 proper: numbers below the x32 bit. The others are x32's when the profile has
   * it; otherwise libseccomp kills (bad ABI) all but -1 (a tracer's skipped call), which
   * gets the default action. runc's stub, first, answers ENOSYS past the newest call for
   * the numbers without the bit. */
  size_t x64 =
      emit_abi(&p, &tables[SC_X86_64], 0, SC_X32_BIT - 1, def, st & SC_ABI_X86_64, enosys, true);
  size_t high = x32;
  if (!(prof->abis & SC_ABI_X32))
    high = emit_jmp(&p, BPF_JEQ, UINT32_MAX, emit_ret(&p, def), bad_arch);
  if (!(st & SC_ABI_X86_64))
    x64 = emit_jmp(&p, BPF_JGE, SC_X32_BIT, high, x64);
  x64 = emit_jmp(&p, BPF_JSET, SC_X32_BIT, high, x64);
  x64 = emit_ld(&p, nr_off);
  size_t dispatch = bad_arch;
  if (prof->abis & SC_ABI_X86)
    dispatch = emit_jmp(&p, BPF_JEQ, AUDIT_ARCH_I386, x86, dispatch);
  emit_jmp(&p, BPF_JEQ, AUDIT_ARCH_X86_64, x64, dispatch);
  emit_ld(&p, offsetof(struct seccomp_data, arch));

  for (int abi = 0; abi < SC_NABI; abi++)
    free(tables[abi].v);
  if (p.too_big) {
    free(p.v);
    return cb_error_make(err, 0,
                         "the seccomp profile makes a filter of %zu instructions, more "
                         "than the kernel's 4096",
                         p.n);
  }
  /* Reverse into program order. */
  out->insns = xcalloc(p.n, sizeof *out->insns);
  for (size_t i = 0; i < p.n; i++)
    out->insns[i] = p.v[p.n - 1 - i];
  out->len = (unsigned short)p.n;
  free(p.v);
  return 0;
}

void cb_seccomp_filter_free(struct cb_seccomp_filter *f) {
  free(f->insns);
  f->insns = NULL;
  f->len = 0;
}

int cb_seccomp_load(const struct cb_seccomp_filter *f, cb_error_t *err) {
  if (!f->insns)
    return 0;
  struct sock_fprog prog = {.len = f->len, .filter = f->insns};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    return cb_error_sys(err, "load the seccomp filter");
  return 0;
}

/* ---- security options ------------------------------------------------------------- */

int cb_security_opt_apply(const char *opt, struct cb_security_opts *o, cb_error_t *err) {
  if (!strcmp(opt, "no-new-privileges")) {
    o->no_new_privs = true;
    return 0;
  }
  if (!strcmp(opt, "disable"))
    return 0; /* label "disable": crowbar sets no label */
  const char *sep = strchr(opt, '=');
  if (!sep)
    sep = strchr(opt, ':');
  if (!sep)
    return cb_error_make(err, 0, "invalid --security-opt 1: \"%s\"", opt);
  size_t klen = (size_t)(sep - opt);
  const char *v = sep + 1;
  if (klen == 7 && !strncmp(opt, "seccomp", 7)) {
    o->unconfined = !strcmp(v, "unconfined");
    o->profile_json = o->unconfined ? NULL : v;
    return 0;
  }
  if (klen == 17 && !strncmp(opt, "no-new-privileges", 17)) {
    /* Go's strconv.ParseBool. */
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < 6; i++) {
      if (!strcmp(v, yes[i])) {
        o->no_new_privs = true;
        return 0;
      }
      if (!strcmp(v, no[i])) {
        o->no_new_privs = false;
        return 0;
      }
    }
    return cb_error_make(err, 0, "invalid --security-opt 2: \"%s\"", opt);
  }
  /* crowbar applies no AppArmor or SELinux profile: only asking for none is accepted. */
  if ((klen == 8 && !strncmp(opt, "apparmor", 8) && !strcmp(v, "unconfined")) ||
      (klen == 5 && !strncmp(opt, "label", 5) && !strcmp(v, "disable")))
    return 0;
  if ((klen == 8 && !strncmp(opt, "apparmor", 8)) || (klen == 5 && !strncmp(opt, "label", 5)))
    return cb_error_make(err, 0,
                         "invalid --security-opt: \"%s\": crowbar applies no AppArmor or "
                         "SELinux profile",
                         opt);
  return cb_error_make(err, 0, "invalid --security-opt 2: \"%s\"", opt);
}

int cb_security_opts_read(json_object *record, struct cb_security_opts *o, cb_error_t *err) {
  memset(o, 0, sizeof *o);
  json_object *opts = cb_json_get(record, "HostConfig.SecurityOpt");
  if (!opts)
    return 0;
  if (!json_object_is_type(opts, json_type_array))
    return cb_error_make(err, 0, "the container record's HostConfig.SecurityOpt is not a list");
  for (size_t i = 0; i < json_object_array_length(opts); i++) {
    json_object *s = json_object_array_get_idx(opts, i);
    if (!json_object_is_type(s, json_type_string))
      return cb_error_make(err, 0,
                           "the container record's HostConfig.SecurityOpt is not a list "
                           "of strings");
    if (cb_security_opt_apply(json_object_get_string(s), o, err) < 0)
      return -1;
  }
  return 0;
}

/* As Docker's daemon checks: CONFIG_SECCOMP (PR_GET_SECCOMP answers) and filters (a
 * NULL program is refused with EFAULT, not EINVAL). */
static bool seccomp_filters_supported(void) {
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0 && errno == EINVAL)
    return false;
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, NULL, 0, 0) < 0 && errno == EFAULT;
}

int cb_seccomp_for_container(json_object *record, struct cb_seccomp_filter *out, cb_error_t *err) {
  out->insns = NULL;
  out->len = 0;
  struct cb_security_opts so;
  if (cb_security_opts_read(record, &so, err) < 0)
    return -1;
  if (so.unconfined)
    return 0;
  /* A kernel without seccomp filters: Docker runs the default profile as no filter and
   * refuses a profile of the user's. */
  if (!seccomp_filters_supported()) {
    if (so.profile_json)
      return cb_error_make(err, 0,
                           "seccomp is not enabled in your kernel, cannot run a custom "
                           "seccomp profile");
    return 0;
  }
  cleanup_strv char **add = cb_json_get_strv(record, "HostConfig.CapAdd");
  cleanup_strv char **drop = cb_json_get_strv(record, "HostConfig.CapDrop");
  uint64_t caps;
  if (cb_caps_bounding(add, drop, &caps, err) < 0)
    return -1;
  struct cb_seccomp_target t;
  cb_seccomp_target_host(caps, &t);
  struct cb_seccomp_profile *custom = NULL;
  if (so.profile_json && cb_seccomp_profile_parse(so.profile_json, &custom, err) < 0)
    return -1;
  int r = cb_seccomp_compile(so.profile_json ? custom : cb_seccomp_default_profile(), &t, out, err);
  cb_seccomp_profile_free(custom);
  return r;
}

int cb_seccomp_apply_container(json_object *record, cb_error_t *err) {
  struct cb_seccomp_filter f;
  if (cb_seccomp_for_container(record, &f, err) < 0)
    return -1;
  int r = cb_seccomp_load(&f, err);
  cb_seccomp_filter_free(&f);
  return r;
}
