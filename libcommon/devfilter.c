/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "crowbar/cleanup.h"
#include "crowbar/devfilter.h"

/* The only table of device rules: v1 writes them as text, v2 runs them as BPF. */
const struct cb_dev_rule cb_dev_rules_default[] = {
    {'c', CB_DEV_ANY, CB_DEV_ANY, CB_DEV_MKNOD}, /* mknod of anything, as in Docker */
    {'b', CB_DEV_ANY, CB_DEV_ANY, CB_DEV_MKNOD},
    {'c', 1, 3, CB_DEV_RWM},            /* null */
    {'c', 1, 5, CB_DEV_RWM},            /* zero */
    {'c', 1, 7, CB_DEV_RWM},            /* full */
    {'c', 1, 8, CB_DEV_RWM},            /* random */
    {'c', 1, 9, CB_DEV_RWM},            /* urandom */
    {'c', 5, 0, CB_DEV_RWM},            /* tty */
    {'c', 5, 1, CB_DEV_RWM},            /* console */
    {'c', 5, 2, CB_DEV_RWM},            /* ptmx */
    {'c', 136, CB_DEV_ANY, CB_DEV_RWM}, /* pts/ */
    {'c', 10, 200, CB_DEV_RWM},         /* net/tun */
};
const size_t cb_dev_rules_default_n = sizeof cb_dev_rules_default / sizeof cb_dev_rules_default[0];

void cb_dev_rule_format(const struct cb_dev_rule *r, char *buf, size_t size) {
  char maj[16], min[16], acc[4];
  size_t k = 0;
  if (r->major == CB_DEV_ANY)
    strcpy(maj, "*");
  else
    snprintf(maj, sizeof maj, "%d", r->major);
  if (r->minor == CB_DEV_ANY)
    strcpy(min, "*");
  else
    snprintf(min, sizeof min, "%d", r->minor);
  if (r->access & CB_DEV_READ)
    acc[k++] = 'r';
  if (r->access & CB_DEV_WRITE)
    acc[k++] = 'w';
  if (r->access & CB_DEV_MKNOD)
    acc[k++] = 'm';
  acc[k] = '\0';
  snprintf(buf, size, "%c %s:%s %s", r->type, maj, min, acc);
}

static bool rule_matches(const struct cb_dev_rule *r, char type, uint32_t major, uint32_t minor,
                         unsigned access) {
  return (r->type == 'a' || r->type == type) &&
         (r->major == CB_DEV_ANY || (uint32_t)r->major == major) &&
         (r->minor == CB_DEV_ANY || (uint32_t)r->minor == minor) &&
         (access & ~r->access & CB_DEV_RWM) == 0;
}

bool cb_dev_rules_allow(const struct cb_dev_rule *rules, size_t n, char type, uint32_t major,
                        uint32_t minor, unsigned access) {
  for (size_t i = 0; i < n; i++)
    if (rule_matches(&rules[i], type, major, minor, access))
      return true;
  return false;
}

/* ---- the program ------------------------------------------------------------------
 *
 * The context is struct bpf_cgroup_dev_ctx { u32 access_type, major, minor; }, where
 * access_type holds the device type (BPF_DEVCG_DEV_*) in its low 16 bits and the
 * access (BPF_DEVCG_ACC_*) in its high 16 bits. The prologue loads
 *
 *   r2 = type, r3 = access, r4 = major, r5 = minor
 *
 * then each rule is a block of tests that jump to the next block on a mismatch and
 * otherwise return 1; after the last block the program returns 0. */

enum { R0, R1, R2, R3, R4, R5 };

static struct bpf_insn ins(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  struct bpf_insn i;
  memset(&i, 0, sizeof i);
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

#define LDX_W(dst, src, off) ins(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0)
#define ALU_K(op, dst, imm) ins(BPF_ALU64 | (op) | BPF_K, dst, 0, 0, imm)
#define MOV_X(dst, src) ins(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0)
#define JNE_K(dst, imm, off) ins(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm)
#define JNE_X(dst, src, off) ins(BPF_JMP | BPF_JNE | BPF_X, dst, src, off, 0)
#define EXIT() ins(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Room for the longest block: 5 tests (type, 3 for access, major, minor) and 2 to return. */
#define BLOCK_MAX 8

static size_t rule_block(const struct cb_dev_rule *r, struct bpf_insn *out) {
  struct bpf_insn b[BLOCK_MAX];
  size_t k = 0;
  if (r->type == 'b' || r->type == 'c')
    b[k++] = JNE_K(R2, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR, 0);
  if ((r->access & CB_DEV_RWM) != CB_DEV_RWM) {
    /* The access must be a subset of the rule's: (access & rule) == access. */
    b[k++] = MOV_X(R1, R3);
    b[k++] = ALU_K(BPF_AND, R1, (int32_t)(r->access & CB_DEV_RWM));
    b[k++] = JNE_X(R1, R3, 0);
  }
  if (r->major != CB_DEV_ANY)
    b[k++] = JNE_K(R4, r->major, 0);
  if (r->minor != CB_DEV_ANY)
    b[k++] = JNE_K(R5, r->minor, 0);
  b[k++] = ALU_K(BPF_MOV, R0, 1);
  b[k++] = EXIT();
  /* Every jump goes just past the block. */
  for (size_t i = 0; i < k; i++)
    if (BPF_CLASS(b[i].code) == BPF_JMP && BPF_OP(b[i].code) == BPF_JNE)
      b[i].off = (int16_t)(k - i - 1);
  memcpy(out, b, k * sizeof *b);
  return k;
}

struct bpf_insn *cb_devfilter_build(const struct cb_dev_rule *rules, size_t n, size_t *len) {
  struct bpf_insn *p = xcalloc(6 + n * BLOCK_MAX + 2, sizeof *p);
  size_t k = 0;
  p[k++] = LDX_W(R2, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type));
  p[k++] = ALU_K(BPF_AND, R2, 0xffff);
  p[k++] = LDX_W(R3, R1, offsetof(struct bpf_cgroup_dev_ctx, access_type));
  p[k++] = ALU_K(BPF_RSH, R3, 16);
  p[k++] = LDX_W(R4, R1, offsetof(struct bpf_cgroup_dev_ctx, major));
  p[k++] = LDX_W(R5, R1, offsetof(struct bpf_cgroup_dev_ctx, minor));
  for (size_t i = 0; i < n; i++) {
    const struct cb_dev_rule *r = &rules[i];
    /* A rule that allows nothing, or names a type we do not know, matches nothing. */
    if (!(r->access & CB_DEV_RWM) || (r->type != 'a' && r->type != 'b' && r->type != 'c'))
      continue;
    k += rule_block(r, p + k);
  }
  p[k++] = ALU_K(BPF_MOV, R0, 0);
  p[k++] = EXIT();
  *len = k;
  return p;
}

static int sys_bpf(int cmd, union bpf_attr *attr) {
  return (int)syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

int cb_devfilter_load(const struct bpf_insn *insns, size_t len, char *log, size_t logsize,
                      cb_error_t *err) {
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = (uint64_t)(uintptr_t)insns;
  a.insn_cnt = (uint32_t)len;
  a.license = (uint64_t)(uintptr_t) "GPL";
  if (log && logsize) {
    log[0] = '\0';
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = (uint32_t)logsize;
    a.log_level = 1;
  }
  int fd = sys_bpf(BPF_PROG_LOAD, &a);
  if (fd < 0)
    return cb_error_sys(err, "load the BPF device filter (the kernel needs CONFIG_CGROUP_BPF, "
                             "and BPF must not be locked down)");
  return fd;
}

int cb_devfilter_attach(const char *cgroup_dir, const struct cb_dev_rule *rules, size_t n,
                        cb_error_t *err) {
  size_t len;
  cleanup_free struct bpf_insn *insns = cb_devfilter_build(rules, n, &len);
  cleanup_close int cg = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0)
    return cb_error_sys(err, "open cgroup `%s`", cgroup_dir);
  cleanup_close int prog = cb_devfilter_load(insns, len, NULL, 0, err);
  if (prog < 0)
    return -1;
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.target_fd = (uint32_t)cg;
  a.attach_bpf_fd = (uint32_t)prog;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &a) < 0)
    return cb_error_sys(err, "attach the BPF device filter to cgroup `%s`", cgroup_dir);
  return 0;
}
