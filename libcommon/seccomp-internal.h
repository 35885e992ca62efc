/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A seccomp profile in memory, shared by its parser (seccomp_profile.c) and its compiler
 * (seccomp.c) and the generated default (build/gen/seccomp_tables.h). Not a public
 * header. */
#ifndef CROWBAR_SECCOMP_INTERNAL_H
#define CROWBAR_SECCOMP_INTERNAL_H

#include <linux/seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowbar/seccomp.h"

#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif

enum { SC_ABI_X86_64 = 1, SC_ABI_X86 = 2, SC_ABI_X32 = 4 };
enum { SC_X86_64, SC_X86, SC_X32, SC_NABI };
enum { SC_OP_NE, SC_OP_LT, SC_OP_LE, SC_OP_EQ, SC_OP_GE, SC_OP_GT, SC_OP_MASKED_EQ };
#define SC_X32_BIT 0x40000000U

/* "includes" or "excludes" of a rule. */
struct sc_cond {
  uint64_t caps;     /* includes: all of them in the set; excludes: any of them */
  int unknown_cap;   /* a capability we do not know: never in the set */
  int arch;          /* -1 no condition; 1 the native architecture is named; 0 it is not */
  int kernel, major; /* minKernel, 0.0 for none */
};

struct sc_arg {
  unsigned index, op;
  uint64_t value, value_two;
};

struct sc_rule {
  const char *const *names;
  size_t nnames;
  uint32_t action; /* SECCOMP_RET_* with its data */
  const struct sc_arg *args;
  size_t nargs;
  struct sc_cond inc, exc;
};

struct cb_seccomp_profile {
  uint32_t default_action;
  unsigned abis;   /* the ABIs filtered: x86_64 always, others named by the profile */
  unsigned listed; /* the ABIs the profile names (runc's ENOSYS stub covers those) */
  const struct sc_rule *rules;
  size_t nrules;
  bool owned; /* parsed: everything below is malloc'd */
};

#endif
