/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A classic-BPF interpreter for seccomp filters, as the kernel runs them: the tests check
 * a filter's verdicts (tests/unit/test_seccomp.c, tests/helpers/scverdicts.c) without
 * making the system calls. Only the instructions seccomp accepts are known; anything else
 * (and a jump or a load out of bounds) gives BPF_INTERP_BAD. */
#ifndef CROWBAR_BPFINTERP_H
#define CROWBAR_BPFINTERP_H

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BPF_INTERP_BAD 0xdeadbeefu

static inline uint32_t bpf_interp(const struct sock_filter *f, size_t n,
                                  const struct seccomp_data *d) {
  uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = {0};
  const unsigned char *data = (const unsigned char *)d;
  for (size_t pc = 0; pc < n; pc++) {
    const struct sock_filter *i = &f[pc];
    uint32_t k = i->k;
    switch (i->code) {
    case BPF_LD | BPF_W | BPF_ABS:
      if (k % 4 || k + 4 > sizeof *d)
        return BPF_INTERP_BAD;
      memcpy(&a, data + k, 4);
      break;
    case BPF_LD | BPF_W | BPF_LEN: a = sizeof *d; break;
    case BPF_LDX | BPF_W | BPF_LEN: x = sizeof *d; break;
    case BPF_LD | BPF_IMM: a = k; break;
    case BPF_LDX | BPF_IMM: x = k; break;
    case BPF_MISC | BPF_TAX: x = a; break;
    case BPF_MISC | BPF_TXA: a = x; break;
    case BPF_LD | BPF_MEM:
      if (k >= BPF_MEMWORDS)
        return BPF_INTERP_BAD;
      a = mem[k];
      break;
    case BPF_LDX | BPF_MEM:
      if (k >= BPF_MEMWORDS)
        return BPF_INTERP_BAD;
      x = mem[k];
      break;
    case BPF_ST:
      if (k >= BPF_MEMWORDS)
        return BPF_INTERP_BAD;
      mem[k] = a;
      break;
    case BPF_STX:
      if (k >= BPF_MEMWORDS)
        return BPF_INTERP_BAD;
      mem[k] = x;
      break;
    case BPF_ALU | BPF_ADD | BPF_K: a += k; break;
    case BPF_ALU | BPF_ADD | BPF_X: a += x; break;
    case BPF_ALU | BPF_SUB | BPF_K: a -= k; break;
    case BPF_ALU | BPF_SUB | BPF_X: a -= x; break;
    case BPF_ALU | BPF_MUL | BPF_K: a *= k; break;
    case BPF_ALU | BPF_MUL | BPF_X: a *= x; break;
    case BPF_ALU | BPF_DIV | BPF_K:
      if (!k)
        return 0;
      a /= k;
      break;
    case BPF_ALU | BPF_DIV | BPF_X:
      if (!x)
        return 0;
      a /= x;
      break;
    case BPF_ALU | BPF_MOD | BPF_K:
      if (!k)
        return 0;
      a %= k;
      break;
    case BPF_ALU | BPF_MOD | BPF_X:
      if (!x)
        return 0;
      a %= x;
      break;
    case BPF_ALU | BPF_AND | BPF_K: a &= k; break;
    case BPF_ALU | BPF_AND | BPF_X: a &= x; break;
    case BPF_ALU | BPF_OR | BPF_K: a |= k; break;
    case BPF_ALU | BPF_OR | BPF_X: a |= x; break;
    case BPF_ALU | BPF_XOR | BPF_K: a ^= k; break;
    case BPF_ALU | BPF_XOR | BPF_X: a ^= x; break;
    case BPF_ALU | BPF_LSH | BPF_K: a = k < 32 ? a << k : 0; break;
    case BPF_ALU | BPF_LSH | BPF_X: a = x < 32 ? a << x : 0; break;
    case BPF_ALU | BPF_RSH | BPF_K: a = k < 32 ? a >> k : 0; break;
    case BPF_ALU | BPF_RSH | BPF_X: a = x < 32 ? a >> x : 0; break;
    case BPF_ALU | BPF_NEG: a = -a; break;
    case BPF_JMP | BPF_JA:
      if (pc + 1 + k >= n)
        return BPF_INTERP_BAD;
      pc += k;
      break;
    case BPF_JMP | BPF_JEQ | BPF_K:
    case BPF_JMP | BPF_JEQ | BPF_X:
    case BPF_JMP | BPF_JGT | BPF_K:
    case BPF_JMP | BPF_JGT | BPF_X:
    case BPF_JMP | BPF_JGE | BPF_K:
    case BPF_JMP | BPF_JGE | BPF_X:
    case BPF_JMP | BPF_JSET | BPF_K:
    case BPF_JMP | BPF_JSET | BPF_X: {
      uint32_t v = BPF_SRC(i->code) == BPF_X ? x : k;
      int op = BPF_OP(i->code);
      int t = op == BPF_JEQ ? a == v : op == BPF_JGT ? a > v : op == BPF_JGE ? a >= v : !!(a & v);
      size_t off = t ? i->jt : i->jf;
      if (pc + 1 + off >= n)
        return BPF_INTERP_BAD;
      pc += off;
      break;
    }
    case BPF_RET | BPF_K: return k;
    case BPF_RET | BPF_A: return a;
    default: return BPF_INTERP_BAD;
    }
  }
  return BPF_INTERP_BAD; /* fell off the end */
}

/* The kernel's precedence of actions, highest first (seccomp(2)): with several filters,
 * the verdict is the one of highest precedence (the most recent filter's on a tie). */
static inline int bpf_action_rank(uint32_t ret) {
  switch (ret & SECCOMP_RET_ACTION_FULL) {
  case SECCOMP_RET_KILL_PROCESS: return 7;
  case SECCOMP_RET_KILL_THREAD: return 6;
  case SECCOMP_RET_TRAP: return 5;
  case SECCOMP_RET_ERRNO: return 4;
  case SECCOMP_RET_USER_NOTIF: return 3;
  case SECCOMP_RET_TRACE: return 2;
  case SECCOMP_RET_LOG: return 1;
  case SECCOMP_RET_ALLOW: return 0;
  default: return 7; /* unknown actions kill the process */
  }
}

#endif
