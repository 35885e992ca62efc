/* SPDX-License-Identifier: GPL-2.0-or-later */
/* devfilter.c: the device rule table, its v1 text, and the cgroup v2 BPF program made
 * from it.
 *
 * The kernel cannot run a CGROUP_DEVICE program on demand (BPF_PROG_TEST_RUN has no
 * handler for the type: it answers ENOTSUPP), so the program is checked three ways:
 * its shape; its decisions, by a small interpreter of the instructions the generator
 * emits, against cb_dev_rules_allow() for every type, access and many numbers; and,
 * as root, by the kernel itself: the verifier must accept it, and a child process in a
 * scratch cgroup holding the program must be refused (EPERM) exactly the device nodes
 * the rules refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crowbar/devfilter.h"

#define N_DEFAULT cb_dev_rules_default_n
static const struct cb_dev_rule *const DEFAULT = cb_dev_rules_default;

/* ---- the table --------------------------------------------------------------------- */

static void test_v1_text(void **state) {
  /* What v1's devices.allow received before the table was shared, in order. */
  static const char *const want[] = {"c *:* m",   "b *:* m",   "c 1:3 rwm",   "c 1:5 rwm",
                                     "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",   "c 5:0 rwm",
                                     "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm"};
  assert_int_equal(N_DEFAULT, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < N_DEFAULT; i++) {
    char buf[48];
    cb_dev_rule_format(&DEFAULT[i], buf, sizeof buf);
    assert_string_equal(buf, want[i]);
  }
  struct cb_dev_rule r = {'a', CB_DEV_ANY, 7, CB_DEV_READ | CB_DEV_WRITE};
  char buf[48];
  cb_dev_rule_format(&r, buf, sizeof buf);
  assert_string_equal(buf, "a *:7 rw");
}

static void test_reference(void **state) {
  /* Docker's rules: mknod anything, use only the listed devices. */
  assert_true(cb_dev_rules_allow(DEFAULT, N_DEFAULT, 'b', 8, 0, CB_DEV_MKNOD));
  assert_false(cb_dev_rules_allow(DEFAULT, N_DEFAULT, 'b', 8, 0, CB_DEV_READ));
  assert_false(cb_dev_rules_allow(DEFAULT, N_DEFAULT, 'b', 8, 0, CB_DEV_WRITE));
  assert_false(cb_dev_rules_allow(DEFAULT, N_DEFAULT, 'b', 8, 0, CB_DEV_MKNOD | CB_DEV_READ));
  assert_true(cb_dev_rules_allow(DEFAULT, N_DEFAULT, 'c', 1, 1, CB_DEV_MKNOD));
  assert_false(cb_dev_rules_allow(DEFAULT, N_DEFAULT, 'c', 1, 1, CB_DEV_READ));
  assert_true(cb_dev_rules_allow(DEFAULT, N_DEFAULT, 'c', 1, 3, CB_DEV_RWM));
  assert_true(cb_dev_rules_allow(DEFAULT, N_DEFAULT, 'c', 136, 12345, CB_DEV_READ | CB_DEV_WRITE));
  assert_false(cb_dev_rules_allow(DEFAULT, N_DEFAULT, 'b', 1, 3, CB_DEV_READ));
  assert_false(cb_dev_rules_allow(DEFAULT, N_DEFAULT, 'c', 3, 1, CB_DEV_READ));
  assert_false(cb_dev_rules_allow(DEFAULT, N_DEFAULT, 'c', 10, 130, CB_DEV_WRITE));
  assert_false(cb_dev_rules_allow(NULL, 0, 'c', 1, 3, CB_DEV_READ));
}

/* ---- an interpreter for what the generator emits ----------------------------------- */

/* Runs the program on one context. Fails the test on an instruction the generator
 * should not emit, a jump out of the program, a load from anything but the context, or
 * a read of an unset register. */
static int run_prog(const struct bpf_insn *p, size_t len, const struct bpf_cgroup_dev_ctx *ctx) {
  uint64_t r[11] = {0};
  bool set[11] = {false}, is_ctx[11] = {false};
  set[1] = is_ctx[1] = true;
  for (size_t pc = 0, steps = 0; pc < len; pc++, steps++) {
    const struct bpf_insn *i = &p[pc];
    assert_true(steps <= len); /* no loops: every jump goes forward */
    uint8_t d = i->dst_reg, s = i->src_reg;
    assert_true(d <= 10 && s <= 10);
    switch (i->code) {
    case BPF_LDX | BPF_MEM | BPF_W:
      assert_true(is_ctx[s]);
      assert_true(i->off == 0 || i->off == 4 || i->off == 8);
      r[d] = i->off == 0 ? ctx->access_type : i->off == 4 ? ctx->major : ctx->minor;
      set[d] = true, is_ctx[d] = false;
      break;
    case BPF_ALU64 | BPF_AND | BPF_K:
      assert_true(set[d] && !is_ctx[d]);
      r[d] &= (uint64_t)(int64_t)i->imm;
      break;
    case BPF_ALU64 | BPF_RSH | BPF_K:
      assert_true(set[d] && !is_ctx[d] && i->imm >= 0 && i->imm < 64);
      r[d] >>= i->imm;
      break;
    case BPF_ALU64 | BPF_MOV | BPF_K:
      r[d] = (uint64_t)(int64_t)i->imm;
      set[d] = true, is_ctx[d] = false;
      break;
    case BPF_ALU64 | BPF_MOV | BPF_X:
      assert_true(set[s]);
      r[d] = r[s];
      set[d] = true, is_ctx[d] = is_ctx[s];
      break;
    case BPF_JMP | BPF_JNE | BPF_K:
    case BPF_JMP | BPF_JNE | BPF_X: {
      bool x = BPF_SRC(i->code) == BPF_X;
      assert_true(set[d] && (!x || set[s]));
      uint64_t v = x ? r[s] : (uint64_t)(int64_t)i->imm;
      assert_true(i->off >= 0 && pc + 1 + (size_t)i->off < len);
      if (r[d] != v)
        pc += (size_t)i->off;
      break;
    }
    case BPF_JMP | BPF_EXIT: assert_true(set[0]); return (int)r[0];
    default: fail_msg("instruction %zu: unexpected opcode 0x%02x", pc, i->code);
    }
  }
  fail_msg("the program runs off its end");
  return -1;
}

static const uint32_t majors[] = {0, 1, 2, 4, 5, 7, 8, 10, 136, 137, 254, 255, 4095};
static const uint32_t minors[] = {0, 1, 2, 3, 5, 7, 8, 9, 10, 130, 200, 255, 4242, 1048575};

/* The program and the reference agree on every type, access and sample number. */
static void check_agrees(const struct cb_dev_rule *rules, size_t n) {
  size_t len;
  struct bpf_insn *p = cb_devfilter_build(rules, n, &len);
  for (char t = 0; t < 2; t++) {
    char type = t ? 'c' : 'b';
    for (size_t a = 0; a < sizeof majors / sizeof majors[0]; a++)
      for (size_t b = 0; b < sizeof minors / sizeof minors[0]; b++)
        for (unsigned acc = 1; acc <= CB_DEV_RWM; acc++) {
          struct bpf_cgroup_dev_ctx ctx = {
              .access_type = (acc << 16) | (t ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK),
              .major = majors[a],
              .minor = minors[b]};
          int got = run_prog(p, len, &ctx);
          bool want = cb_dev_rules_allow(rules, n, type, majors[a], minors[b], acc);
          if (got != (int)want)
            fail_msg("%c %u:%u access %u: program says %d, rules say %d", type, majors[a],
                     minors[b], acc, got, want);
        }
  }
  free(p);
}

static void test_program_shape(void **state) {
  size_t len;
  struct bpf_insn *p = cb_devfilter_build(DEFAULT, N_DEFAULT, &len);
  /* Prologue: type, access, major, minor from the context in r1. */
  assert_int_equal(p[0].code, BPF_LDX | BPF_MEM | BPF_W);
  assert_int_equal(p[0].src_reg, 1);
  assert_int_equal(p[1].code, BPF_ALU64 | BPF_AND | BPF_K);
  assert_int_equal(p[1].imm, 0xffff);
  assert_int_equal(p[3].code, BPF_ALU64 | BPF_RSH | BPF_K);
  assert_int_equal(p[3].imm, 16);
  assert_int_equal(p[4].off, offsetof(struct bpf_cgroup_dev_ctx, major));
  assert_int_equal(p[5].off, offsetof(struct bpf_cgroup_dev_ctx, minor));
  /* Default deny: it ends returning 0. */
  assert_int_equal(p[len - 2].code, BPF_ALU64 | BPF_MOV | BPF_K);
  assert_int_equal(p[len - 2].dst_reg, 0);
  assert_int_equal(p[len - 2].imm, 0);
  assert_int_equal(p[len - 1].code, BPF_JMP | BPF_EXIT);
  /* One "return 1" per rule, and every jump lands in the program. */
  size_t allows = 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i].code == (BPF_ALU64 | BPF_MOV | BPF_K) && p[i].dst_reg == 0 && p[i].imm == 1) {
      allows++;
      assert_int_equal(p[i + 1].code, BPF_JMP | BPF_EXIT);
    }
    if (BPF_CLASS(p[i].code) == BPF_JMP && BPF_OP(p[i].code) == BPF_JNE)
      assert_true(p[i].off > 0 && i + 1 + (size_t)p[i].off < len);
  }
  assert_int_equal(allows, N_DEFAULT);
  /* Prologue 6; two mknod-only wildcard rules (type, 3 for the access, return: 6
   * each); nine exact rules (type, major, minor, return: 5 each); pts (type, major,
   * return: 4); the final return 2: 69 instructions. */
  assert_int_equal(len, 69);
  free(p);

  /* No rules: deny everything. */
  p = cb_devfilter_build(NULL, 0, &len);
  assert_int_equal(len, 8);
  struct bpf_cgroup_dev_ctx ctx = {(CB_DEV_READ << 16) | BPF_DEVCG_DEV_CHAR, 1, 3};
  assert_int_equal(run_prog(p, len, &ctx), 0);
  free(p);
}

static void test_program_decisions(void **state) {
  check_agrees(DEFAULT, N_DEFAULT);
  /* Other rule shapes: any type, partial access, wildcards in each place, rules that
   * allow nothing and unknown types (which match nothing), overlapping rules. */
  static const struct cb_dev_rule other[] = {
      {'a', 4, CB_DEV_ANY, CB_DEV_READ},
      {'b', CB_DEV_ANY, 7, CB_DEV_WRITE | CB_DEV_MKNOD},
      {'c', 10, 200, 0},
      {'x', 1, 1, CB_DEV_RWM},
      {'c', 137, CB_DEV_ANY, CB_DEV_READ | CB_DEV_WRITE},
      {'c', 137, 5, CB_DEV_MKNOD},
      {'b', 254, 0, CB_DEV_READ},
  };
  check_agrees(other, sizeof other / sizeof other[0]);
  static const struct cb_dev_rule all[] = {{'a', CB_DEV_ANY, CB_DEV_ANY, CB_DEV_RWM}};
  check_agrees(all, 1);
  check_agrees(NULL, 0);
}

/* ---- the kernel --------------------------------------------------------------------- */

static int sys_bpf(int cmd, union bpf_attr *a) {
  return (int)syscall(SYS_bpf, cmd, a, sizeof *a);
}

static int load_default(void) {
  size_t len;
  struct bpf_insn *p = cb_devfilter_build(DEFAULT, N_DEFAULT, &len);
  static char log[65536];
  cb_error_t err = NULL;
  int fd = cb_devfilter_load(p, len, log, sizeof log, &err);
  free(p);
  if (fd < 0) {
    int e = err->errno_;
    print_message("# %s\n%s\n", cb_error_text(err), log);
    cb_error_release(&err);
    errno = e;
  }
  return fd;
}

static void test_kernel_accepts(void **state) {
  int fd = load_default();
  if (fd < 0 && (errno == EPERM || errno == EACCES)) {
    print_message("# skipped: loading a BPF program needs CAP_BPF and CAP_SYS_ADMIN\n");
    skip();
  }
  assert_true(fd >= 0);
  /* The kernel marks it close-on-exec. */
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  /* BPF_PROG_TEST_RUN: when a kernel can run the type on demand, its answers must be
   * the rules'. */
  struct bpf_cgroup_dev_ctx ctx = {(CB_DEV_READ << 16) | BPF_DEVCG_DEV_BLOCK, 8, 0};
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.test.prog_fd = (uint32_t)fd;
  a.test.ctx_in = (uint64_t)(uintptr_t)&ctx;
  a.test.ctx_size_in = sizeof ctx;
  if (sys_bpf(BPF_PROG_TEST_RUN, &a) < 0) {
    print_message("# BPF_PROG_TEST_RUN on CGROUP_DEVICE: %s (expected: no test_run handler)\n",
                  strerror(errno));
  } else {
    assert_int_equal(a.test.retval, 0);
    ctx.major = 1, ctx.minor = 3;
    assert_int_equal(sys_bpf(BPF_PROG_TEST_RUN, &a), 0);
    assert_int_equal(a.test.retval, 1);
  }
  close(fd);
}

/* A scratch cgroup in the v2 tree: /sys/fs/cgroup itself on v2, /sys/fs/cgroup/unified
 * on a hybrid host. NULL when there is none. */
static char *scratch_cgroup(void) {
  static const char *const roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
  for (size_t i = 0; i < 2; i++) {
    struct statfs sf;
    if (statfs(roots[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
      char *d = xasprintf("%s/crowbar-unit-devfilter-%d", roots[i], (int)getpid());
      if (mkdir(d, 0755) == 0)
        return d;
      free(d);
    }
  }
  return NULL;
}

/* A device number the host does not have (so an allowed open fails with ENXIO or
 * ENODEV, never opening anything), or one of the harmless memory devices; not 0:0. */
static bool safe_to_open(char type, uint32_t major, uint32_t minor) {
  /* The kernel checks no rule on a node whose number is 0:0 (which no driver has). */
  if (major == 0 && minor == 0)
    return false;
  if (type == 'c' && major == 1 &&
      (minor == 3 || minor == 5 || minor == 7 || minor == 8 || minor == 9))
    return true;
  char p[64];
  snprintf(p, sizeof p, "/sys/dev/%s/%u:%u", type == 'b' ? "block" : "char", major, minor);
  return access(p, F_OK) != 0;
}

/* In a child inside the cgroup, in its own mount namespace with a tmpfs that allows
 * device nodes: mknod, then open for reading and for writing, each sample number.
 * Writes one byte per case to `out`: 'y' allowed, 'n' refused (EPERM), '-' not tried. */
static void probe_child(const char *cg, int out) {
  char pid[24];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  char *procs = xasprintf("%s/cgroup.procs", cg);
  int fd = open(procs, O_WRONLY);
  if (fd < 0 || write(fd, pid, strlen(pid)) < 0)
    _exit(2);
  close(fd);
  char dir[] = "/tmp/crowbar-devfilter-XXXXXX";
  if (!mkdtemp(dir) || unshare(CLONE_NEWNS) < 0 ||
      mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
      mount("tmpfs", dir, "tmpfs", 0, "size=64k") < 0)
    _exit(3);
  for (char t = 0; t < 2; t++)
    for (size_t a = 0; a < sizeof majors / sizeof majors[0]; a++)
      for (size_t b = 0; b < sizeof minors / sizeof minors[0]; b++) {
        char type = t ? 'c' : 'b';
        char node[96], res[3] = {'-', '-', '-'};
        snprintf(node, sizeof node, "%s/n", dir);
        unlink(node);
        dev_t dev = makedev(majors[a], minors[b]);
        res[0] = mknod(node, (t ? S_IFCHR : S_IFBLK) | 0600, dev) == 0 ? 'y'
                 : errno == EPERM                                      ? 'n'
                                                                       : '?';
        if (res[0] != 'y' || !safe_to_open(type, majors[a], minors[b])) {
          /* No node, or a device the host has: opening is not tried. */
          if (write(out, res, 3) != 3)
            _exit(4);
          continue;
        }
        static const int modes[] = {O_RDONLY, O_WRONLY};
        for (int m = 0; m < 2; m++) {
          int o = open(node, modes[m] | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
          res[1 + m] = o >= 0 || errno != EPERM ? 'y' : 'n';
          if (o >= 0)
            close(o);
        }
        if (write(out, res, 3) != 3)
          _exit(4);
      }
  umount2(dir, MNT_DETACH);
  rmdir(dir);
  _exit(0);
}

static void test_kernel_enforces(void **state) {
  if (geteuid() != 0) {
    print_message("# skipped: needs root\n");
    skip();
  }
  char *cg = scratch_cgroup();
  if (!cg) {
    print_message("# skipped: no cgroup v2 tree to make a scratch cgroup in\n");
    skip();
  }
  cb_error_t err = NULL;
  int r = cb_devfilter_attach(cg, DEFAULT, N_DEFAULT, &err);
  if (r < 0) {
    print_message("# %s\n", cb_error_text(err));
    cb_error_release(&err);
    rmdir(cg);
    free(cg);
    fail_msg("attach the device filter to a scratch cgroup");
  }
  int pfd[2];
  assert_int_equal(pipe(pfd), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(pfd[0]);
    probe_child(cg, pfd[1]);
  }
  close(pfd[1]);
  size_t ncases = 2 * (sizeof majors / sizeof majors[0]) * (sizeof minors / sizeof minors[0]);
  char *res = xcalloc(ncases, 3);
  size_t got = 0;
  for (ssize_t n; got < ncases * 3 && (n = read(pfd[0], res + got, ncases * 3 - got)) > 0;)
    got += (size_t)n;
  close(pfd[0]);
  int status;
  waitpid(pid, &status, 0);
  rmdir(cg);
  free(cg);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_int_equal(got, ncases * 3);
  size_t k = 0, opened = 0;
  for (char t = 0; t < 2; t++)
    for (size_t a = 0; a < sizeof majors / sizeof majors[0]; a++)
      for (size_t b = 0; b < sizeof minors / sizeof minors[0]; b++, k++) {
        char type = t ? 'c' : 'b';
        const char *c = res + 3 * k;
        bool mk = cb_dev_rules_allow(DEFAULT, N_DEFAULT, type, majors[a], minors[b], CB_DEV_MKNOD);
        if (c[0] != (mk ? 'y' : 'n'))
          fail_msg("mknod %c %u:%u: kernel %c, rules %d", type, majors[a], minors[b], c[0], mk);
        for (int m = 0; m < 2; m++) {
          if (c[1 + m] == '-')
            continue;
          opened++;
          bool ok = cb_dev_rules_allow(DEFAULT, N_DEFAULT, type, majors[a], minors[b],
                                       m ? CB_DEV_WRITE : CB_DEV_READ);
          if (c[1 + m] != (ok ? 'y' : 'n'))
            fail_msg("open %c %u:%u for %s: kernel %c, rules %d", type, majors[a], minors[b],
                     m ? "writing" : "reading", c[1 + m], ok);
        }
      }
  /* Most sample numbers are free on any host: the open tests did run. */
  assert_true(opened > ncases);
  free(res);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_v1_text),        cmocka_unit_test(test_reference),
      cmocka_unit_test(test_program_shape),  cmocka_unit_test(test_program_decisions),
      cmocka_unit_test(test_kernel_accepts), cmocka_unit_test(test_kernel_enforces),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
