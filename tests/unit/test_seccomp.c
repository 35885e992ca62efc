/* SPDX-License-Identifier: GPL-2.0-or-later */
/* seccomp.c: Docker's profile format, and the BPF programs compiled from it.
 *
 * The reference is libseccomp, which Docker's runc uses: each profile below is also
 * turned into a libseccomp filter the way runc does it (rules of the default action left
 * out, several conditions on one argument made separate rules, unknown names skipped),
 * and both programs are run by an interpreter (tests/helpers/bpfinterp.h) for every call
 * number of the three x86 ABIs and a grid of argument values: the verdicts must be the
 * same, except past the newest call the profile names, where runc's stub (and ours)
 * answers ENOSYS. tests/integration/seccomp.bats compares the default profile with the
 * filter of a container of Docker's own. As root, the kernel must accept the programs and
 * enforce them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <linux/audit.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../helpers/bpfinterp.h"
#include "crowbar/json.h"
#include "crowbar/seccomp.h"
#include "crowbar/security.h"
#include "crowbar/util.h"

/* ---- the reference: runc's conversion into libseccomp ------------------------------ */

static uint32_t scmp_action(const char *name, json_object *errno_ret) {
  int e = errno_ret ? json_object_get_int(errno_ret) : EPERM;
  if (!strcmp(name, "SCMP_ACT_ALLOW"))
    return SCMP_ACT_ALLOW;
  if (!strcmp(name, "SCMP_ACT_ERRNO"))
    return SCMP_ACT_ERRNO(e);
  if (!strcmp(name, "SCMP_ACT_TRACE"))
    return SCMP_ACT_TRACE(e);
  if (!strcmp(name, "SCMP_ACT_TRAP"))
    return SCMP_ACT_TRAP;
  if (!strcmp(name, "SCMP_ACT_LOG"))
    return SCMP_ACT_LOG;
  if (!strcmp(name, "SCMP_ACT_KILL_PROCESS"))
    return SCMP_ACT_KILL_PROCESS;
  return SCMP_ACT_KILL_THREAD;
}

static enum scmp_compare scmp_op(const char *op) {
  static const char *const names[] = {"",
                                      "SCMP_CMP_NE",
                                      "SCMP_CMP_LT",
                                      "SCMP_CMP_LE",
                                      "SCMP_CMP_EQ",
                                      "SCMP_CMP_GE",
                                      "SCMP_CMP_GT",
                                      "SCMP_CMP_MASKED_EQ"};
  for (int i = 1; i < 8; i++)
    if (!strcmp(op, names[i]))
      return (enum scmp_compare)i;
  fail_msg("unknown op %s", op);
  return _SCMP_CMP_MIN;
}

/* A libseccomp program for a profile without includes/excludes, as runc builds it (with
 * no stub). */
static struct sock_filter *reference(const char *profile, size_t *len) {
  json_object *j = NULL;
  cb_error_t err = NULL;
  assert_int_equal(cb_json_parse(profile, &j, &err), 0);
  uint32_t def =
      scmp_action(cb_json_get_str(j, "defaultAction", ""), cb_json_get(j, "defaultErrnoRet"));
  scmp_filter_ctx ctx = seccomp_init(def);
  assert_non_null(ctx);
  char **arches = cb_json_get_strv(j, "architectures");
  for (char **a = arches; a && *a; a++) {
    uint32_t token = !strcmp(*a, "SCMP_ARCH_X86")   ? SCMP_ARCH_X86
                     : !strcmp(*a, "SCMP_ARCH_X32") ? SCMP_ARCH_X32
                                                    : SCMP_ARCH_X86_64;
    int r = seccomp_arch_add(ctx, token);
    assert_true(r == 0 || r == -EEXIST);
  }
  cb_strv_free(arches);
  json_object *map = cb_json_get(j, "archMap");
  for (size_t i = 0; map && i < json_object_array_length(map); i++) {
    json_object *m = json_object_array_get_idx(map, i);
    if (strcmp(cb_json_get_str(m, "architecture", ""), "SCMP_ARCH_X86_64"))
      continue;
    char **subs = cb_json_get_strv(m, "subArchitectures");
    for (char **a = subs; a && *a; a++)
      assert_int_equal(
          seccomp_arch_add(ctx, !strcmp(*a, "SCMP_ARCH_X86") ? SCMP_ARCH_X86 : SCMP_ARCH_X32), 0);
    cb_strv_free(subs);
  }
  json_object *calls = cb_json_get(j, "syscalls");
  for (size_t i = 0; calls && i < json_object_array_length(calls); i++) {
    json_object *r = json_object_array_get_idx(calls, i);
    uint32_t act = scmp_action(cb_json_get_str(r, "action", ""), cb_json_get(r, "errnoRet"));
    if (act == def)
      continue;
    char **names = cb_json_get_strv(r, "names");
    json_object *args = cb_json_get(r, "args");
    size_t na = args ? json_object_array_length(args) : 0;
    struct scmp_arg_cmp cmp[6];
    int count[6] = {0};
    bool split = false;
    for (size_t k = 0; k < na; k++) {
      json_object *a = json_object_array_get_idx(args, k);
      unsigned idx = (unsigned)cb_json_get_int(a, "index", 0);
      cmp[k] = (struct scmp_arg_cmp){
          idx, scmp_op(cb_json_get_str(a, "op", "")),
          json_object_get_uint64(cb_json_get(a, "value")),
          cb_json_get(a, "valueTwo") ? json_object_get_uint64(cb_json_get(a, "valueTwo")) : 0};
      if (++count[idx] > 1)
        split = true;
    }
    for (char **n = names; n && *n; n++) {
      int nr = seccomp_syscall_resolve_name(*n);
      if (nr == __NR_SCMP_ERROR)
        continue;
      if (split) {
        for (size_t k = 0; k < na; k++)
          seccomp_rule_add_array(ctx, act, nr, 1, &cmp[k]);
      } else {
        seccomp_rule_add_array(ctx, act, nr, (unsigned)na, cmp);
      }
    }
    cb_strv_free(names);
  }
  json_object_put(j);
  char path[] = "/tmp/test_seccomp.XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  unlink(path);
  assert_int_equal(seccomp_export_bpf(ctx, fd), 0);
  seccomp_release(ctx);
  off_t size = lseek(fd, 0, SEEK_END);
  struct sock_filter *f = malloc((size_t)size);
  assert_int_equal(pread(fd, f, (size_t)size, 0), size);
  close(fd);
  *len = (size_t)size / sizeof *f;
  return f;
}

/* ---- comparing -------------------------------------------------------------------- */

static const uint64_t values[] = {0,
                                  1,
                                  2,
                                  3,
                                  5,
                                  6,
                                  7,
                                  8,
                                  0x20000,
                                  0x7e020000,
                                  0x10000000,
                                  0x80000000,
                                  0xffffffff,
                                  0x100000000ULL,
                                  0x100000007ULL,
                                  0xfffffffe00000000ULL,
                                  UINT64_MAX};

static struct cb_seccomp_filter compile(const char *profile, uint64_t caps, unsigned kernel,
                                        unsigned major) {
  struct cb_seccomp_profile *p = NULL;
  cb_error_t err = NULL;
  if (cb_seccomp_profile_parse(profile, &p, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  struct cb_seccomp_target t = {caps, kernel, major};
  struct cb_seccomp_filter f;
  if (cb_seccomp_compile(p, &t, &f, &err) < 0)
    fail_msg("%s", cb_error_text(err));
  cb_seccomp_profile_free(p);
  return f;
}

/* The highest number named per ABI: past it, the stub's ENOSYS (when enosys). */
struct abi {
  const char *name;
  uint32_t arch, base, count;
  uint32_t scmp;
};
static const struct abi abis[] = {
    {"x86_64", AUDIT_ARCH_X86_64, 0, 470, SCMP_ARCH_X86_64},
    {"i386", AUDIT_ARCH_I386, 0, 470, SCMP_ARCH_X86},
    {"x32", AUDIT_ARCH_X86_64, 0x40000000, 560, SCMP_ARCH_X32},
};

static uint32_t run(const struct cb_seccomp_filter *f, uint32_t arch, uint32_t nr,
                    const uint64_t args[6]) {
  struct seccomp_data d = {.nr = (int)nr, .arch = arch};
  memcpy(d.args, args, sizeof d.args);
  return bpf_interp(f->insns, f->len, &d);
}

/* Compare ours with libseccomp's for every number of each ABI of mask abimask; numbers
 * above max[abi] must give ENOSYS when enosys. Returns the number of comparisons. */
static size_t compare(const char *profile, unsigned abimask, const uint32_t max[3], bool enosys) {
  size_t rlen;
  struct sock_filter *ref = reference(profile, &rlen);
  struct cb_seccomp_filter f = compile(profile, 0, 6, 1);
  size_t n = 0;
  for (int a = 0; a < 3; a++) {
    if (!(abimask & (1u << a)))
      continue;
    for (uint32_t i = 0; i < abis[a].count; i++) {
      uint32_t nr = abis[a].base + i;
      for (size_t argi = 0; argi < 7; argi++) {
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
          uint64_t args[6] = {0};
          for (int k = 0; k < 6; k++)
            if (argi == 6 || (size_t)k == argi)
              args[k] = values[v];
          uint32_t ours = run(&f, abis[a].arch, nr, args);
          struct seccomp_data d = {.nr = (int)nr, .arch = abis[a].arch};
          memcpy(d.args, args, sizeof d.args);
          uint32_t want = bpf_interp(ref, rlen, &d);
          if (enosys && nr > max[a])
            want = SECCOMP_RET_ERRNO | ENOSYS;
          if (ours != want)
            fail_msg("%s %u args[%zu]=%#llx: ours %#x, libseccomp's %#x", abis[a].name, nr, argi,
                     (unsigned long long)values[v], ours, want);
          n++;
        }
      }
    }
  }
  /* Odd numbers and another architecture. */
  static const uint32_t odd[] = {0x3fffffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff};
  uint64_t zero[6] = {0};
  for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
    for (int a = 0; a < 2; a++) {
      struct seccomp_data d = {.nr = (int)odd[i], .arch = abis[a].arch};
      uint32_t want = bpf_interp(ref, rlen, &d);
      uint32_t ours = run(&f, abis[a].arch, odd[i], zero);
      bool past = (a == 0 && (odd[i] & 0x40000000) && (abimask & 4) && odd[i] > max[2]) ||
                  (a == 0 && !(odd[i] & 0x40000000) && odd[i] > max[0]) ||
                  (a == 1 && (abimask & 2) && odd[i] > max[1]);
      if (enosys && past)
        want = SECCOMP_RET_ERRNO | ENOSYS;
      if (ours != want)
        fail_msg("%s %#x: ours %#x, libseccomp's %#x", abis[a].name, odd[i], ours, want);
    }
  }
  assert_int_equal(run(&f, AUDIT_ARCH_AARCH64, 0, zero), SECCOMP_RET_KILL_THREAD);
  free(ref);
  cb_seccomp_filter_free(&f);
  return n;
}

static const uint32_t no_max[3] = {UINT32_MAX, UINT32_MAX, UINT32_MAX};

/* Every operator, 64-bit values, actions, several conditions; default allow. */
static const char *const P_OPS =
    "{\"defaultAction\": \"SCMP_ACT_ALLOW\","
    " \"architectures\": [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"],"
    " \"syscalls\": ["
    "  {\"names\": [\"mkdir\", \"mkdirat\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 13},"
    "  {\"names\": [\"kill\"], \"action\": \"SCMP_ACT_ERRNO\","
    "   \"args\": [{\"index\": 1, \"value\": 5, \"op\": \"SCMP_CMP_GT\"}]},"
    "  {\"names\": [\"tkill\"], \"action\": \"SCMP_ACT_TRAP\","
    "   \"args\": [{\"index\": 1, \"value\": 4294967296, \"op\": \"SCMP_CMP_GE\"}]},"
    "  {\"names\": [\"getpriority\"], \"action\": \"SCMP_ACT_LOG\","
    "   \"args\": [{\"index\": 0, \"value\": 7, \"op\": \"SCMP_CMP_LT\"}]},"
    "  {\"names\": [\"setpriority\"], \"action\": \"SCMP_ACT_KILL_PROCESS\","
    "   \"args\": [{\"index\": 2, \"value\": 4294967295, \"op\": \"SCMP_CMP_LE\"}]},"
    "  {\"names\": [\"dup3\"], \"action\": \"SCMP_ACT_TRACE\", \"errnoRet\": 42,"
    "   \"args\": [{\"index\": 2, \"value\": 0, \"op\": \"SCMP_CMP_NE\"}]},"
    "  {\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 22,"
    "   \"args\": [{\"index\": 0, \"value\": 2114060288, \"valueTwo\": 268435456,"
    "               \"op\": \"SCMP_CMP_MASKED_EQ\"}]},"
    "  {\"names\": [\"fchown\"], \"action\": \"SCMP_ACT_ERRNO\","
    "   \"args\": [{\"index\": 0, \"value\": 18446744069414584320, \"valueTwo\": 7,"
    "               \"op\": \"SCMP_CMP_MASKED_EQ\"}]},"
    "  {\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\","
    "   \"args\": [{\"index\": 0, \"value\": 0, \"op\": \"SCMP_CMP_EQ\"},"
    "              {\"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\"}]},"
    "  {\"names\": [\"lseek\"], \"action\": \"SCMP_ACT_ERRNO\","
    "   \"args\": [{\"index\": 0, \"value\": 3, \"op\": \"SCMP_CMP_EQ\"},"
    "              {\"index\": 2, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
    "  {\"names\": [\"fcntl\"], \"action\": \"SCMP_ACT_ERRNO\","
    "   \"args\": [{\"index\": 1, \"value\": 18446744073709551615, \"op\": \"SCMP_CMP_EQ\"}]},"
    "  {\"names\": [\"no_such_call\", \"getppid\"], \"action\": \"SCMP_ACT_ERRNO\"},"
    "  {\"names\": [\"socket\", \"semop\", \"socketpair\"], \"action\": \"SCMP_ACT_ERRNO\","
    "   \"errnoRet\": 97}"
    "]}";

static void test_operators(void **state) {
  assert_true(compare(P_OPS, 7, no_max, false) > 100000);
}

/* Conflicting rules on one call: libseccomp's order (see seccomp.c's cmp_entry). */
static const char *const P_CONFLICTS =
    "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
    "  {\"names\": [\"open\"], \"action\": \"SCMP_ACT_ALLOW\","
    "   \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
    "  {\"names\": [\"open\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 5,"
    "   \"args\": [{\"index\": 1, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]},"
    "  {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 6,"
    "   \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
    "  {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\","
    "   \"args\": [{\"index\": 1, \"value\": 2, \"op\": \"SCMP_CMP_EQ\"}]},"
    "  {\"names\": [\"write\"], \"action\": \"SCMP_ACT_ALLOW\","
    "   \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]},"
    "  {\"names\": [\"write\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 7},"
    "  {\"names\": [\"write\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 9},"
    "  {\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ALLOW\"},"
    "  {\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ERRNO\"}"
    "]}";

static void test_conflicts(void **state) {
  /* No architectures listed: runc makes no stub (and no i386 or x32 section). */
  compare(P_CONFLICTS, 1, no_max, false);
}

/* A default that denies, over the three ABIs: runc's stub past the newest call named. */
static const char *const P_ENOSYS =
    "{\"defaultAction\": \"SCMP_ACT_ERRNO\","
    " \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\","
    "                \"subArchitectures\": [\"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"]},"
    "               {\"architecture\": \"SCMP_ARCH_AARCH64\", \"subArchitectures\": []}],"
    " \"syscalls\": ["
    "  {\"names\": [\"read\", \"write\", \"exit_group\", \"pidfd_open\"], \"action\": "
    "\"SCMP_ACT_ALLOW\"},"
    "  {\"names\": [\"close_range\"], \"action\": \"SCMP_ACT_ERRNO\"},"
    "  {\"names\": [\"socketcall\"], \"action\": \"SCMP_ACT_ALLOW\"},"
    "  {\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 97}"
    "]}";

static void test_enosys_stub(void **state) {
  /* The newest named: close_range (436, with the default action: left out of the rules
   * but counted, as runc does) on every ABI. */
  const uint32_t max[3] = {436, 436, 0x40000000 + 436};
  compare(P_ENOSYS, 7, max, true);
}

/* ---- Docker's default profile ----------------------------------------------------- */

static uint64_t caps(char **add) {
  uint64_t c;
  cb_error_t err = NULL;
  assert_int_equal(cb_caps_bounding(add, NULL, &c, &err), 0);
  return c;
}

static uint32_t verdict(const struct cb_seccomp_filter *f, uint32_t arch, uint32_t nr,
                        uint64_t a0) {
  uint64_t args[6] = {a0};
  return run(f, arch, nr, args);
}

static void test_default_profile(void **state) {
  struct cb_seccomp_target t = {caps(NULL), 6, 1};
  struct cb_seccomp_filter f;
  cb_error_t err = NULL;
  assert_int_equal(cb_seccomp_compile(cb_seccomp_default_profile(), &t, &f, &err), 0);
  const uint32_t X64 = AUDIT_ARCH_X86_64, EPERM_ = SECCOMP_RET_ERRNO | EPERM;
  assert_int_equal(verdict(&f, X64, SYS_read, 0), SECCOMP_RET_ALLOW);
  assert_int_equal(verdict(&f, X64, SYS_keyctl, 0), EPERM_);
  assert_int_equal(verdict(&f, X64, SYS_bpf, 0), EPERM_);
  assert_int_equal(verdict(&f, X64, SYS_perf_event_open, 0), EPERM_);
  assert_int_equal(verdict(&f, X64, SYS_unshare, 0), EPERM_);
  assert_int_equal(verdict(&f, X64, SYS_mount, 0), EPERM_);
  assert_int_equal(verdict(&f, X64, SYS_clone, 0x11), SECCOMP_RET_ALLOW);
  assert_int_equal(verdict(&f, X64, SYS_clone, 0x10000000 | 0x11), EPERM_); /* NEWUSER */
  assert_int_equal(verdict(&f, X64, SYS_clone3, 0), SECCOMP_RET_ERRNO | ENOSYS);
  assert_int_equal(verdict(&f, X64, SYS_personality, 0xffffffff), SECCOMP_RET_ALLOW);
  assert_int_equal(verdict(&f, X64, SYS_personality, 6), EPERM_);
  assert_int_equal(verdict(&f, X64, SYS_ptrace, 0), SECCOMP_RET_ALLOW);      /* minKernel 4.8 */
  assert_int_equal(verdict(&f, X64, 452, 0), SECCOMP_RET_ERRNO | ENOSYS);    /* fchmodat2 */
  assert_int_equal(verdict(&f, AUDIT_ARCH_I386, 102, 0), SECCOMP_RET_ALLOW); /* socketcall */
  assert_int_equal(verdict(&f, AUDIT_ARCH_AARCH64, 0, 0), SECCOMP_RET_KILL_THREAD);
  cb_seccomp_filter_free(&f);

  /* CAP_SYS_ADMIN: the calls Docker adds for it, clone without the flags check, no clone3
   * ENOSYS. */
  char *admin[] = {"SYS_ADMIN", NULL};
  t.caps = caps(admin);
  assert_int_equal(cb_seccomp_compile(cb_seccomp_default_profile(), &t, &f, &err), 0);
  assert_int_equal(verdict(&f, X64, SYS_unshare, 0), SECCOMP_RET_ALLOW);
  assert_int_equal(verdict(&f, X64, SYS_mount, 0), SECCOMP_RET_ALLOW);
  assert_int_equal(verdict(&f, X64, SYS_clone, 0x10000000 | 0x11), SECCOMP_RET_ALLOW);
  assert_int_equal(verdict(&f, X64, SYS_clone3, 0), SECCOMP_RET_ALLOW);
  assert_int_equal(verdict(&f, X64, SYS_keyctl, 0), EPERM_);
  assert_int_equal(verdict(&f, X64, SYS_reboot, 0), EPERM_);
  cb_seccomp_filter_free(&f);

  /* A kernel older than 4.8: no ptrace. */
  t.caps = caps(NULL);
  t.kernel = 4;
  t.major = 7;
  assert_int_equal(cb_seccomp_compile(cb_seccomp_default_profile(), &t, &f, &err), 0);
  assert_int_equal(verdict(&f, X64, SYS_ptrace, 0), EPERM_);
  cb_seccomp_filter_free(&f);
}

/* includes/excludes of a profile file: capabilities (as Docker writes them), arches,
 * minKernel. */
static void test_conditions(void **state) {
  static const char *const prof =
      "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": ["
      " {\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\","
      "  \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\", \"CAP_NET_ADMIN\"]}},"
      " {\"names\": [\"write\"], \"action\": \"SCMP_ACT_ALLOW\","
      "  \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
      " {\"names\": [\"open\"], \"action\": \"SCMP_ACT_ALLOW\","
      "  \"includes\": {\"caps\": [\"cap_sys_admin\"]}},"
      " {\"names\": [\"close\"], \"action\": \"SCMP_ACT_ALLOW\","
      "  \"includes\": {\"arches\": [\"amd64\"], \"minKernel\": \"5.10\"}},"
      " {\"names\": [\"stat\"], \"action\": \"SCMP_ACT_ALLOW\","
      "  \"excludes\": {\"arches\": [\"arm64\"], \"minKernel\": \"5.10\"}},"
      " {\"names\": [\"fstat\"], \"action\": \"SCMP_ACT_ALLOW\","
      "  \"includes\": {\"arches\": [\"s390x\"]}}"
      "]}";
  const uint64_t admin = UINT64_C(1) << 21, net = UINT64_C(1) << 12;
  const uint32_t A = SECCOMP_RET_ALLOW, D = SECCOMP_RET_ERRNO | EPERM;
  struct {
    uint64_t caps;
    unsigned kernel, major;
    uint32_t read, write, open, close, stat, fstat;
  } cases[] = {
      {0, 6, 1, D, A, D, A, D, D},           {admin, 6, 1, D, D, D, A, D, D},
      {admin | net, 6, 1, A, D, D, A, D, D}, {0, 5, 9, D, A, D, D, A, D},
      {0, 5, 10, D, A, D, A, D, D},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct cb_seccomp_filter f = compile(prof, cases[i].caps, cases[i].kernel, cases[i].major);
    uint32_t X = AUDIT_ARCH_X86_64;
    assert_int_equal(verdict(&f, X, SYS_read, 0), cases[i].read);
    assert_int_equal(verdict(&f, X, SYS_write, 0), cases[i].write);
    assert_int_equal(verdict(&f, X, SYS_open, 0), cases[i].open);
    assert_int_equal(verdict(&f, X, SYS_close, 0), cases[i].close);
    assert_int_equal(verdict(&f, X, SYS_stat, 0), cases[i].stat);
    assert_int_equal(verdict(&f, X, SYS_fstat, 0), cases[i].fstat);
    cb_seccomp_filter_free(&f);
  }
}

/* ---- parsing ---------------------------------------------------------------------- */

static void parse_fails(const char *json, const char *want) {
  struct cb_seccomp_profile *p = NULL;
  cb_error_t err = NULL;
  if (cb_seccomp_profile_parse(json, &p, &err) == 0)
    fail_msg("parsed: %s", json);
  if (!strstr(cb_error_text(err), want))
    fail_msg("%s: \"%s\" has no \"%s\"", json, cb_error_text(err), want);
  cb_error_release(&err);
}

static void test_parse(void **state) {
  struct cb_seccomp_profile *p = (void *)1;
  cb_error_t err = NULL;
  /* Nothing at all: Docker runs such a container unconfined. */
  assert_int_equal(cb_seccomp_profile_parse("{}", &p, &err), 0);
  assert_null(p);
  assert_int_equal(
      cb_seccomp_profile_parse("{\"defaultAction\": \"\", \"syscalls\": []}", &p, &err), 0);
  assert_null(p);
  /* Go matches field names without regard to case; unknown fields are ignored. */
  assert_int_equal(cb_seccomp_profile_parse("{\"DefaultAction\": \"SCMP_ACT_ALLOW\", \"x\": 1,"
                                            " \"SYSCALLS\": [{\"Names\": [\"read\"],"
                                            " \"ACTION\": \"SCMP_ACT_ERRNO\"}]}",
                                            &p, &err),
                   0);
  assert_non_null(p);
  struct cb_seccomp_target t = {0, 6, 1};
  struct cb_seccomp_filter f;
  assert_int_equal(cb_seccomp_compile(p, &t, &f, &err), 0);
  assert_int_equal(verdict(&f, AUDIT_ARCH_X86_64, SYS_read, 0), SECCOMP_RET_ERRNO | EPERM);
  assert_int_equal(verdict(&f, AUDIT_ARCH_X86_64, SYS_write, 0), SECCOMP_RET_ALLOW);
  cb_seccomp_filter_free(&f);
  cb_seccomp_profile_free(p);

  parse_fails("[]", "expected an object");
  parse_fails("{\"defaultAction\": \"SCMP_ACT_ALOW\"}", "invalid action \"SCMP_ACT_ALOW\"");
  parse_fails("{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}", "SCMP_ACT_NOTIFY");
  parse_fails("{\"defaultAction\": 1}", "defaultAction: expected a string");
  parse_fails("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86\"],"
              " \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\"}]}",
              "'architectures' and 'archMap'");
  parse_fails("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_Z80\"]}",
              "\"SCMP_ARCH_Z80\" is not a valid architecture");
  parse_fails("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"name\": \"read\","
              " \"names\": [\"write\"], \"action\": \"SCMP_ACT_ERRNO\"}]}",
              "'name' and 'names'");
  parse_fails("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
              " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 6, \"value\": 1,"
              " \"op\": \"SCMP_CMP_EQ\"}]}]}",
              "invalid argument index 6");
  parse_fails("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
              " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": -1,"
              " \"op\": \"SCMP_CMP_EQ\"}]}]}",
              "value: expected an unsigned integer");
  parse_fails("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
              " \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"op\": \"EQ\"}]}]}",
              "invalid operator \"EQ\"");
  parse_fails("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"read\"],"
              " \"action\": \"SCMP_ACT_ERRNO\", \"includes\": {\"minKernel\": \"5\"}}]}",
              "invalid kernel version");
  parse_fails("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}",
              "syscalls: expected an array");
  parse_fails("{\"defaultAction\": ", "decoding seccomp profile failed");
}

/* A profile too big for one program is refused, not cut. */
static void test_too_big(void **state) {
  char *json = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&json, &len);
  fputs("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [", m);
  for (int i = 0; i < 400; i++)
    fprintf(m,
            "%s{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": ["
            "{\"index\": 0, \"value\": %d, \"op\": \"SCMP_CMP_EQ\"},"
            "{\"index\": 1, \"value\": %d, \"op\": \"SCMP_CMP_EQ\"},"
            "{\"index\": 2, \"value\": %d, \"op\": \"SCMP_CMP_EQ\"}]}",
            i ? "," : "", i, i, i);
  fputs("]}", m);
  fclose(m);
  struct cb_seccomp_profile *p = NULL;
  cb_error_t err = NULL;
  assert_int_equal(cb_seccomp_profile_parse(json, &p, &err), 0);
  struct cb_seccomp_target t = {0, 6, 1};
  struct cb_seccomp_filter f;
  assert_int_equal(cb_seccomp_compile(p, &t, &f, &err), -1);
  assert_non_null(strstr(cb_error_text(err), "more than the kernel's 4096"));
  cb_error_release(&err);
  cb_seccomp_profile_free(p);
  free(json);
}

/* ---- the kernel ------------------------------------------------------------------- */

/* In a child: load the default filter, then report what a few calls return. */
static void test_kernel(void **state) {
  if (geteuid() != 0)
    skip(); /* without no_new_privs, loading wants CAP_SYS_ADMIN */
  struct cb_seccomp_target t;
  cb_seccomp_target_host(caps(NULL), &t);
  struct cb_seccomp_filter f;
  cb_error_t err = NULL;
  assert_int_equal(cb_seccomp_compile(cb_seccomp_default_profile(), &t, &f, &err), 0);
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (cb_seccomp_load(&f, &err) < 0)
      _exit(10);
    int got[4];
    errno = 0;
    got[0] = syscall(SYS_keyctl, 0, 0, 0, 0, 0) < 0 ? errno : 0;
    got[1] = syscall(SYS_unshare, 0x10000000) < 0 ? errno : 0;
    got[2] = syscall(452, -100, "/", 0755, 0) < 0 ? errno : 0; /* fchmodat2 */
    got[3] = syscall(SYS_getppid) < 0 ? errno : 0;
    _exit(write(p[1], got, sizeof got) == sizeof got ? 0 : 11);
  }
  close(p[1]);
  int got[4] = {-1, -1, -1, -1}, status;
  assert_int_equal(read(p[0], got, sizeof got), sizeof got);
  close(p[0]);
  waitpid(pid, &status, 0);
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_int_equal(got[0], EPERM);
  assert_int_equal(got[1], EPERM);
  assert_int_equal(got[2], ENOSYS);
  assert_int_equal(got[3], 0);
  cb_seccomp_filter_free(&f);
}

/* ---- security options ------------------------------------------------------------- */

static void test_security_opts(void **state) {
  struct cb_security_opts o = {0};
  cb_error_t err = NULL;
  assert_int_equal(cb_security_opt_apply("seccomp=unconfined", &o, &err), 0);
  assert_true(o.unconfined);
  assert_int_equal(cb_security_opt_apply("seccomp:{\"a\":1}", &o, &err), 0);
  assert_false(o.unconfined);
  assert_string_equal(o.profile_json, "{\"a\":1}");
  assert_int_equal(cb_security_opt_apply("no-new-privileges", &o, &err), 0);
  assert_true(o.no_new_privs);
  assert_int_equal(cb_security_opt_apply("no-new-privileges=false", &o, &err), 0);
  assert_false(o.no_new_privs);
  assert_int_equal(cb_security_opt_apply("apparmor=unconfined", &o, &err), 0);
  assert_int_equal(cb_security_opt_apply("label=disable", &o, &err), 0);
  static const char *const bad[] = {"foo=bar", "foo", "no-new-privileges=maybe",
                                    "apparmor=docker-default", "label=type:x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(cb_security_opt_apply(bad[i], &o, &err), -1);
    assert_non_null(strstr(cb_error_text(err), "--security-opt"));
    cb_error_release(&err);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_operators),     cmocka_unit_test(test_conflicts),
      cmocka_unit_test(test_enosys_stub),   cmocka_unit_test(test_default_profile),
      cmocka_unit_test(test_conditions),    cmocka_unit_test(test_parse),
      cmocka_unit_test(test_too_big),       cmocka_unit_test(test_kernel),
      cmocka_unit_test(test_security_opts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
