/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The system calls a container may make: Docker's default seccomp profile (generated at
 * build time from the JSON Debian ships with Docker, libcommon/gen-seccomp.py), or a
 * profile of the same format given with --security-opt seccomp=FILE, or none
 * (seccomp=unconfined). A profile is compiled here into a classic BPF program, without
 * libseccomp, with the verdicts Docker's runc and libseccomp give: its rules decided
 * against the container's capability (bounding) set and the kernel's version, the x86_64,
 * i386 and x32 ABIs each filtered by their own numbers, EPERM by default and ENOSYS for
 * numbers past the newest call the profile names (runc's -ENOSYS stub), so that a newer
 * C library falls back from system calls the profile does not know. */
#ifndef CROWBAR_SECCOMP_H
#define CROWBAR_SECCOMP_H

#include <json-c/json.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stdint.h>

#include "crowbar/error.h"

struct cb_seccomp_profile;

/* A compiled filter; insns NULL means no filter (unconfined). */
struct cb_seccomp_filter {
  struct sock_filter *insns;
  unsigned short len;
};

/* What a profile's conditions are decided against. */
struct cb_seccomp_target {
  uint64_t caps;          /* the bounding set, bit N for capability N */
  unsigned kernel, major; /* the kernel's version, e.g. 6 and 18 */
};

/* Docker's default profile (static data: never freed). */
const struct cb_seccomp_profile *cb_seccomp_default_profile(void);
/* Parse a profile in Docker's JSON format, as Docker's daemon does (field names matched
 * without regard to case, unknown fields ignored). *out is NULL, with success, for a
 * profile with neither a default action nor rules: Docker runs those unconfined. */
int cb_seccomp_profile_parse(const char *json, struct cb_seccomp_profile **out, cb_error_t *err);
void cb_seccomp_profile_free(struct cb_seccomp_profile *p);

/* The target of this host: caps as given, the running kernel's version. */
void cb_seccomp_target_host(uint64_t caps, struct cb_seccomp_target *t);
/* Compile p for t. */
int cb_seccomp_compile(const struct cb_seccomp_profile *p, const struct cb_seccomp_target *t,
                       struct cb_seccomp_filter *out, cb_error_t *err);
/* Install f on the calling thread (nothing for an empty filter). Without no_new_privs the
 * kernel wants CAP_SYS_ADMIN: call it before dropping capabilities, as runc does. */
int cb_seccomp_load(const struct cb_seccomp_filter *f, cb_error_t *err);
void cb_seccomp_filter_free(struct cb_seccomp_filter *f);

/* A container's security options, from its record's HostConfig.SecurityOpt (as Docker's
 * daemon reads them: "seccomp=unconfined", "seccomp=<profile JSON>", "no-new-privileges",
 * ":" accepted for "="). */
struct cb_security_opts {
  bool unconfined;          /* seccomp=unconfined */
  const char *profile_json; /* seccomp=<JSON>, pointing into the record; NULL: default */
  bool no_new_privs;
};
/* Check one --security-opt value as Docker's daemon does (KEY=VALUE or KEY:VALUE with
 * KEY seccomp, no-new-privileges, apparmor=unconfined, label=disable; no-new-privileges
 * alone) and apply it to o. */
int cb_security_opt_apply(const char *opt, struct cb_security_opts *o, cb_error_t *err);
int cb_security_opts_read(json_object *record, struct cb_security_opts *o, cb_error_t *err);

/* The filter of a container, from its record: its security options and its capability
 * set (HostConfig.CapAdd, CapDrop). out->insns is NULL when it runs unconfined. */
int cb_seccomp_for_container(json_object *record, struct cb_seccomp_filter *out, cb_error_t *err);
/* The same, installed on the calling thread: what exec and trace -- CMD do so that what
 * they start inside a container is confined as its PID 1 is. Call it before dropping
 * CAP_SYS_ADMIN (or with no_new_privs set). */
int cb_seccomp_apply_container(json_object *record, cb_error_t *err);

#endif
