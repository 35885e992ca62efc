/* SPDX-License-Identifier: GPL-2.0-or-later */
/* scverdicts: the seccomp verdicts of a process, for every system call number of every
 * x86 ABI and a grid of argument values, read from its loaded filters (ptrace's
 * PTRACE_SECCOMP_GET_FILTER; needs root) and run by tests/helpers/bpfinterp.h, never by
 * making the calls. Two processes under the same policy print the same lines, so a diff
 * of two runs compares two engines (tests/integration/seccomp.bats: crowbar's filter with
 * Docker's).
 *
 *   scverdicts PID     one line per ABI and number: "ABI NR VERDICT [i]=VERDICT...", the
 *                      verdict with all arguments 0, then the argument sets (numbered as
 *                      in grid[] below) whose verdict differs from it
 *   scverdicts -n PID  the number of filters only
 *   scverdicts -f FILE the verdicts of a filter stored in FILE (struct sock_filter[])
 */
#include <errno.h>
#include <linux/audit.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpfinterp.h"

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

struct filter {
  struct sock_filter *insns;
  size_t n;
};

static int get_filters(pid_t pid, struct filter **out, size_t *count) {
  if (ptrace(PTRACE_SEIZE, pid, 0, 0) < 0) {
    perror("scverdicts: PTRACE_SEIZE");
    return -1;
  }
  if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0 || waitpid(pid, NULL, __WALL) < 0) {
    perror("scverdicts: stop the process");
    return -1;
  }
  struct filter *fs = NULL;
  size_t n = 0;
  for (unsigned long i = 0;; i++) {
    long len = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)i, NULL);
    if (len < 0) {
      if (errno == ENOENT || (errno == EINVAL && i > 0))
        break;
      if (errno == EINVAL && i == 0)
        break; /* no filter at all */
      perror("scverdicts: PTRACE_SECCOMP_GET_FILTER");
      return -1;
    }
    fs = realloc(fs, (n + 1) * sizeof *fs);
    fs[n].insns = calloc((size_t)len, sizeof *fs[n].insns);
    fs[n].n = (size_t)len;
    if (!fs[n].insns || ptrace(PTRACE_SECCOMP_GET_FILTER, pid, (void *)i, fs[n].insns) != len) {
      perror("scverdicts: PTRACE_SECCOMP_GET_FILTER");
      return -1;
    }
    n++;
  }
  ptrace(PTRACE_DETACH, pid, 0, 0);
  *out = fs;
  *count = n;
  return 0;
}

/* What the kernel returns for d under every filter (index 0 the most recent). */
static uint32_t verdict(const struct filter *fs, size_t n, const struct seccomp_data *d) {
  uint32_t best = SECCOMP_RET_ALLOW;
  int rank = -1;
  for (size_t i = 0; i < n; i++) {
    uint32_t r = bpf_interp(fs[i].insns, fs[i].n, d);
    int k = bpf_action_rank(r);
    if (k > rank) {
      rank = k;
      best = r;
    }
  }
  return best;
}

static const char *name(uint32_t r, char *buf, size_t len) {
  uint32_t data = r & SECCOMP_RET_DATA;
  switch (r & SECCOMP_RET_ACTION_FULL) {
  case SECCOMP_RET_ALLOW: return "ALLOW";
  case SECCOMP_RET_LOG: return "LOG";
  case SECCOMP_RET_KILL_PROCESS: return "KILL_PROCESS";
  case SECCOMP_RET_KILL_THREAD: return r == BPF_INTERP_BAD ? "BAD" : "KILL_THREAD";
  case SECCOMP_RET_TRAP: snprintf(buf, len, "TRAP(%u)", data); return buf;
  case SECCOMP_RET_ERRNO: snprintf(buf, len, "ERRNO(%u)", data); return buf;
  case SECCOMP_RET_TRACE: snprintf(buf, len, "TRACE(%u)", data); return buf;
  case SECCOMP_RET_USER_NOTIF: return "NOTIF";
  default: snprintf(buf, len, "0x%08x", r); return buf;
  }
}

/* Argument sets: index, value. Index -1 is "every argument". */
static const struct {
  int arg;
  uint64_t v;
} grid[] = {
    {-1, 0},
    {0, 1},
    {0, 2},
    {0, 3},
    {0, 4},
    {0, 5},
    {0, 8},
    {0, 11},
    {0, 12},
    {0, 13},
    {0, 17},
    {0, 21},
    {0, 0x11},                  /* SIGCHLD */
    {0, 0x100 | 0x11},          /* CLONE_VM */
    {0, 0x20000},               /* CLONE_NEWNS, PER_LINUX32... */
    {0, 0x20008},               /* UNAME26|PER_LINUX32 */
    {0, 0x10000000},            /* CLONE_NEWUSER */
    {0, 0x40000000},            /* CLONE_NEWNET */
    {0, 0x3d0f00 | 0x11},       /* what fork() passes */
    {0, 0xffffffffULL},         /* personality query */
    {0, 0x1ffffffffULL},        /* the same with a high word */
    {0, 0xffffffffffffffffULL}, /* -1 */
    {0, 0x8000000000000000ULL}, /* high bit only */
    {1, 0x10000000},            /* clone's flags second (s390) */
    {1, 1},
    {2, 0xffffffffffffffffULL},
    {3, 1},
    {4, 0xffffffffffffffffULL},
    {5, 1},
    {-1, 0xffffffffffffffffULL},
};

static void print_verdicts(const struct filter *fs, size_t n, const char *abi, uint32_t arch,
                           uint32_t nr) {
  char buf[64];
  char line[4096];
  uint32_t base = 0;
  int len = 0;
  for (size_t g = 0; g < sizeof grid / sizeof grid[0]; g++) {
    struct seccomp_data d = {.nr = (int)nr, .arch = arch, .instruction_pointer = 0x401000};
    for (int a = 0; a < 6; a++)
      if (grid[g].arg < 0 || grid[g].arg == a)
        d.args[a] = grid[g].v;
    uint32_t r = verdict(fs, n, &d);
    if (g == 0) {
      base = r;
      len = snprintf(line, sizeof line, "%s %u %s", abi, nr, name(r, buf, sizeof buf));
    } else if (r != base && len < (int)sizeof line - 64) {
      len += snprintf(line + len, sizeof line - len, " [%zu]=%s", g, name(r, buf, sizeof buf));
    }
  }
  puts(line);
}

static int read_filter(const char *path, struct filter **out, size_t *count) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return -1;
  }
  struct filter *fs = calloc(1, sizeof *fs);
  fs->insns = calloc(4096, sizeof *fs->insns);
  fs->n = fread(fs->insns, sizeof *fs->insns, 4096, f);
  fclose(f);
  *out = fs;
  *count = 1;
  return 0;
}

int main(int argc, char **argv) {
  bool count_only = argc == 3 && !strcmp(argv[1], "-n");
  bool file = argc == 3 && !strcmp(argv[1], "-f");
  if (argc != 2 && !count_only && !file) {
    fputs("Usage: scverdicts [-n] PID | -f FILE\n", stderr);
    return 2;
  }
  struct filter *fs = NULL;
  size_t n = 0;
  if (file ? read_filter(argv[2], &fs, &n) < 0
           : get_filters((pid_t)atoi(argv[argc - 1]), &fs, &n) < 0)
    return 1;
  if (count_only) {
    printf("%zu\n", n);
    return 0;
  }
  for (uint32_t nr = 0; nr < 600; nr++)
    print_verdicts(fs, n, "x86_64", AUDIT_ARCH_X86_64, nr);
  for (uint32_t nr = 0; nr < 600; nr++)
    print_verdicts(fs, n, "x32", AUDIT_ARCH_X86_64, 0x40000000u | nr);
  for (uint32_t nr = 0; nr < 600; nr++)
    print_verdicts(fs, n, "i386", AUDIT_ARCH_I386, nr);
  static const uint32_t odd[] = {0x3fffffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff};
  for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
    print_verdicts(fs, n, "x86_64", AUDIT_ARCH_X86_64, odd[i]);
    print_verdicts(fs, n, "i386", AUDIT_ARCH_I386, odd[i]);
  }
  /* Another ABI entirely (aarch64): what a filter does with an unexpected arch. */
  print_verdicts(fs, n, "aarch64", AUDIT_ARCH_AARCH64, 0);
  return fflush(stdout) != 0;
}
