/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Seccomp profiles in Docker's JSON format, read as Docker's daemon reads them
 * (profiles/seccomp: field names matched without regard to case, "name" or "names",
 * "architectures" or "archMap", includes/excludes), into the structure the compiler
 * (seccomp.c) and the generated default profile share. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crowbar/cleanup.h"
#include "crowbar/json.h"
#include "crowbar/security.h"
#include "crowbar/util.h"
#include "seccomp-internal.h"

static const struct {
  const char *name;
  uint32_t ret;
} sc_actions[] = {
    {"SCMP_ACT_KILL", SECCOMP_RET_KILL_THREAD},
    {"SCMP_ACT_KILL_THREAD", SECCOMP_RET_KILL_THREAD},
    {"SCMP_ACT_KILL_PROCESS", SECCOMP_RET_KILL_PROCESS},
    {"SCMP_ACT_TRAP", SECCOMP_RET_TRAP},
    {"SCMP_ACT_ERRNO", SECCOMP_RET_ERRNO},
    {"SCMP_ACT_TRACE", SECCOMP_RET_TRACE},
    {"SCMP_ACT_ALLOW", SECCOMP_RET_ALLOW},
    {"SCMP_ACT_LOG", SECCOMP_RET_LOG},
};

static const char *const sc_ops[] = {
    [SC_OP_NE] = "SCMP_CMP_NE",
    [SC_OP_LT] = "SCMP_CMP_LT",
    [SC_OP_LE] = "SCMP_CMP_LE",
    [SC_OP_EQ] = "SCMP_CMP_EQ",
    [SC_OP_GE] = "SCMP_CMP_GE",
    [SC_OP_GT] = "SCMP_CMP_GT",
    [SC_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

/* Every architecture runc knows (specconv's ConvertStringToArch). */
static const char *const sc_arch_names[] = {
    "SCMP_ARCH_X86",     "SCMP_ARCH_X86_64",   "SCMP_ARCH_X32",         "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL",  "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",  "SCMP_ARCH_S390",        "SCMP_ARCH_S390X",
    "SCMP_ARCH_RISCV64",
};

static unsigned arch_abi(const char *name) {
  return !strcmp(name, "SCMP_ARCH_X86_64") ? SC_ABI_X86_64
         : !strcmp(name, "SCMP_ARCH_X86")  ? SC_ABI_X86
         : !strcmp(name, "SCMP_ARCH_X32")  ? SC_ABI_X32
                                           : 0;
}

/* A field of a JSON object as Go's encoding/json finds it: the exact key, else one equal
 * without regard to case. null is absent. */
static json_object *field(json_object *o, const char *key) {
  json_object *v = NULL;
  if (json_object_object_get_ex(o, key, &v))
    return v;
  json_object_object_foreach(o, k, val) {
    if (!strcasecmp(k, key))
      return val;
  }
  return NULL;
}

static int bad_type(const char *what, const char *want, cb_error_t *err) {
  return cb_error_make(err, 0, "decoding seccomp profile failed: %s: expected %s", what, want);
}

static int get_string(json_object *o, const char *key, const char **out, cb_error_t *err) {
  json_object *v = field(o, key);
  *out = NULL;
  if (!v)
    return 0;
  if (!json_object_is_type(v, json_type_string))
    return bad_type(key, "a string", err);
  *out = json_object_get_string(v);
  return 0;
}

static int get_uint(json_object *o, const char *key, bool *set, uint64_t *out, cb_error_t *err) {
  json_object *v = field(o, key);
  if (set)
    *set = false;
  if (!v)
    return 0;
  if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
    return bad_type(key, "an unsigned integer", err);
  *out = json_object_get_uint64(v);
  if (set)
    *set = true;
  return 0;
}

/* An array of strings (NULL-terminated, malloc'd; NULL when absent). */
static int get_strv(json_object *o, const char *key, char ***out, cb_error_t *err) {
  json_object *v = field(o, key);
  *out = NULL;
  if (!v)
    return 0;
  if (!json_object_is_type(v, json_type_array))
    return bad_type(key, "an array of strings", err);
  size_t n = json_object_array_length(v);
  char **r = xcalloc(n + 1, sizeof *r);
  for (size_t i = 0; i < n; i++) {
    json_object *s = json_object_array_get_idx(v, i);
    if (!json_object_is_type(s, json_type_string)) {
      cb_strv_free(r);
      return bad_type(key, "an array of strings", err);
    }
    r[i] = xstrdup(json_object_get_string(s));
  }
  *out = r;
  return 0;
}

static bool strv_has(char *const *v, const char *s) {
  for (; v && *v; v++)
    if (!strcmp(*v, s))
      return true;
  return false;
}

static int parse_action(const char *name, bool errno_set, uint64_t errno_ret, uint32_t *out,
                        cb_error_t *err) {
  if (name && !strcmp(name, "SCMP_ACT_NOTIFY"))
    return cb_error_make(err, 0,
                         "seccomp profile: SCMP_ACT_NOTIFY needs a notification agent, which "
                         "crowbar does not run");
  for (size_t i = 0; name && i < sizeof sc_actions / sizeof sc_actions[0]; i++) {
    if (strcmp(name, sc_actions[i].name))
      continue;
    *out = sc_actions[i].ret;
    /* runc: ERRNO and TRACE carry errnoRet, EPERM when none is given. */
    if (*out == SECCOMP_RET_ERRNO || *out == SECCOMP_RET_TRACE)
      *out |= (errno_set ? errno_ret : EPERM) & SECCOMP_RET_DATA;
    return 0;
  }
  return cb_error_make(err, 0, "seccomp profile: invalid action \"%s\"", name ? name : "");
}

/* Docker's Filter: {"caps": [...], "arches": [...], "minKernel": "X.Y"}. */
static int parse_cond(json_object *o, const char *what, struct sc_cond *c, cb_error_t *err) {
  memset(c, 0, sizeof *c);
  c->arch = -1;
  if (!o)
    return 0;
  if (!json_object_is_type(o, json_type_object))
    return bad_type(what, "an object", err);
  cleanup_strv char **caps = NULL;
  cleanup_strv char **arches = NULL;
  const char *mk;
  if (get_strv(o, "caps", &caps, err) < 0 || get_strv(o, "arches", &arches, err) < 0 ||
      get_string(o, "minKernel", &mk, err) < 0)
    return -1;
  for (char **p = caps; p && *p; p++) {
    /* Docker compares the names with its bounding list: "CAP_SYS_ADMIN", as written. */
    bool upper = !strncmp(*p, "CAP_", 4);
    for (const char *q = *p; upper && *q; q++)
      upper = isupper((unsigned char)*q) || isdigit((unsigned char)*q) || *q == '_';
    int v = upper ? cb_cap_value(*p) : -1;
    if (v >= 0 && v < 64)
      c->caps |= UINT64_C(1) << v;
    else
      c->unknown_cap = 1;
  }
  if (arches)
    c->arch = strv_has(arches, "amd64") ? 1 : 0;
  if (mk && *mk) {
    unsigned k, m;
    char end;
    if (sscanf(mk, "%u.%u%c", &k, &m, &end) != 2 || (k == 0 && m == 0) || k > 255 || m > 255)
      return cb_error_make(err, 0,
                           "seccomp profile: invalid kernel version: \"%s\", expected "
                           "\"<kernel>.<major>\"",
                           mk);
    c->kernel = (int)k;
    c->major = (int)m;
  }
  return 0;
}

static void rule_free(struct sc_rule *r) {
  for (size_t i = 0; i < r->nnames; i++)
    free((char *)r->names[i]);
  free((void *)r->names);
  free((void *)r->args);
}

void cb_seccomp_profile_free(struct cb_seccomp_profile *p) {
  if (!p || !p->owned)
    return;
  for (size_t i = 0; i < p->nrules; i++)
    rule_free((struct sc_rule *)&p->rules[i]);
  free((void *)p->rules);
  free(p);
}

static int parse_rule(json_object *o, size_t idx, struct sc_rule *r, cb_error_t *err) {
  memset(r, 0, sizeof *r);
  char what[32];
  snprintf(what, sizeof what, "syscalls[%zu]", idx);
  if (!json_object_is_type(o, json_type_object))
    return bad_type(what, "an object", err);
  const char *name, *action;
  cleanup_strv char **names = NULL;
  if (get_string(o, "name", &name, err) < 0 || get_strv(o, "names", &names, err) < 0 ||
      get_string(o, "action", &action, err) < 0)
    return -1;
  if (name && *name && names && *names)
    return cb_error_make(err, 0,
                         "seccomp profile: 'name' and 'names' were specified in %s, use "
                         "either 'name' or 'names'",
                         what);
  if (name && *name)
    cb_strv_append(&names, name);
  bool errno_set;
  uint64_t errno_ret = 0;
  if (get_uint(o, "errnoRet", &errno_set, &errno_ret, err) < 0 ||
      parse_action(action, errno_set, errno_ret, &r->action, err) < 0)
    return -1;
  if (parse_cond(field(o, "includes"), "includes", &r->inc, err) < 0 ||
      parse_cond(field(o, "excludes"), "excludes", &r->exc, err) < 0)
    return -1;
  json_object *args = field(o, "args");
  if (args && !json_object_is_type(args, json_type_array))
    return bad_type("args", "an array", err);
  size_t na = args ? json_object_array_length(args) : 0;
  struct sc_arg *a = xcalloc(na + 1, sizeof *a);
  r->args = a;
  for (size_t i = 0; i < na; i++) {
    json_object *ao = json_object_array_get_idx(args, i);
    if (!ao)
      continue; /* null: Go's nil pointer, which runc refuses later; skip it */
    if (!json_object_is_type(ao, json_type_object))
      return bad_type("args", "an array of objects", err);
    uint64_t index = 0;
    const char *op;
    if (get_uint(ao, "index", NULL, &index, err) < 0 ||
        get_uint(ao, "value", NULL, &a[r->nargs].value, err) < 0 ||
        get_uint(ao, "valueTwo", NULL, &a[r->nargs].value_two, err) < 0 ||
        get_string(ao, "op", &op, err) < 0)
      return -1;
    if (index >= 6)
      return cb_error_make(err, 0, "seccomp profile: invalid argument index %llu in %s",
                           (unsigned long long)index, what);
    a[r->nargs].index = (unsigned)index;
    size_t k = 0;
    while (k < sizeof sc_ops / sizeof sc_ops[0] && (!op || strcmp(op, sc_ops[k])))
      k++;
    if (k == sizeof sc_ops / sizeof sc_ops[0])
      return cb_error_make(err, 0, "seccomp profile: invalid operator \"%s\" in %s", op ? op : "",
                           what);
    a[r->nargs].op = (unsigned)k;
    r->nargs++;
  }
  r->nnames = cb_strv_len(names);
  r->names = (const char *const *)steal_pointer(&names);
  return 0;
}

int cb_seccomp_profile_parse(const char *json, struct cb_seccomp_profile **out, cb_error_t *err) {
  *out = NULL;
  cleanup_json json_object *root = NULL;
  if (cb_json_parse(json, &root, err) < 0)
    return cb_error_wrap(err, "decoding seccomp profile failed");
  if (!json_object_is_type(root, json_type_object))
    return bad_type("the profile", "an object", err);
  const char *def;
  bool def_errno_set;
  uint64_t def_errno = 0;
  if (get_string(root, "defaultAction", &def, err) < 0 ||
      get_uint(root, "defaultErrnoRet", &def_errno_set, &def_errno, err) < 0)
    return -1;
  json_object *calls = field(root, "syscalls");
  if (calls && !json_object_is_type(calls, json_type_array))
    return bad_type("syscalls", "an array", err);
  size_t nc = calls ? json_object_array_length(calls) : 0;
  /* No default action and no rules: Docker runs the container without a filter. */
  if ((!def || !*def) && nc == 0)
    return 0;
  cleanup_strv char **arches = NULL;
  struct cb_seccomp_profile *p = xcalloc(1, sizeof *p);
  p->owned = true;
  p->abis = SC_ABI_X86_64;
  struct sc_rule *rules = xcalloc(nc + 1, sizeof *rules);
  p->rules = rules;
  int ret = -1;
  if (parse_action(def, def_errno_set, def_errno, &p->default_action, err) < 0)
    goto out;
  if (get_strv(root, "architectures", &arches, err) < 0)
    goto out;
  json_object *map = field(root, "archMap");
  if (map && !json_object_is_type(map, json_type_array)) {
    bad_type("archMap", "an array", err);
    goto out;
  }
  if (arches && *arches && map && json_object_array_length(map)) {
    cb_error_make(err, 0,
                  "seccomp profile: 'architectures' and 'archMap' were specified, use either "
                  "'architectures' or 'archMap'");
    goto out;
  }
  for (size_t i = 0; map && i < json_object_array_length(map); i++) {
    json_object *m = json_object_array_get_idx(map, i);
    const char *arch;
    cleanup_strv char **subs = NULL;
    if (!m || !json_object_is_type(m, json_type_object)) {
      bad_type("archMap", "an array of objects", err);
      goto out;
    }
    if (get_string(m, "architecture", &arch, err) < 0 ||
        get_strv(m, "subArchitectures", &subs, err) < 0)
      goto out;
    /* Docker takes the entry of the native architecture, with its sub-architectures. */
    if (arch && !strcmp(arch, "SCMP_ARCH_X86_64")) {
      cb_strv_append(&arches, arch);
      for (char **s = subs; s && *s; s++)
        cb_strv_append(&arches, *s);
    }
  }
  for (char **a = arches; a && *a; a++) {
    size_t k = 0;
    while (k < sizeof sc_arch_names / sizeof sc_arch_names[0] && strcmp(*a, sc_arch_names[k]))
      k++;
    if (k == sizeof sc_arch_names / sizeof sc_arch_names[0]) {
      cb_error_make(err, 0, "seccomp profile: \"%s\" is not a valid architecture", *a);
      goto out;
    }
    p->listed |= arch_abi(*a);
  }
  p->abis |= p->listed;
  for (size_t i = 0; i < nc; i++) {
    if (parse_rule(json_object_array_get_idx(calls, i), i, &rules[i], err) < 0) {
      rule_free(&rules[i]);
      goto out;
    }
    p->nrules++;
  }
  *out = p;
  p = NULL;
  ret = 0;
out:
  cb_seccomp_profile_free(p);
  return ret;
}
