/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The devices a container may use: one rule table, enforced two ways.
 *
 * cgroup v1 takes the rules as text in the devices controller ("c 1:3 rwm" written to
 * devices.allow). cgroup v2 has no devices controller: the kernel asks a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the task's cgroup of the default
 * hierarchy, for every mknod and every open of a device node. This file generates that
 * program from the same rules, as raw instructions (no libbpf), loads it and attaches it
 * (after runc's devicefilter and crun's ebpf.c). */
#ifndef CROWBAR_DEVFILTER_H
#define CROWBAR_DEVFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crowbar/error.h"

struct bpf_insn;

/* Access bits, the values of the kernel's BPF_DEVCG_ACC_*. */
enum { CB_DEV_MKNOD = 1, CB_DEV_READ = 2, CB_DEV_WRITE = 4, CB_DEV_RWM = 7 };
#define CB_DEV_ANY (-1)

struct cb_dev_rule {
  char type;       /* 'a' any, 'b' block, 'c' character */
  int32_t major;   /* CB_DEV_ANY for * */
  int32_t minor;   /* CB_DEV_ANY for * */
  unsigned access; /* CB_DEV_* bits */
};

/* Docker's default rules: mknod of any device; use of null, zero, full, random,
 * urandom, tty, console, ptmx, pts/ and net/tun. Everything else is denied. */
extern const struct cb_dev_rule cb_dev_rules_default[];
extern const size_t cb_dev_rules_default_n;

/* The rule as the v1 devices.allow file takes it ("c 136:* rwm"). */
void cb_dev_rule_format(const struct cb_dev_rule *r, char *buf, size_t size);

/* Whether the rules allow an access: the reference the generated program must agree
 * with. type is 'b' or 'c'; access is CB_DEV_* bits. */
bool cb_dev_rules_allow(const struct cb_dev_rule *rules, size_t n, char type, uint32_t major,
                        uint32_t minor, unsigned access);

/* The CGROUP_DEVICE program for the rules: allow (return 1) iff one rule matches the
 * type, major and minor and holds every requested access bit; deny (0) otherwise.
 * Returns a malloc'ed array of *len instructions. */
struct bpf_insn *cb_devfilter_build(const struct cb_dev_rule *rules, size_t n, size_t *len);

/* Load a CGROUP_DEVICE program; returns its (close-on-exec) descriptor. When log is not
 * NULL, the verifier's log is written there. */
int cb_devfilter_load(const struct bpf_insn *insns, size_t len, char *log, size_t logsize,
                      cb_error_t *err);

/* Build, load and attach the rules' program to a cgroup v2 folder (BPF_CGROUP_DEVICE,
 * BPF_F_ALLOW_MULTI). The program's descriptor is closed before returning: the
 * attachment keeps the program alive as long as the cgroup. */
int cb_devfilter_attach(const char *cgroup_dir, const struct cb_dev_rule *rules, size_t n,
                        cb_error_t *err);

#endif
